"""The monthly facts: on a generated network every dashboard figure read from the facts equals the old
direct computation (a scan of the marks, KRUZHOK_ANALYTICS_FACTS=false), before and after marks,
lessons, enrollments and payments change through the services; `analytics_facts --check` finds
0 differences; and a mark no longer throws away the figures that do not depend on marks."""

import datetime as dt
import random

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from kruzhok.accounts.models import Membership
from kruzhok.analytics import dashboards, facts
from kruzhok.analytics.cache import versions
from kruzhok.analytics.models import MonthlyFact
from kruzhok.analytics.selectors import Facts, months_back, scope_for
from kruzhok.analytics.tests.conftest import OCTOBER, TODAY
from kruzhok.attendance.models import AttendanceMark
from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import services as billing
from kruzhok.school.models import Lesson
from kruzhok.school.services.enrollments import enrollment_transition
from kruzhok.school.services.lesson_changes import lesson_cancel, lesson_move
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db
NOVEMBER = dt.date(2026, 11, 1)
STATUSES = ["present", "present", "present", "late", "absent", "excused"]


def _network(world, seed: int = 7):
    """Two branches, five groups, forty children, weekly lessons from August to this week (a few
    cancelled), random marks written straight to the table (no events: the catch-up must see them)."""
    rng = random.Random(seed)
    org = world.org
    teachers = [
        world.teacher,
        f.UserFactory(username=f"{org.slug}_t2"),
        f.UserFactory(username=f"{org.slug}_t3"),
    ]
    groups = [world.group]
    for i in range(4):
        groups.append(
            f.GroupFactory(
                organization=org,
                course=world.course,
                branch=world.other_branch if i % 2 else world.branch,
                teacher=teachers[i % 3],
                name=f"Сеть-{i} ({org.slug})",
            )
        )
    enrollments = []
    for i in range(40):
        group = groups[i % len(groups)]
        started = dt.date(2026, 8, 1) + dt.timedelta(days=rng.randrange(0, 100))
        dropped = rng.random() < 0.3
        ended = started + dt.timedelta(days=rng.randrange(10, 60)) if dropped else None
        if ended is not None and ended >= TODAY:
            ended, dropped = None, False
        student = f.StudentFactory(organization=org, branch=group.branch, last_name=f"Сеть{i}")
        enrollments.append(
            f.EnrollmentFactory(
                organization=org,
                student=student,
                group=group,
                started_on=started,
                status="dropped" if dropped else "active",
                ended_on=ended,
            )
        )
    lessons = []
    for group in groups:
        day = dt.date(2026, 8, 3) + dt.timedelta(days=groups.index(group))
        while day <= TODAY + dt.timedelta(days=10):
            starts = timezone.make_aware(dt.datetime.combine(day, dt.time(17, 30)))
            cancelled = rng.random() < 0.08
            lesson = f.LessonFactory(
                organization=org,
                group=group,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=1),
                status="cancelled" if cancelled else "scheduled",
            )
            lessons.append(lesson)
            if not cancelled and day < TODAY:
                for e in enrollments:
                    open_then = e.started_on <= day and (e.ended_on is None or e.ended_on > day)
                    if e.group_id == group.pk and open_then:
                        AttendanceMark.objects.create(
                            organization=org,
                            lesson=lesson,
                            student=e.student,
                            enrollment=e,
                            status=rng.choice(STATUSES),
                        )
            day += dt.timedelta(days=7)
    return groups, enrollments, lessons


def _figures(world, monkeypatch, *, use_facts: bool, scope=None, **filters) -> dict:
    """Everything the owner's and manager's dashboards show that facts could change, both ways."""
    monkeypatch.setenv("KRUZHOK_ANALYTICS_FACTS", "true" if use_facts else "false")
    cache.clear()
    loaded = Facts.load(world.org, scope=scope, **filters)
    months = months_back(NOVEMBER, 6)
    out = {
        "summaries": [loaded.month_summary(m) for m in (OCTOBER, NOVEMBER, dt.date(2026, 9, 1))],
        "series": loaded.series(months),
    }
    for metric in ("attendance", "retention"):
        rated, mean, _period = dashboards._rate(loaded, unit="teacher", metric=metric, month=NOVEMBER)
        out[metric] = ([(r.label, r.raw, r.shrunk) for r in rated], mean)
    monkeypatch.delenv("KRUZHOK_ANALYTICS_FACTS")
    return out


def _same_both_ways(world, monkeypatch, **kwargs):
    from_facts = _figures(world, monkeypatch, use_facts=True, **kwargs)
    direct = _figures(world, monkeypatch, use_facts=False, **kwargs)
    assert from_facts == direct
    return from_facts


def _manager_scope(world):
    return scope_for(Membership.objects.get(user=world.manager, organization=world.org))


def test_facts_give_the_same_figures_as_scanning_the_marks(alpha, monkeypatch):
    _network(alpha)
    owner = _same_both_ways(alpha, monkeypatch)
    # The network is not trivial: marks, cancelled lessons and drops in the compared months.
    october = owner["summaries"][0]
    assert october.attendance_rate is not None and 0 < october.attendance_rate < 1
    assert october.lessons_held > 10 and october.dropped >= 0
    assert owner["summaries"][1].lessons_held > 0  # this month: held so far, counted live
    _same_both_ways(alpha, monkeypatch, scope=_manager_scope(alpha))
    _same_both_ways(alpha, monkeypatch, branch_ids=[alpha.other_branch.pk])
    _same_both_ways(alpha, monkeypatch, teacher_ids=[alpha.teacher.pk])
    assert facts.differences(alpha.org) == []


def test_figures_stay_equal_after_changes_through_the_services(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    _groups, enrollments, lessons = _network(alpha)
    _same_both_ways(alpha, monkeypatch)  # facts built, then kept by events from here on
    past = [
        lesson for lesson in lessons if lesson.group_id == alpha.group.pk and lesson.status == "scheduled"
    ]
    past = [lesson for lesson in past if lesson.starts_at.date() < TODAY]
    october_lesson = next(lesson for lesson in past if lesson.starts_at.month == 10)
    mark = AttendanceMark.objects.filter(lesson=october_lesson).select_related("student").first()
    unmarked = next(lesson for lesson in reversed(past) if not lesson.marks.exists())
    open_enrollment = next(e for e in enrollments if e.status == "active" and e.group_id == alpha.group.pk)
    with django_capture_on_commit_callbacks(execute=True):
        # A mark changed in place (same row), another one added.
        attendance_mark(
            lesson=october_lesson,
            student=mark.student,
            status="absent" if mark.status != "absent" else "present",
            actor=alpha.owner,
        )
        lesson_cancel(lesson=unmarked, actor=alpha.manager, reason="болеет преподаватель")
        future = Lesson.objects.filter(group=alpha.group, starts_at__gt=timezone.now(), status="scheduled")
        # Moved from November back into October: both months change.
        lesson_move(
            lesson=future.order_by("starts_at").first(),
            actor=alpha.manager,
            starts_at=timezone.make_aware(dt.datetime(2026, 10, 30, 12, 0)),
            reason="перенос",
        )
        enrollment_transition(
            enrollment=open_enrollment,
            to_status="dropped",
            actor=alpha.manager,
            reason="moved",
            on_date=dt.date(2026, 11, 19),
        )
        billing.payment_take(
            org=alpha.org,
            account=billing.account_for_guardian(guardian=alpha.guardian),
            amount="2500",
            method="cash",
            actor=alpha.manager,
            idempotency_key="facts-1",
            paid_at=timezone.now(),
        )
    assert facts.differences(alpha.org) == []
    after = _same_both_ways(alpha, monkeypatch)
    assert after["summaries"][1].revenue > 0
    _same_both_ways(alpha, monkeypatch, scope=_manager_scope(alpha))


def test_a_mark_keeps_the_enrollment_and_money_figures(alpha, django_capture_on_commit_callbacks):
    before = versions(alpha.org.pk)
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    after = versions(alpha.org.pk)
    assert after.all != before.all
    # (Risk figures may move: a mark can rescore the child.)
    assert (after.enrollments, after.money) == (before.enrollments, before.money)
    row = MonthlyFact.objects.get(group=alpha.group, month=NOVEMBER)
    assert (row.present, row.absent) == (1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=alpha.enrollment,
            to_status="dropped",
            actor=alpha.manager,
            reason="moved",
            on_date=dt.date(2026, 11, 19),
        )
    assert versions(alpha.org.pk).enrollments != after.enrollments


def test_the_command_checks_and_rebuilds(alpha, capsys):
    _network(alpha)
    Facts.load(alpha.org)  # the first read builds the facts
    call_command("analytics_facts", "--check")
    assert "alpha: 0 differences" in capsys.readouterr().out
    # A mark edited behind the services' back is a difference until the rebuild.
    AttendanceMark.objects.filter(organization=alpha.org, status="present").update(status="absent")
    with pytest.raises(CommandError, match="differences"):
        call_command("analytics_facts", "--check", "--org", "alpha")
    call_command("analytics_facts", "--rebuild", "--check", "--org", "alpha")
    assert facts.differences(alpha.org) == []
    with pytest.raises(CommandError):
        call_command("analytics_facts")
    with pytest.raises(CommandError, match="no organisation"):
        call_command("analytics_facts", "--check", "--org", "<script>")


def test_facts_never_mix_organisations(alpha, beta):
    _network(alpha)
    _network(beta, seed=8)
    Facts.load(alpha.org)
    Facts.load(beta.org)
    assert not MonthlyFact.objects.filter(organization=alpha.org, group__organization=beta.org).exists()
    assert facts.differences(alpha.org) == [] and facts.differences(beta.org) == []
