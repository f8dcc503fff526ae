import dataclasses
import datetime as dt
import random
import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from kruzhok.analytics.dashboards import COMPARE_MONTHS
from kruzhok.analytics.fairness import beta_prior, beta_prior_moments, compare
from kruzhok.analytics.selectors import add_months
from kruzhok.demo import behaviours as bh
from kruzhok.demo.planning import OrgPlan
from kruzhok.demo.season import Season
from kruzhok.demo.seeding import demo_spec


class Command(BaseCommand):
    help = (
        "Prints the teacher comparison (retention and attendance, shrunk as on /analytics/compare/) of the "
        "demo network as seed_demo would plan it, beside the same network without the strong teacher. "
        "Nothing is written to the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=600)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--top", type=int, default=5, help="teachers listed per table (5)")
        parser.add_argument(
            "--time",
            dest="timed",
            action="store_true",
            help="also time the prior's fit on these teachers (maximum likelihood, and the method of "
            "moments as the baseline)",
        )

    def handle(self, *args, students, seed, today, top, timed, **options):
        today = today or timezone.localdate()
        season = Season.for_today(today, settings.LESSON_HORIZON_DAYS)
        first = add_months(today.replace(day=1), -(COMPARE_MONTHS - 1))
        spec = demo_spec(students)
        for title, story in (("без сильного преподавателя", False), ("как в seed_demo", True)):
            plan = OrgPlan(
                dataclasses.replace(spec, story=story), season, random.Random(f"{seed}:{spec.slug}")
            )
            plan = plan.plan()
            bh.tell_story(plan)
            branches = sorted({g.branch for g in plan.groups})
            strong = bh.strong_teacher(plan.users, plan.groups, branches[bh.WEAK_BRANCH_INDEX])
            self.stdout.write(f"\n== {title}: {first} … {today}, сильный — {plan.users[strong].username}")
            for metric, counts in (
                ("retention", _retention(plan, first)),
                ("attendance", _attendance(plan, first)),
            ):
                rated, mean = compare(
                    [(str(t), plan.users[t].username, k, n) for t, (k, n) in counts.items()]
                )
                a, b = beta_prior([tuple(c) for c in counts.values()])
                self.stdout.write(f"{metric}: mean {mean:.3f}, prior strength α + β = {a + b:.1f}")
                if timed:
                    self.stdout.write("  " + _fit_times([tuple(c) for c in counts.values()]))
                for r in rated:
                    if r.rank <= top or r.key == str(strong):
                        mark = " *" if r.key == str(strong) else ""
                        small = " мало данных" if r.small else ""
                        self.stdout.write(
                            f"  {r.rank:3} {r.label:12} {r.successes:5}/{r.n:<5} raw {r.raw:.3f} "
                            f"shrunk {r.shrunk:.3f} [{r.low:.3f}, {r.high:.3f}]{small}{mark}"
                        )


def _fit_times(units: list[tuple[int, int]], repeats: int = 200) -> str:
    """Median and 95th percentile wall time of one fit, and its median CPU time (a busy machine stretches
    the wall time, not the CPU time), both methods in the same run."""
    out = []
    for name, fit in (("max likelihood", beta_prior), ("moments (baseline)", beta_prior_moments)):
        wall, cpu = [], []
        for _ in range(repeats):
            started, started_cpu = time.perf_counter(), time.thread_time()
            fit(units)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
        p95 = statistics.quantiles(wall, n=20)[-1]
        out.append(
            f"{name}: wall median {statistics.median(wall):.2f} ms, p95 {p95:.2f} ms, "
            f"CPU median {statistics.median(cpu):.2f} ms"
        )
    return f"fit of {len(units)} teachers — " + "; ".join(out)


def _retention(plan, first: dt.date) -> dict[int, list[int]]:
    """As analytics does: of the children open at some point in the window, those who did not leave in it."""
    today = plan.season.today
    counts: dict[int, list[int]] = {}
    for e in plan.enrollments:
        o = e.outcome
        if o.started_on <= today and (o.ended_on is None or o.ended_on >= first):
            row = counts.setdefault(plan.groups[e.group].teacher, [0, 0])
            row[0] += not (o.status == "dropped" and first <= o.ended_on <= today)
            row[1] += 1
    return counts


def _attendance(plan, first: dt.date) -> dict[int, list[int]]:
    today = plan.season.today
    counts: dict[int, list[int]] = {}
    for g in plan.groups:
        # Every past lesson, as seed_demo draws them (the draws run in order), counted from `first` on.
        past = [
            (i, x.day)
            for i, x in enumerate(g.lessons)
            if x.day < today and not x.cancel_reason and not x.unmarked
        ]
        row = counts.setdefault(g.teacher, [0, 0])
        for e in g.enrollments:
            for key, status, _comment in bh.draw_marks(e.timeline, e.outcome, past, plan.season):
                if g.lessons[key].day >= first:
                    row[0] += status in ("present", "late")
                    row[1] += 1
    return counts
