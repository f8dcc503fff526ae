from django.core.management.base import BaseCommand, CommandError

from kruzhok.school.services.lessons import lessons_generate_all


class Command(BaseCommand):
    help = "Generate lessons from every group's weekly rule for the coming days (same work as the periodic task)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="horizon in days (default: settings.LESSON_HORIZON_DAYS)"
        )

    def handle(self, *args, days=None, **options):
        if days is not None and not 0 <= days <= 3660:
            raise CommandError("--days must be between 0 and 3660")
        totals = lessons_generate_all(horizon_days=days)
        self.stdout.write(
            f"organisations: {totals['organizations']}, created: {totals['created']}, "
            f"deleted: {totals['deleted']}, re-timed: {totals['updated']}, failed: {totals['failed']}"
        )
        if totals["failed"]:
            raise CommandError(f"{totals['failed']} organisation(s) failed; see the log")
