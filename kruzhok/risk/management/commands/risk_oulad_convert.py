from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pandas.errors import EmptyDataError, ParserError

from kruzhok.risk.oulad import DERIVED_ACTIVITY, convert


class Command(BaseCommand):
    help = (
        "Convert OULAD (read in place, never copied) into the canonical backtest CSVs. VLE activity comes "
        f"from the third-party weekly aggregates in {DERIVED_ACTIVITY}/ (studentVle.csv is not in our copy): "
        "clicks and active days per 2-week window as `activity` events dated on the day the window closes "
        "(start + 7k); students with several enrolments cannot be attributed and get none "
        "(static_activity_known = 0). --no-derived-activity leaves them out, as the reference model does."
    )

    def add_arguments(self, parser):
        default_src = Path(settings.BASE_DIR).parent / "shared" / "data" / "oulad"
        parser.add_argument("--src", default=str(default_src))
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "eval" / "oulad"))
        parser.add_argument(
            "--no-derived-activity",
            action="store_true",
            help="leave out the third-party VLE click aggregates (assessments, registration and "
            "demographics only, as the reference LightGBM)",
        )

    def handle(self, *args, **options):
        src = Path(options["src"])
        derived = not options["no_derived_activity"]
        if derived and not (src / DERIVED_ACTIVITY).is_dir():
            raise CommandError(
                f"{src / DERIVED_ACTIVITY} not found; pass --no-derived-activity to go without it"
            )
        try:
            counts = convert(src, Path(options["out"]), derived_activity=derived)
        except (OSError, KeyError, EmptyDataError, ParserError) as error:
            raise CommandError(f"cannot read OULAD from {src}: {error}") from error
        self.stdout.write(
            f"wrote {options['out']}: {counts['enrollments']} enrollments, {counts['events']} events "
            f"({counts['activity_events']} activity)"
        )
