"""Billing: price plans, subscriptions, payments and balances.

Staff (owner, manager) read what their scope allows and write through the billing services; a parent
reads only their own family: their children's subscriptions, their account's payments and balance.
Money is a decimal string with kopecks ("4800.00") in the currency given next to it, never a float.
Taking a payment needs an `idempotency_key`: the same key returns the same payment and credits once.
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.accounts.models import Role
from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import CourseRef, Day, GroupRef, Id, InSchema, Name, StudentRef, Text
from kruzhok.billing import selectors, services
from kruzhok.billing.models import Account, Payment, Subscription
from kruzhok.school.models import Course, Group
from kruzhok.school.selectors.people import guardian_list, student_list

plans_router = Router(tags=["billing"])
subscriptions_router = Router(tags=["billing"])
payments_router = Router(tags=["billing"])
balances_router = Router(tags=["billing"])

Money = Text(20, 1)


# ---- shapes ------------------------------------------------------------------------------------


class PlanOut(Schema):
    id: int
    name: str
    kind: str
    course: CourseRef
    group: GroupRef | None
    lessons: int
    valid_days: int
    price: Decimal
    currency: str
    is_active: bool


class PlanIn(InSchema):
    name: Name
    kind: Literal["pack", "monthly", "single", "trial"]
    course: Id
    group: Id | None = None
    price: Money = Field(description='roubles as a string, e.g. "4800" or "4800.50"')
    lessons: int | None = Field(None, ge=0, le=10_000)
    valid_days: int | None = Field(None, ge=0, le=10_000)


class SubscriptionOut(Schema):
    id: int
    student: StudentRef
    account_id: int
    plan_id: int
    plan_name: str
    kind: str
    lessons_total: int
    lessons_left: int
    price: Decimal
    valid_from: dt.date
    valid_to: dt.date
    frozen_days: int
    status: str

    @staticmethod
    def resolve_plan_name(obj) -> str:
        return obj.plan.name


class SubscriptionIn(InSchema):
    student: Id
    plan: Id
    guardian: Id | None = None
    valid_from: Day | None = None
    sibling_discount: bool = False
    promo_code: Text(32) = ""
    manual_discount: Text(20) | None = None
    manual_reason: Text(300) = ""
    idempotency_key: Text(80) = ""


class PaymentOut(Schema):
    id: int
    account_id: int
    method: str
    amount: Decimal
    currency: str
    status: str
    paid_at: dt.datetime | None
    note: str


class PaymentIn(InSchema):
    account: Id
    amount: Money
    method: Literal["cash", "card", "transfer", "online"]
    idempotency_key: Text(80, 1)
    note: Text(300) = ""


class BalanceOut(Schema):
    account_id: int
    guardian_id: int
    guardian_name: str
    balance: Decimal
    currency: str

    @staticmethod
    def resolve_account_id(obj) -> int:
        return obj.pk

    @staticmethod
    def resolve_guardian_name(obj) -> str:
        return obj.guardian.full_name

    @staticmethod
    def resolve_balance(obj) -> Decimal:
        # SQLite's SUM drops trailing zeros; kopecks are always shown.
        return Decimal(obj.balance).quantize(Decimal("0.01"))


# ---- scope -------------------------------------------------------------------------------------


def _require_reader(request: HttpRequest) -> None:
    if not (role_can(request.role, "billing.view") or role_can(request.role, "billing.family")):
        raise ApiError(403, "forbidden")


def _accounts(request: HttpRequest) -> QuerySet[Account]:
    if request.role == Role.PARENT:
        guardian = selectors.family_guardian(user=request.user, org=request.org)
        qs = Account.objects.filter(organization_id=request.org.pk, guardian=guardian)
        return qs.select_related("guardian").annotate(balance=selectors._balance_subquery())
    return selectors.account_list(membership=request.membership)


def _subscriptions(request: HttpRequest) -> QuerySet[Subscription]:
    if request.role == Role.PARENT:
        children = selectors.family_children(user=request.user, org=request.org)
        return selectors.subscription_list(org=request.org, students=children)
    return selectors.subscription_scoped(membership=request.membership)


def _payments(request: HttpRequest) -> QuerySet[Payment]:
    return selectors.payment_list(org=request.org).filter(account__in=_accounts(request).values("pk"))


# ---- plans -------------------------------------------------------------------------------------


@plans_router.get("", response={200: list[PlanOut], **ERROR_RESPONSES})
@paginate(Pagination)
def plans_list(request: HttpRequest):
    _require_reader(request)
    return selectors.plan_list(org=request.org, active_only=request.role == Role.PARENT)


@plans_router.get("/{pk}", response={200: PlanOut, **ERROR_RESPONSES})
def plans_read(request: HttpRequest, pk: Id):
    _require_reader(request)
    return get_or_404(selectors.plan_list(org=request.org, active_only=request.role == Role.PARENT), pk)


@plans_router.post("", response={201: PlanOut, **ERROR_RESPONSES})
def plans_create(request: HttpRequest, payload: PlanIn):
    require(request, "billing.setup")
    course = get_or_404(Course.objects.filter(organization_id=request.org.pk), payload.course, field="course")
    group = None
    if payload.group is not None:
        group = get_or_404(Group.objects.filter(organization_id=request.org.pk), payload.group, field="group")
    plan = services.plan_create(
        org=request.org,
        name=payload.name,
        kind=payload.kind,
        course=course,
        group=group,
        price=payload.price,
        lessons=payload.lessons,
        valid_days=payload.valid_days,
    )
    return Status(201, selectors.plan_get(org=request.org, pk=plan.pk))


# ---- subscriptions -----------------------------------------------------------------------------


@subscriptions_router.get("", response={200: list[SubscriptionOut], **ERROR_RESPONSES})
@paginate(Pagination)
def subscriptions_list(request: HttpRequest, student: Id | None = None):
    _require_reader(request)
    qs = _subscriptions(request).order_by("-valid_from", "-id")
    if student is not None:
        qs = qs.filter(student_id=student)
    return qs


@subscriptions_router.get("/{pk}", response={200: SubscriptionOut, **ERROR_RESPONSES})
def subscriptions_read(request: HttpRequest, pk: Id):
    _require_reader(request)
    return get_or_404(_subscriptions(request), pk)


@subscriptions_router.post("", response={201: SubscriptionOut, **ERROR_RESPONSES})
def subscriptions_sell(request: HttpRequest, payload: SubscriptionIn):
    """Sells a plan to a child's family: the payer's account is charged the price minus discounts."""
    require(request, "billing.manage")
    student = get_or_404(student_list(membership=request.membership), payload.student, field="student")
    plan = get_or_404(selectors.plan_list(org=request.org), payload.plan, field="plan")
    guardian = None
    if payload.guardian is not None:
        guardian = get_or_404(
            guardian_list(membership=request.membership), payload.guardian, field="guardian"
        )
    subscription = services.subscription_sell(
        org=request.org,
        actor=request.user,
        student=student,
        plan=plan,
        guardian=guardian,
        valid_from=payload.valid_from,
        sibling_discount=payload.sibling_discount,
        promo_code=payload.promo_code,
        manual_discount=payload.manual_discount,
        manual_reason=payload.manual_reason,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201, selectors.subscription_get(membership=request.membership, pk=subscription.pk))


# ---- payments ----------------------------------------------------------------------------------


@payments_router.get("", response={200: list[PaymentOut], **ERROR_RESPONSES})
@paginate(Pagination)
def payments_list(request: HttpRequest, account: Id | None = None):
    _require_reader(request)
    qs = _payments(request)
    if account is not None:
        qs = qs.filter(account_id=account)
    return qs


@payments_router.get("/{pk}", response={200: PaymentOut, **ERROR_RESPONSES})
def payments_read(request: HttpRequest, pk: Id):
    _require_reader(request)
    return get_or_404(_payments(request), pk)


@payments_router.post("", response={201: PaymentOut, **ERROR_RESPONSES})
def payments_take(request: HttpRequest, payload: PaymentIn):
    """Records money received. Retrying with the same `idempotency_key` returns the same payment."""
    require(request, "billing.manage")
    account = get_or_404(
        selectors.account_list(membership=request.membership), payload.account, field="account"
    )
    payment = services.payment_take(
        org=request.org,
        account=account,
        amount=payload.amount,
        method=payload.method,
        note=payload.note,
        actor=request.user,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201, payment)


# ---- balances ----------------------------------------------------------------------------------


@balances_router.get("", response={200: list[BalanceOut], **ERROR_RESPONSES})
@paginate(Pagination)
def balances_list(request: HttpRequest):
    """Family accounts with their balance (the sum of the ledger): negative means the family owes."""
    _require_reader(request)
    return _accounts(request).order_by("guardian__full_name")


@balances_router.get("/{pk}", response={200: BalanceOut, **ERROR_RESPONSES})
def balances_read(request: HttpRequest, pk: Id):
    _require_reader(request)
    return get_or_404(_accounts(request), pk)
