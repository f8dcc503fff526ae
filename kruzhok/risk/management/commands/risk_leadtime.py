import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk.training import lead_time_replay, leaver_timelines


class Command(BaseCommand):
    help = (
        "How many days before leaving the engine alerts about a child: weekly replay of scoring and alert "
        "raising over the organisation's history, beside the simple absence rule, with the alert load."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: all)")
        parser.add_argument("--weeks", type=int, default=26)
        parser.add_argument(
            "--threshold", type=float, default=None, help="alert threshold (default: setting)"
        )
        parser.add_argument("--timelines", type=int, default=0, help="also print N leavers' weekly scores")
        parser.add_argument("--json", action="store_true", help="one JSON object per organisation")
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="replay up to YYYY-MM-DD (default: today)",
        )

    def handle(self, *args, **options):
        if not 1 <= options["weeks"] <= 104:
            raise CommandError("--weeks must be between 1 and 104")
        threshold = options["threshold"]
        if threshold is not None and not 0 < threshold < 1:
            raise CommandError("--threshold must be between 0 and 1")
        if not 0 <= options["timelines"] <= 200:
            raise CommandError("--timelines must be between 0 and 200")
        orgs = Organization.objects.all().order_by("pk")
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation {options['org']!r}")
        for org in orgs:
            with tenant_context(org.id):
                today = options["today"]
                result = lead_time_replay(org=org, weeks=options["weeks"], threshold=threshold, today=today)
                timelines = leaver_timelines(
                    org=org, count=options["timelines"], weeks=options["weeks"], today=today
                )
            if options["json"]:
                self.stdout.write(json.dumps({"org": org.slug, **result}, ensure_ascii=False))
            else:
                self._print(org.slug, result)
            for line in timelines:
                self.stdout.write(line)

    def _print(self, slug: str, r: dict) -> None:
        rule = r["baselines"]["absence_rule"]
        self.stdout.write(
            f"{slug}: {r['leavers']} left in {r['weeks']} weeks; model {r['model']}, threshold {r['threshold']}"
        )
        self.stdout.write(
            f"  {'':<34}{'flagged before leaving':>24}{'median lead, days (q1–q3)':>28}{'alerts/teacher/week':>21}"
        )
        for name, row in (("model", r), (f"baseline: {rule['rule']}", rule)):
            flagged = f"{row['flagged_before_leaving']} ({row['flagged_share']:.0%})"
            lead = (
                f"{row['lead_days_median']:.0f} ({row['lead_days_p25']:.0f}–{row['lead_days_p75']:.0f})"
                if row["lead_days_median"] is not None
                else "—"
            )
            self.stdout.write(f"  {name:<34}{flagged:>24}{lead:>28}{row['alerts_per_teacher_week']:>21}")
        self.stdout.write(
            f"  alerts: {r['alerts']}, of them to children who stayed: {r['alerts_to_stayers']}"
        )
        for reason, row in r["by_reason"].items():
            lead = (
                f", median {row['lead_days_median']:.0f} days ahead"
                if row["lead_days_median"] is not None
                else ""
            )
            self.stdout.write(f"  left for {reason}: {row['flagged']} of {row['leavers']} flagged{lead}")
