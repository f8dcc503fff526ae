"""A small October in organisation alpha whose every figure can be counted by hand (see each test)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import services as billing
from kruzhok.risk.models import RiskScore
from kruzhok.risk.services import _upsert_scores
from kruzhok.school import models as school
from kruzhok.testing import factories as f


@dataclass
class October:
    e2_dropped: school.Enrollment
    e3_steady: school.Enrollment
    e4_transfer_in: school.Enrollment
    e5_transferred: school.Enrollment
    e6_other_branch_dropped: school.Enrollment
    group2: school.Group
    teacher2: object
    lessons: list


def _lesson(world, group, day: dt.date, *, cancelled=False):
    starts = timezone.make_aware(dt.datetime.combine(day, dt.time(16, 0)))
    return f.LessonFactory(
        organization=world.org,
        group=group,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        status=school.LessonStatus.CANCELLED if cancelled else school.LessonStatus.SCHEDULED,
    )


def build_october(world) -> October:
    org = world.org
    world.course.price_per_month = Decimal("4000.00")
    world.course.save()
    teacher2 = f.UserFactory(username=f"{org.slug}_teacher2")
    from kruzhok.accounts.models import Membership, Role

    Membership.objects.create(user=teacher2, organization=org, role=Role.TEACHER)
    group2 = f.GroupFactory(
        organization=org,
        course=world.course,
        branch=world.other_branch,
        teacher=teacher2,
        name=f"Север-1 ({org.slug})",
    )

    def enrol(group, started, *, status="active", ended=None, transferred_from=None, last_name=""):
        student = f.StudentFactory(organization=org, branch=group.branch, last_name=last_name)
        return f.EnrollmentFactory(
            organization=org,
            student=student,
            group=group,
            started_on=started,
            status=status,
            ended_on=ended,
            transferred_from=transferred_from,
        )

    e2 = enrol(
        world.group,
        dt.date(2026, 9, 1),
        status="dropped",
        ended=dt.date(2026, 10, 10),
        last_name="Ушедшая-центр",
    )
    e3 = enrol(world.group, dt.date(2026, 9, 1), last_name="Постоянный")
    e5 = enrol(
        world.group,
        dt.date(2026, 9, 1),
        status="transferred",
        ended=dt.date(2026, 10, 5),
        last_name="Переведённый",
    )
    e4 = f.EnrollmentFactory(
        organization=org,
        student=e5.student,
        group=world.group,
        started_on=dt.date(2026, 10, 5),
        transferred_from=e5,
    )
    e6 = enrol(
        group2, dt.date(2026, 9, 1), status="dropped", ended=dt.date(2026, 10, 20), last_name="Ушедший-север"
    )

    oct14 = _lesson(world, world.group, dt.date(2026, 10, 14))
    oct21 = _lesson(world, world.group, dt.date(2026, 10, 21))
    _lesson(world, world.group, dt.date(2026, 10, 28), cancelled=True)
    for lesson, enrollment, status in [
        (oct14, e3, "present"),
        (oct21, e3, "present"),
        (oct21, world.enrollment, "present"),
        (oct14, e4, "late"),
        (oct21, e4, "absent"),
    ]:
        AttendanceMark.objects.create(
            organization=org, lesson=lesson, student=enrollment.student, enrollment=enrollment, status=status
        )

    account = billing.account_for_guardian(guardian=world.guardian)
    billing.payment_take(
        org=org,
        account=account,
        amount="5000",
        method="cash",
        actor=world.manager,
        idempotency_key=f"oct-{org.slug}",
        paid_at=timezone.make_aware(dt.datetime(2026, 10, 15, 12, 0)),
    )
    for enrollment, p in [(e3, 0.8), (e4, 0.2)]:
        RiskScore.objects.create(
            organization=org,
            enrollment=enrollment,
            scored_on=dt.date(2026, 10, 30),
            probability=p,
            band="high" if p >= 0.5 else "low",
        )
    return October(e2, e3, e4, e5, e6, group2, teacher2, [oct14, oct21])


# -- risk scores on the forty-child network of test_facts


def risk_score(world, enrollment, probability: float, day: dt.date) -> None:
    """A score written as the nightly run writes it: a second score on the same day rewrites the row."""
    _upsert_scores(
        org_id=world.org.pk,
        scored_on=day,
        version_id=None,
        rows=[(enrollment.pk, probability, "high" if probability >= 0.5 else "low", [], None)],
    )


def scored_network(world, probabilities: list[float]) -> list[school.Enrollment]:
    """test_facts' network, each enrollment open today scored probabilities[i % n] today; those
    enrollments, in order."""
    from kruzhok.analytics.tests.conftest import TODAY
    from kruzhok.analytics.tests.test_facts import _network

    _groups, enrollments, _lessons = _network(world)
    open_now = [e for e in enrollments if e.ended_on is None]
    for i, e in enumerate(open_now):
        risk_score(world, e, probabilities[i % len(probabilities)], TODAY)
    return open_now


def rescore_in_place_then_pay(world, enrollment, probability: float, capture, *, key: str) -> None:
    """Today's score rewritten in place (no new row id, so nothing the catch-up watches moves), then a
    payment: any event moves the page version, so the next page must show the new score."""
    from kruzhok.analytics.tests.conftest import TODAY

    ids = set(RiskScore.all_objects.filter(organization=world.org).values_list("pk", flat=True))
    risk_score(world, enrollment, probability, TODAY)
    assert set(RiskScore.all_objects.filter(organization=world.org).values_list("pk", flat=True)) == ids
    with capture(execute=True):
        billing.payment_take(
            org=world.org,
            account=billing.account_for_guardian(guardian=world.guardian),
            amount="1800",
            method="cash",
            actor=world.manager,
            idempotency_key=key,
            paid_at=timezone.now(),
        )
