"""Demo billing history: price plans per course, then for each family the season replayed lesson by
lesson through the billing services: a pack of 8 is bought when the previous one runs out (renewals),
most are paid on time, some only in part (debts), a few are frozen for illness, and children who
later dropped out stop renewing three weeks before they leave (lapses before dropouts), so their
last lessons are billed one by one and the debt grows. Deterministic for a given seed.

Called by the seed command after the school year (and its attendance marks) are written:
`seed_billing(org=org)`; everything goes through kruzhok.billing.services, so the ledger invariant
(`manage.py billing_check`) holds for the demo exactly as for real data.
"""

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import services
from kruzhok.billing.models import PlanKind, PricePlan, Subscription, SubscriptionStatus
from kruzhok.lib.tenancy import tenant_context
from kruzhok.school.models import Course, Enrollment, EnrollmentStatus, StudentGuardian

LAPSE_DAYS = 21
KOPECK = Decimal("0.01")


MAKEUPS_PER_ORG = 12
MONTHLY_SHARE = 0.25


def _monthly_plans(org: Organization) -> dict[int, PricePlan]:
    """A monthly subscription per course (the course's monthly price), bought by about a quarter of families."""
    plans = {}
    for course in Course.objects.filter(organization=org, is_active=True).order_by("pk"):
        existing = PricePlan.objects.filter(organization=org, course=course, kind=PlanKind.MONTHLY).first()
        plans[course.pk] = existing or services.plan_create(
            org=org,
            name=f"{course.title}: месяц",
            kind=PlanKind.MONTHLY,
            course=course,
            price=course.price_per_month or Decimal("4000"),
            lessons=course.lessons_per_week * 4,
        )
    return plans


def _seed_makeups(org: Organization, rng: random.Random, actor, zone) -> int:
    """A few excused absences made up in another group of the course soon after: the child is
    booked, comes, and the visit writes off the missed lesson."""
    from kruzhok.billing import makeups
    from kruzhok.school.models import Lesson, LessonStatus

    rules = services.billing_settings_for(org=org)
    now = timezone.now()
    excused = list(
        AttendanceMark.objects.filter(organization=org, status="excused", lesson__starts_at__lt=now)
        .select_related("lesson__group", "enrollment", "student")
        .order_by("lesson__starts_at", "pk")
    )
    rng.shuffle(excused)
    booked = 0
    for mark in excused:
        if booked >= MAKEUPS_PER_ORG:
            break
        if mark.enrollment.group_id != mark.lesson.group_id:
            continue
        window_end = mark.lesson.starts_at + dt.timedelta(days=rules.makeup_days)
        target = (
            Lesson.objects.filter(
                organization=org,
                group__course_id=mark.lesson.group.course_id,
                starts_at__gt=mark.lesson.starts_at,
                starts_at__lt=min(window_end, now),
            )
            .exclude(group_id=mark.lesson.group_id)
            .exclude(status=LessonStatus.CANCELLED)
            .exclude(group__enrollments__student_id=mark.student_id)
            .order_by("starts_at")
            .first()
        )
        if target is None:
            continue
        makeups.makeup_book(
            org=org,
            actor=actor,
            mark=mark,
            lesson=target,
            today=timezone.localtime(target.starts_at, zone).date(),
        )
        # Written like the season's other marks (no live event: gamification replays marks itself),
        # then billed through the same write-off service the event handler calls.
        visit = AttendanceMark.objects.create(
            organization=org,
            lesson=target,
            student=mark.student,
            enrollment=mark.enrollment,
            status="present",
            marked_by=actor,
        )
        services.writeoff_sync_mark(mark_id=visit.pk, organization_id=org.pk)
        booked += 1
    return booked


def _plans(org: Organization) -> dict[int, PricePlan]:
    packs = {}
    for course in Course.objects.filter(organization=org, is_active=True).order_by("pk"):
        monthly = course.price_per_month or Decimal("4000")
        per_lesson = (monthly / 8).quantize(Decimal("1"))
        existing = PricePlan.objects.filter(organization=org, course=course, kind=PlanKind.PACK).first()
        if existing is not None:
            packs[course.pk] = existing
            continue
        packs[course.pk] = services.plan_create(
            org=org,
            name=f"{course.title}: 8 занятий",
            kind=PlanKind.PACK,
            course=course,
            price=per_lesson * 8,
            lessons=8,
            valid_days=35,
        )
        services.plan_create(
            org=org,
            name=f"{course.title}: разовое",
            kind=PlanKind.SINGLE,
            course=course,
            price=(per_lesson * Decimal("1.25")).quantize(Decimal("1")),
        )
        services.plan_create(
            org=org, name=f"{course.title}: пробное", kind=PlanKind.TRIAL, course=course, price="0"
        )
    return packs


def _covering(enrollment: Enrollment, day: dt.date):
    return (
        Subscription.objects.filter(
            organization_id=enrollment.organization_id,
            student_id=enrollment.student_id,
            course_id=enrollment.group.course_id,
            status=SubscriptionStatus.ACTIVE,
            valid_from__lte=day,
            valid_to__gte=day,
        )
        .annotate(left=Coalesce(Sum("entries__lessons"), 0))
        .filter(left__gt=0)
        .exists()
    )


def seed_billing(*, org: Organization, seed: int = 7, families: int = 120) -> dict[str, int]:
    rng = random.Random(f"{seed}:billing:{org.slug}")
    zone = ZoneInfo(org.timezone or "Europe/Moscow")
    totals = {"plans": 0, "sales": 0, "payments": 0, "freezes": 0, "writeoffs": 0, "monthly": 0, "makeups": 0}
    with tenant_context(org.pk):
        membership = Membership.objects.filter(organization=org, role__in=[Role.MANAGER, Role.OWNER]).first()
        actor = membership.user if membership else None
        packs = _plans(org)
        monthly = _monthly_plans(org)
        totals["plans"] = PricePlan.objects.filter(organization=org).count()
        today = services.org_today(org)
        services.promo_create(org=org, code="ДРУГ10", percent=10, valid_until=today + dt.timedelta(days=60))
        services.promo_create(org=org, code="ЛЕТО", percent=15, valid_until=today - dt.timedelta(days=60))
        with_guardian = StudentGuardian.objects.filter(organization=org).values("student_id")
        enrollments = (
            Enrollment.objects.filter(organization=org, student_id__in=with_guardian)
            .exclude(status=EnrollmentStatus.TRANSFERRED)
            .filter(Q(attendance_marks__isnull=False))
            .distinct()
            .select_related("group", "student")
            .order_by("pk")[:families]
        )
        for enrollment in enrollments:
            plan = packs.get(enrollment.group.course_id)
            if plan is None:
                continue
            if rng.random() < MONTHLY_SHARE:
                plan = monthly.get(enrollment.group.course_id, plan)
            lapse_from = None
            if enrollment.status == EnrollmentStatus.DROPPED and enrollment.ended_on:
                lapse_from = enrollment.ended_on - dt.timedelta(days=LAPSE_DAYS)
            marks = (
                AttendanceMark.objects.filter(organization=org, enrollment=enrollment)
                .select_related("lesson")
                .order_by("lesson__starts_at")
            )
            sale_no = 0
            for mark in marks:
                day = timezone.localtime(mark.lesson.starts_at, zone).date()
                billable = mark.status in ("present", "late", "absent")
                lapsing = lapse_from is not None and day >= lapse_from
                if billable and not lapsing and not _covering(enrollment, day):
                    sale_no += 1
                    sub = services.subscription_sell(
                        org=org,
                        actor=actor,
                        student=enrollment.student,
                        plan=plan,
                        valid_from=day,
                        sold_on=day,
                        enrollment=enrollment,
                        idempotency_key=f"demo-{enrollment.pk}-{sale_no}",
                    )
                    totals["sales"] += 1
                    totals["monthly"] += plan.kind == PlanKind.MONTHLY
                    roll = rng.random()
                    if roll < 0.9:
                        # Most pay in full on the day or soon after; one in nine pays only half.
                        amount = plan.price if roll < 0.8 else (plan.price / 2).quantize(KOPECK)
                        paid_at = dt.datetime.combine(
                            day + dt.timedelta(days=rng.randint(0, 3)), dt.time(18, 0), tzinfo=zone
                        )
                        services.payment_take(
                            org=org,
                            account=sub.account,
                            amount=amount,
                            method=rng.choice(["cash", "card", "card", "transfer"]),
                            actor=actor,
                            idempotency_key=f"demo-pay-{enrollment.pk}-{sale_no}",
                            paid_at=min(paid_at, timezone.now()),
                        )
                        totals["payments"] += 1
                    if rng.random() < 0.06:
                        services.subscription_freeze(
                            subscription=sub,
                            start_date=day + dt.timedelta(days=7),
                            end_date=day + dt.timedelta(days=13),
                            reason=rng.choice(["Болезнь", "Семейный отпуск"]),
                            actor=actor,
                        )
                        totals["freezes"] += 1
                if services.writeoff_sync_mark(mark_id=mark.pk, organization_id=org.pk) is not None:
                    totals["writeoffs"] += 1
        totals["makeups"] = _seed_makeups(org, rng, actor, zone)
    return totals
