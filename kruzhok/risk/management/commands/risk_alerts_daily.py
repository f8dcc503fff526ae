import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kruzhok.risk.alerts import alerts_daily


class Command(BaseCommand):
    help = "Escalate alerts nobody acknowledged and settle how earlier alerts ended (daily task too)."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="YYYY-MM-DD (default: today in each organisation's time zone)")

    def handle(self, *args, **options):
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as error:
                raise CommandError("--today must be YYYY-MM-DD") from error
        result = alerts_daily(today=today)
        self.stdout.write(
            f"organisations {result['orgs']}: closed {result['closed']} of ended enrollments, "
            f"escalated {result['escalated']}, outcomes settled {result['settled']}"
        )
