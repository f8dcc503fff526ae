from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from kruzhok.risk.oulad import convert


class Command(BaseCommand):
    help = "Convert OULAD (read in place, never copied) into the canonical backtest CSVs."

    def add_arguments(self, parser):
        default_src = Path(settings.BASE_DIR).parent / "shared" / "data" / "oulad"
        parser.add_argument("--src", default=str(default_src))
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "eval" / "oulad"))

    def handle(self, *args, **options):
        counts = convert(Path(options["src"]), Path(options["out"]))
        self.stdout.write(
            f"wrote {options['out']}: {counts['enrollments']} enrollments, {counts['events']} events"
        )
