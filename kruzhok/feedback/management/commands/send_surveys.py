import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kruzhok.feedback.surveys import surveys_send_all


class Command(BaseCommand):
    help = (
        "Send today's parent-survey invitations (NPS + satisfaction); a second run the same day sends none."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="pretend today is this day (YYYY-MM-DD)")

    def handle(self, *args, date=None, **options):
        today = None
        if date:
            try:
                today = dt.date.fromisoformat(date)
            except ValueError as error:
                raise CommandError("--date must look like 2026-12-01") from error
        totals = surveys_send_all(today=today)
        self.stdout.write(f"organizations: {totals['organizations']}, surveys: {totals['surveys']}")
