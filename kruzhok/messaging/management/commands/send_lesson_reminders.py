import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kruzhok.messaging.automatic import lesson_reminders_all


class Command(BaseCommand):
    help = "Remind families of lessons within each centre's reminder window (once per lesson and family)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="pretend it is this moment (ISO 8601, with an offset)")

    def handle(self, *args, at=None, **options):
        now = timezone.now()
        if at:
            try:
                now = dt.datetime.fromisoformat(at)
            except ValueError as error:
                raise CommandError("--at must look like 2026-12-01T16:00:00+03:00") from error
            if timezone.is_naive(now):
                raise CommandError("--at needs a time zone offset, e.g. +03:00")
        totals = lesson_reminders_all(now=now)
        self.stdout.write(f"organizations: {totals['organizations']}, messages: {totals['messages']}")
