from django.core.management.base import BaseCommand

from kruzhok.reports.services import schedules_run_all


class Command(BaseCommand):
    help = "Generates the scheduled monthly reports that are due and mails them (the daily beat task)."

    def handle(self, *args, **options):
        totals = schedules_run_all()
        self.stdout.write(f"organisations: {totals['organizations']}, emails sent: {totals['sent']}")
