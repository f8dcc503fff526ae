from django.core.management.base import BaseCommand

from kruzhok.billing.tasks import billing_renewals_task


class Command(BaseCommand):
    help = "Daily: publishes billing.renewal_due / billing.renewal_missed for every organisation."

    def handle(self, *args, **options):
        totals = billing_renewals_task()
        self.stdout.write(f"renewal due: {totals['due']}, missed: {totals['missed']}")
