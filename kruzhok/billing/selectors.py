"""Billing reads. Balances and lessons left are always computed from ledger entries, never stored."""

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from django.db.models import DecimalField, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from kruzhok.accounts.models import Membership, Role
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.billing.models import (
    Account,
    LedgerEntry,
    Payment,
    PlanKind,
    PricePlan,
    PromoCode,
    Subscription,
    SubscriptionStatus,
)
from kruzhok.lib.dates import org_timezone
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Enrollment,
    Guardian,
    Student,
    StudentGuardian,
)
from kruzhok.school.selectors.people import enrollment_list, guardian_list, student_list

ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


# The correlated sums filter on the account (or subscription) alone: the outer row is already the
# organisation's, and with the tenant filter added SQLite walked the organisation's index, reading every
# ledger line of the organisation once per account.
def _balance_subquery():
    return Coalesce(
        Subquery(
            LedgerEntry.all_objects.filter(account_id=OuterRef("pk"))
            .order_by()
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values("total"),
            output_field=MONEY_FIELD,
        ),
        Value(ZERO, output_field=MONEY_FIELD),
    )


def _lessons_left_subquery():
    return Coalesce(
        Subquery(
            LedgerEntry.all_objects.filter(subscription_id=OuterRef("pk"))
            .order_by()
            .values("subscription_id")
            .annotate(total=Sum("lessons"))
            .values("total"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def account_balance(*, account: Account) -> Decimal:
    total = LedgerEntry.objects.filter(organization_id=account.organization_id, account=account).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO, output_field=MONEY_FIELD))
    )["total"]
    return Decimal(total).quantize(Decimal("0.01"))


def account_list(*, membership: Membership, within: Collection[int] | None = None) -> QuerySet[Account]:
    """Accounts the caller may see (a manager: families of their branches' children), with `balance`.
    `within`: the caller's account ids resolved beforehand (`account_ids_in_scope`), which spares the
    scope's subqueries over every child of the organisation."""
    qs = Account.objects.filter(organization_id=membership.organization_id)
    if within is not None:
        qs = qs.filter(pk__in=sorted(within))
    elif membership.role != Role.OWNER:
        qs = qs.filter(guardian__in=guardian_list(membership=membership))
    return qs.select_related("guardian").annotate(balance=_balance_subquery())


def account_ids_in_scope(*, membership: Membership) -> frozenset[int] | None:
    """The accounts `account_list` shows the caller (None: the whole organisation)."""
    if membership.role == Role.OWNER:
        return None
    ids = Account.objects.filter(
        organization_id=membership.organization_id, guardian__in=guardian_list(membership=membership)
    ).values_list("pk", flat=True)
    return frozenset(ids)


def student_ids_in_scope(*, membership: Membership) -> frozenset[int] | None:
    """The children whose subscriptions `subscription_scoped` shows the caller (None: all of them)."""
    if membership.role == Role.OWNER:
        return None
    return frozenset(student_list(membership=membership).values_list("pk", flat=True).order_by())


def account_get(*, membership: Membership, pk) -> Account:
    return get_object_or_404(account_list(membership=membership), pk=pk)


def debtor_list(*, membership: Membership, within: Collection[int] | None = None) -> QuerySet[Account]:
    return (
        account_list(membership=membership, within=within)
        .filter(balance__lt=0)
        .order_by("balance", "guardian__full_name")
    )


def subscription_list(
    *, org, account: Account | None = None, student: Student | None = None, students=None
) -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(organization_id=org.pk)
    if account is not None:
        qs = qs.filter(account=account)
    if student is not None:
        qs = qs.filter(student=student)
    if students is not None:
        qs = qs.filter(student__in=students)
    return qs.select_related("plan", "student", "course", "group", "account__guardian").annotate(
        lessons_left=_lessons_left_subquery()
    )


def subscription_scoped(
    *, membership: Membership, within: Collection[int] | None = None
) -> QuerySet[Subscription]:
    """`within`: the caller's children resolved beforehand (`student_ids_in_scope`)."""
    org_id = membership.organization_id
    qs = Subscription.objects.filter(organization_id=org_id)
    if within is not None:
        qs = qs.filter(student_id__in=sorted(within))
    elif membership.role != Role.OWNER:
        qs = qs.filter(student__in=student_list(membership=membership).values("pk"))
    return qs.select_related("plan", "student", "course", "group", "account__guardian").annotate(
        lessons_left=_lessons_left_subquery()
    )


def subscription_get(*, membership: Membership, pk) -> Subscription:
    return get_object_or_404(subscription_scoped(membership=membership), pk=pk)


def subscriptions_ending(
    *,
    membership: Membership,
    today: dt.date,
    within_days: int = 7,
    lessons_max: int = 2,
    within: Collection[int] | None = None,
) -> QuerySet[Subscription]:
    """Active subscriptions that run out soon: by date within `within_days`, or with few lessons left."""
    horizon = today + dt.timedelta(days=within_days)
    return (
        subscription_scoped(membership=membership, within=within)
        .filter(status=SubscriptionStatus.ACTIVE, valid_to__gte=today)
        .filter(Q(valid_to__lte=horizon) | Q(lessons_left__lte=lessons_max))
        .order_by("valid_to", "student__last_name")
    )


def entry_list(*, account: Account) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(organization_id=account.organization_id, account=account)
        .select_related("student", "lesson", "payment", "subscription", "actor", "reverses")
        .order_by("-occurred_on", "-id")
    )


def entry_get(*, membership: Membership, pk) -> LedgerEntry:
    accounts = account_list(membership=membership).values("pk")
    return get_object_or_404(
        LedgerEntry.objects.filter(
            organization_id=membership.organization_id, account__in=accounts
        ).select_related("account"),
        pk=pk,
    )


def payment_list(*, org, account: Account | None = None) -> QuerySet[Payment]:
    qs = Payment.objects.filter(organization_id=org.pk)
    if account is not None:
        qs = qs.filter(account=account)
    return qs.select_related("account__guardian", "taken_by")


def payment_get(*, membership: Membership, pk) -> Payment:
    accounts = account_list(membership=membership).values("pk")
    return get_object_or_404(payment_list(org=membership.organization).filter(account__in=accounts), pk=pk)


def plan_list(*, org, active_only: bool = False) -> QuerySet[PricePlan]:
    qs = PricePlan.objects.filter(organization_id=org.pk).select_related("course", "group")
    if active_only:
        qs = qs.filter(is_active=True)
    return qs


def plan_get(*, org, pk) -> PricePlan:
    return get_object_or_404(plan_list(org=org), pk=pk)


def plans_for_student(*, org, student: Student) -> QuerySet[PricePlan]:
    """Plans for the courses and groups the child is enrolled in now."""
    open_enrollments = Enrollment.objects.filter(
        organization_id=org.pk, student=student, status__in=OPEN_ENROLLMENT_STATUSES
    )
    return plan_list(org=org, active_only=True).filter(
        Q(group__isnull=True, course__in=open_enrollments.values("group__course"))
        | Q(group__in=open_enrollments.values("group"))
    )


def promo_list(*, org) -> QuerySet[PromoCode]:
    return PromoCode.objects.filter(organization_id=org.pk)


def guardians_of(*, student: Student) -> QuerySet[Guardian]:
    links = StudentGuardian.objects.filter(organization_id=student.organization_id, student=student)
    return Guardian.objects.filter(
        organization_id=student.organization_id, pk__in=links.values("guardian_id")
    )


# ---------------------------------------------------------------- the parent's view


def family_guardian(*, user, org) -> Guardian | None:
    return Guardian.objects.filter(organization_id=org.pk, user=user).first()


def family_children(*, user, org) -> QuerySet[Student]:
    links = StudentGuardian.objects.filter(organization_id=org.pk, guardian__user=user)
    return Student.objects.filter(organization_id=org.pk, pk__in=links.values("student_id"))


def family_account(*, user, org) -> Account | None:
    guardian = family_guardian(user=user, org=org)
    if guardian is None:
        return None
    return (
        Account.objects.filter(organization_id=org.pk, guardian=guardian)
        .annotate(balance=_balance_subquery())
        .first()
    )


# ---------------------------------------------------------------- revenue

# The ledger's revenue (earned, received, sold) lives in its own module; analytics reads it from here.
from kruzhok.billing.revenue import revenue_by  # noqa: E402, F401


def revenue_branch_ids(*, membership: Membership) -> list[int] | None:
    """The branches whose revenue the member may see: None (all) for the owner."""
    if membership.role == Role.OWNER:
        return None
    return list(
        Branch.objects.filter(
            organization_id=membership.organization_id, managers=membership.user_id
        ).values_list("pk", flat=True)
    )


def enrollments_without_subscription(*, membership: Membership, today: dt.date):
    """Open enrollments (trial included) with no active subscription for the group's course today:
    trials not yet converted to a paid subscription, and children whose subscription lapsed."""
    covering = Subscription.objects.filter(
        organization_id=membership.organization_id,
        student_id=OuterRef("student_id"),
        course_id=OuterRef("group__course_id"),
        status=SubscriptionStatus.ACTIVE,
        valid_from__lte=today,
        valid_to__gte=today,
    )
    return (
        enrollment_list(membership=membership)
        .filter(status__in=OPEN_ENROLLMENT_STATUSES)
        .annotate(covered=Exists(covering))
        .filter(covered=False)
        .select_related("student", "group")
        .order_by("status", "group__name", "student__last_name")
    )


def trials_unconverted(*, membership: Membership, today: dt.date, after_days: int = 3):
    """Children who came to their first lesson (a trial, usually) at least `after_days` ago and
    whose family has bought no paid subscription for the course since: the sales follow-up list.
    Each enrollment gets `first_visit` (when the child first came)."""
    first_visit = (
        AttendanceMark.objects.filter(
            enrollment_id=OuterRef("pk"), status__in=[AttendanceStatus.PRESENT, AttendanceStatus.LATE]
        )
        .order_by("lesson__starts_at")
        .values("lesson__starts_at")[:1]
    )
    paid = Subscription.objects.filter(
        organization_id=membership.organization_id,
        student_id=OuterRef("student_id"),
        course_id=OuterRef("group__course_id"),
        status=SubscriptionStatus.ACTIVE,
    ).exclude(kind=PlanKind.TRIAL)
    cutoff = dt.datetime.combine(
        today - dt.timedelta(days=after_days), dt.time.max, tzinfo=org_timezone(membership.organization)
    )
    return (
        enrollment_list(membership=membership)
        .filter(status__in=OPEN_ENROLLMENT_STATUSES)
        .annotate(first_visit=Subquery(first_visit), paid=Exists(paid))
        .filter(paid=False, first_visit__lte=cutoff)
        .select_related("student", "group")
        .order_by("first_visit", "student__last_name")
    )
