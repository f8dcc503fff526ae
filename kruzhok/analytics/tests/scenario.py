"""A small October in organisation alpha whose every figure can be counted by hand (see each test)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import services as billing
from kruzhok.risk.models import RiskScore
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
