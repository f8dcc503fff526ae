import json
import time

from django.core.management.base import BaseCommand, CommandError

from kruzhok.risk.backtest import Report, read_canonical, run_backtest

FIGURES = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "precision_at_10",
    "lead_time_days",
    "alerts_per_teacher_week",
)


class Command(BaseCommand):
    help = "Backtest the dropout model on canonical CSVs against a logistic regression and an absence rule."

    def add_arguments(self, parser):
        parser.add_argument("--enrollments", required=True)
        parser.add_argument("--events", required=True)
        parser.add_argument("--as-of-days", default="28,56")
        parser.add_argument("--split", choices=["temporal", "random"], default="temporal")
        parser.add_argument("--json", dest="json_out")

    def handle(self, *args, **options):
        try:
            days = [int(d) for d in options["as_of_days"].split(",") if d.strip()]
        except ValueError as error:
            raise CommandError("--as-of-days must be numbers separated by commas, e.g. 28,56") from error
        started = time.perf_counter()
        report = Report()
        try:
            data = read_canonical(options["enrollments"], options["events"], report)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        for problem in report.problems:
            self.stderr.write(problem)
        for kind, count in sorted(report.unknown_kinds.items()):
            self.stderr.write(f"unknown event kind {kind!r}: {count} rows ignored")
        results = run_backtest(data, as_of_days=days, split=options["split"])
        for entry in results:
            self.stdout.write(
                f"day {entry['as_of_day']}: train {entry['n_train']}, test {entry['n_test']}, "
                f"dropout rate {entry['dropout_rate_test']}"
            )
            rows = [("model", entry)] + list(entry["baselines"].items())
            self.stdout.write("  " + "".join(f"{name:>24}" for name in ("",) + FIGURES))
            for name, figures in rows:
                cells = "".join(f"{str(figures.get(key)):>24}" for key in FIGURES)
                self.stdout.write(f"  {name:>24}{cells}")
        if options["json_out"]:
            with open(options["json_out"], "w", encoding="utf-8") as handle:
                json.dump(results, handle, ensure_ascii=False, indent=2)
        self.stdout.write(f"done in {time.perf_counter() - started:.1f} s")
