import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kruzhok.messaging.services import weekly_digest_all


class Command(BaseCommand):
    help = "Queue the weekly digest per child for every organisation (safe to re-run: once per ISO week)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day the week ends (YYYY-MM-DD); default today")

    def handle(self, *args, date=None, **options):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError as error:
            raise CommandError("--date must be YYYY-MM-DD") from error
        totals = weekly_digest_all(today=today)
        self.stdout.write(f"organisations: {totals['organizations']}, messages queued: {totals['messages']}")
