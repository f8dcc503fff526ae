"""Builds the demo: the network «Демо-центр «Кружок»» and the small «Студия «Радуга»».

Seeding is the one documented exception to "only services write": it plans a whole school year in memory
and writes it with bulk inserts, because 30 000 children through the services would take hours. It keeps
every invariant the services enforce: a consent before any enrollment, no group over capacity at any
moment, lessons generated from the slots (unique per group, slot and origin date) and skipping holidays,
marks only for enrollments open on the lesson's day and never on cancelled lessons, one mark per lesson
and child, `attendance_taken_at` on every marked lesson, and an EnrollmentEvent for every transition.
The demo network also gets last year's enrollment lists (archive.py): closed twin groups with no lessons,
whose children finished on 31 May or left on a real date, never more at once than the group's seats.

Deterministic: every choice comes from random.Random seeded with `seed`, and dates are laid out relative
to `today` (timezone.localdate() unless given). The same seed on the same day gives the same data; on
another day the school year is cut at a different "today", so the history differs (`--today` pins it).

Speed, `--students 30000` (2 000 groups, 31 branches) on the 2-core development box while other jobs ran
(load ≈5): on 29 November (390 000 marks) SQLite 126 s (51 s of CPU), PostgreSQL 144 s; on 25 May, a whole
year (1 050 000 marks), SQLite 184 s (85 s of CPU), PostgreSQL 289 s. Memory stays near 330 MB.

Last year's lists and every month's feedback (29 Nov 2026, helper D), `--students 3000 --today 2026-11-29`,
full seed on SQLite, same box (load 4.1–4.4), before and after back to back, twice: before 127 s / 135 s
wall (105 s / 102 s of CPU), after 158 s / 118 s wall (136 s / 100 s of CPU; a third pair, run apart:
157 s / 104 s before, 123 s / 97 s after): the load's noise is larger than the change. What the change
costs when measured alone: the school year 3.9–4.9 s → 5.2–6.8 s (5 631 children instead of 3 025: last
year's who are not back; 6 723 enrollments instead of 3 274), the risk model's training 5.0 → 6.8 s of
CPU (it now replays last year's weeks too), the feedback history ≈ 4 s of CPU (2 000 responses), about
+6 % of the seed's CPU. Last year's registers (lessons and marks) would double the marks and make
gamification and billing replay a second year, so they are not written.
"""

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark
from kruzhok.demo import behaviours, catalog, writing
from kruzhok.demo.planning import OrgPlan, OrgSpec, Person
from kruzhok.demo.season import Season
from kruzhok.school import models as school
from kruzhok.school.models import EnrollmentStatus

DEMO_SLUG = "demo"
DEMO_NAME = "Демо-центр «Кружок»"
SECOND_SLUG = "raduga"
SECOND_NAME = "Студия «Радуга»"
DEMO_SLUGS = (DEMO_SLUG, SECOND_SLUG)
DEMO_PASSWORD = "kruzhok-demo"
# Every username the seeder makes, for --reset to find leftovers of a demo deleted by hand.
DEMO_USERNAMES = r"^(owner2?|manager[0-9]*|teacher[0-9]*|parent|student|raduga_teacher[0-9]+)$"


def demo_spec(students: int) -> OrgSpec:
    n_branches = 3 if students <= 3000 else students // 1000
    branches = []
    for i in range(n_branches):
        district, address = catalog.MOSCOW_BRANCHES[i % len(catalog.MOSCOW_BRANCHES)]
        lap = i // len(catalog.MOSCOW_BRANCHES)
        branches.append((f"{district}-{lap + 1}" if lap else district, address))
    managers = [Person("manager", "Ольга", "Соколова")]
    for i in range(2, n_branches + 1):
        managers.append(Person(f"manager{i}", "", ""))  # names drawn at random
    return OrgSpec(
        slug=DEMO_SLUG,
        name=DEMO_NAME,
        owner=Person("owner", "Ирина", "Волкова"),
        students=students,
        branches=tuple(branches),
        courses=catalog.DEMO_COURSES,
        groups=max(6, round(students / 15)),
        managers=tuple(managers),
        teacher=Person("teacher", "Алексей", "Морозов"),
        named_family=True,
        full_groups=2,
        story=True,
        archive=True,
    )


def second_spec() -> OrgSpec:
    return OrgSpec(
        slug=SECOND_SLUG,
        name=SECOND_NAME,
        owner=Person("owner2", "Наталья", "Белова"),
        students=25,
        branches=(("Радуга", "Москва, ул. Вавилова, 48"),),
        courses=catalog.RADUGA_COURSES,
        groups=3,
        teacher_prefix="raduga_teacher",
    )


@dataclass
class SeedReport:
    orgs: list[Organization]  # [demo, raduga]: what other areas' demo seeders take
    today: dt.date  # the day the school year was cut at
    organizations: list[str]
    counts: dict[str, int]
    enrollments_by_status: dict[str, int]
    dropouts_by_reason: dict[str, int]
    unplaced: int
    seconds: float

    def lines(self) -> list[str]:
        c = self.counts
        out = [
            f"Организации: {', '.join(self.organizations)}",
            f"Филиалы: {c['branches']}, группы: {c['groups']}, преподаватели: {c['teachers']}",
            f"Ученики: {c['students']}, родители: {c['guardians']}, согласия: {c['consents']}",
            "Зачисления: "
            + ", ".join(f"{status} {n}" for status, n in sorted(self.enrollments_by_status.items())),
            f"Занятия: {c['lessons']} (прошедших {c['past_lessons']}, отменённых {c['cancelled_lessons']}, "
            f"перенесённых {c['moved_lessons']}), отметки: {c['marks']}",
            f"Ушли: {c['dropouts']} — "
            + ", ".join(f"{reason} {n}" for reason, n in sorted(self.dropouts_by_reason.items())),
            f"Лист ожидания: {c['waitlist']}, без группы: {self.unplaced}",
            f"Готово за {self.seconds:.1f} с",
        ]
        return out


# --- Entry points ------------------------------------------------------------------------------------------


class DemoConflict(Exception):
    """A demo username is already taken by someone outside the demo organisations."""


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_SLUG).exists()


def demo_delete() -> int:
    """Deletes both demo organisations with everything in them and the users who belonged only to them."""
    return writing.orgs_delete(DEMO_SLUGS, stray_usernames=DEMO_USERNAMES)


def seed_demo(
    *,
    students: int = 600,
    seed: int = 42,
    today: dt.date | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> SeedReport:
    """Creates both demo organisations. The caller makes sure they don't exist yet."""
    began = time.monotonic()
    today = today or timezone.localdate()
    season = Season.for_today(today, settings.LESSON_HORIZON_DAYS)
    specs = [demo_spec(students), second_spec()]
    plans = [OrgPlan(spec, season, random.Random(f"{seed}:{spec.slug}")).plan() for spec in specs]
    # The story the analytics dashboards tell: a weak branch, a strong teacher, drops before the breaks.
    story = behaviours.tell_story(plans[0])
    log("Сюжет: " + ", ".join(f"{k} {v}" for k, v in story.items()))
    log(f"План готов за {time.monotonic() - began:.1f} с")
    taken = set(
        get_user_model()
        .objects.filter(username__in=[u.username for p in plans for u in p.users])
        .values_list("username", flat=True)
    )
    if taken:
        raise DemoConflict(
            f"Пользователи уже существуют: {', '.join(sorted(taken)[:5])}. Удалите их или запустите с --reset."
        )
    password_hash = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        orgs = [writing.Writer(p, password_hash, log).write() for p in plans]
        committing = time.monotonic()
    log(f"  запись на диск — {time.monotonic() - committing:.1f} с")
    return _report(orgs, plans, season, time.monotonic() - began)


def _report(orgs: list[Organization], plans: list[OrgPlan], season: Season, seconds: float) -> SeedReport:
    ids = [o.pk for o in orgs]
    lessons = school.Lesson.all_objects.filter(organization_id__in=ids)
    enrollments = school.Enrollment.all_objects.filter(organization_id__in=ids)
    counts = {
        "branches": school.Branch.all_objects.filter(organization_id__in=ids).count(),
        "groups": school.Group.all_objects.filter(organization_id__in=ids).count(),
        "teachers": Membership.objects.filter(organization_id__in=ids, role=Role.TEACHER).count(),
        "students": school.Student.all_objects.filter(organization_id__in=ids).count(),
        "guardians": school.Guardian.all_objects.filter(organization_id__in=ids).count(),
        "consents": school.Consent.all_objects.filter(organization_id__in=ids).count(),
        "lessons": lessons.count(),
        "past_lessons": lessons.filter(starts_at__date__lt=season.today).count(),
        "cancelled_lessons": lessons.filter(status=school.LessonStatus.CANCELLED).count(),
        "moved_lessons": lessons.filter(moved_from__isnull=False).count(),
        "marks": AttendanceMark.all_objects.filter(organization_id__in=ids).count(),
        "dropouts": enrollments.filter(status=EnrollmentStatus.DROPPED).count(),
        "waitlist": school.WaitlistEntry.all_objects.filter(organization_id__in=ids).count(),
    }
    by_status = dict(enrollments.values_list("status").annotate(n=Count("id")).order_by())
    by_reason = dict(
        enrollments.filter(status=EnrollmentStatus.DROPPED)
        .values_list("drop_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return SeedReport(
        orgs=orgs,
        today=season.today,
        organizations=[o.name for o in orgs],
        counts=counts,
        enrollments_by_status=by_status,
        dropouts_by_reason=by_reason,
        unplaced=sum(p.unplaced for p in plans),
        seconds=seconds,
    )


def seed_other_areas(*, report: SeedReport, seed: int):
    """After the school year: the history other areas build on it (billing, gamification, messages,
    risk scores), each through that area's own services. Yields (area, totals) as each finishes."""
    from kruzhok.demo.billing import seed_billing
    from kruzhok.demo.gamification import seed_gamification
    from kruzhok.demo.messaging import seed_messaging
    from kruzhok.demo.risk import seed_risk

    for org in report.orgs:
        yield f"billing {org.slug}", seed_billing(org=org, seed=seed)
    for org in report.orgs:
        yield f"gamification {org.slug}", seed_gamification(org=org, seed=seed)
    for org in report.orgs:
        yield f"messaging {org.slug}", seed_messaging(org=org, seed=seed, today=report.today)
    yield "risk", seed_risk(orgs=report.orgs, today=report.today)
    # The data-quality page reads the latest snapshot: without one a fresh demo would show no checks.
    from kruzhok.dataquality.services import snapshot_take
    from kruzhok.lib.tenancy import tenant_context

    for org in report.orgs:
        with tenant_context(org.pk):
            snapshot = snapshot_take(org=org, today=report.today)
        yield f"data quality {org.slug}", snapshot.counts.get("all", {})
