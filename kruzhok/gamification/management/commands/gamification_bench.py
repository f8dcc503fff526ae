"""How much awarding XP adds to marking attendance (issue budget: 20 ms at the 95th percentile).

Marks real children of an existing organisation twice per sample (flip, then back), once with the
gamification handler unsubscribed and once with it live, and compares the latencies. Run it on a
throw-away database (`make bench` uses var/bench.sqlite3): it appends to the marks' history."""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark
from kruzhok.attendance.services import attendance_mark
from kruzhok.gamification import handlers
from kruzhok.lib import events
from kruzhok.lib.tenancy import tenant_context, unscoped
from kruzhok.school.models import LessonStatus

FLIP = {"present": "late", "late": "present", "absent": "excused", "excused": "absent"}
BUDGET_MS = 20.0


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Command(BaseCommand):
    help = "Compare marking attendance with and without gamification; fail when p95 grows by more than 20 ms."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: the one with most members)")
        parser.add_argument("--samples", type=int, default=200)

    def handle(self, *args, org=None, samples=200, **options):
        with unscoped():
            orgs = Organization.objects.all()
            if org:
                orgs = orgs.filter(slug=org)
            organization = orgs.annotate(n=Count("memberships")).order_by("-n", "pk").first()
            if organization is None:
                raise CommandError("no organisation to benchmark: run seed_demo first")
        with tenant_context(organization.pk):
            marks = list(
                AttendanceMark.objects.filter(organization=organization)
                .exclude(lesson__status=LessonStatus.CANCELLED)
                .select_related("lesson", "lesson__group", "lesson__organization", "student", "marked_by")
                .order_by("-lesson__starts_at")[:samples]
            )
            if not marks:
                raise CommandError(f"{organization.slug} has no attendance marks to re-mark")
            live = events._subscribers["attendance.marked"]
            results = {}
            for mode in ("off", "on", "off", "on"):
                if mode == "off":
                    live[:] = [h for h in live if h is not handlers.on_attendance_marked]
                else:
                    events.subscribe("attendance.marked", handlers.on_attendance_marked)
                timings = []
                for mark in marks:
                    for status in (FLIP[mark.status], mark.status):
                        started = time.perf_counter()
                        attendance_mark(
                            lesson=mark.lesson, student=mark.student, status=status, actor=mark.marked_by
                        )
                        timings.append((time.perf_counter() - started) * 1000)
                results.setdefault(mode, []).extend(timings)
            events.subscribe("attendance.marked", handlers.on_attendance_marked)
        off95, on95 = _p(results["off"], 0.95), _p(results["on"], 0.95)
        self.stdout.write(
            f"{organization.slug}: {len(results['on'])} marks per mode\n"
            f"  without gamification: p50 {statistics.median(results['off']):.1f} ms, p95 {off95:.1f} ms\n"
            f"  with gamification:    p50 {statistics.median(results['on']):.1f} ms, p95 {on95:.1f} ms\n"
            f"  added at p95: {on95 - off95:.1f} ms (budget {BUDGET_MS:.0f} ms)"
        )
        if on95 - off95 > BUDGET_MS:
            raise CommandError("gamification adds more than the 20 ms budget at p95")
