from django.core.management.base import BaseCommand

from kruzhok.dataquality.services import daily_run_all


class Command(BaseCommand):
    help = "Takes today's data-quality snapshot, reminds teachers of unmarked lessons, sends the digest."

    def handle(self, *args, **options):
        totals = daily_run_all()
        self.stdout.write(
            f"organisations: {totals['organizations']}, reminders: {totals['reminders']}, "
            f"digests: {totals['digests']}"
        )
