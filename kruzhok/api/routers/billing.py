"""Billing: price plans, subscriptions, payments, balances and make-up lessons (отработки).

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
from kruzhok.api.schemas import BranchRef, CourseRef, Day, GroupRef, Id, InSchema, Name, StudentRef, Text
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import makeups, selectors, services
from kruzhok.billing.models import Account, MakeupLesson, Payment, Subscription
from kruzhok.school.models import Course, Group, Lesson, Student
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


# ---- make-up lessons (отработки) ---------------------------------------------------------------

makeups_router = Router(tags=["billing"])


class MakeupLessonOut(Schema):
    id: int
    starts_at: dt.datetime
    group: GroupRef
    course: CourseRef
    branch: BranchRef

    @staticmethod
    def resolve_course(obj):
        return obj.group.course

    @staticmethod
    def resolve_branch(obj):
        return obj.group.branch


class MakeupAvailableOut(Schema):
    missed_mark_id: int = Field(description="the excused absence; book it with POST /makeups")
    student: StudentRef
    missed_lesson: MakeupLessonOut
    expires_on: dt.date = Field(description="the last day a make-up lesson may take place")

    @staticmethod
    def resolve_missed_mark_id(obj) -> int:
        return obj.pk

    @staticmethod
    def resolve_missed_lesson(obj):
        return obj.lesson


class MakeupOut(Schema):
    id: int
    student: StudentRef
    missed_mark_id: int
    missed_lesson: MakeupLessonOut
    lesson: MakeupLessonOut
    expires_on: dt.date
    status: Literal["booked", "cancelled"]
    state: Literal["upcoming", "used", "missed", "cancelled"] = Field(
        description="read from the child's mark on the make-up lesson: upcoming, used (came), "
        "missed (did not come), cancelled"
    )
    state_label: str

    @staticmethod
    def resolve_missed_lesson(booking):
        return booking.missed_mark.lesson


class MakeupBookIn(InSchema):
    missed_mark: Id = Field(description="`missed_mark_id` from GET /makeups/available")
    lesson: Id = Field(description="a lesson of another group of the same course (GET …/options)")


def _with_state(org, bookings) -> list[MakeupLesson]:
    """The bookings, each with `state` and `state_label` read from the visit marks (one query)."""
    rows = makeups.makeup_rows_for(org=org, bookings=bookings)
    for row in rows:
        row.booking.state, row.booking.state_label = row.state, row.label
    return [row.booking for row in rows]


class _MakeupPage:
    """Bookings whose state is worked out only for the page asked for: the paginator takes the
    length and one slice."""

    def __init__(self, org, bookings: QuerySet[MakeupLesson]):
        self.org = org
        self.bookings = bookings

    def __len__(self) -> int:
        return self.bookings.count()

    def __getitem__(self, page: slice) -> list[MakeupLesson]:
        return _with_state(self.org, self.bookings[page])


def _makeup_students(request: HttpRequest, student: int | None = None) -> QuerySet[Student]:
    """The children whose make-ups the caller sees (a parent: their own; a teacher or a student: 403);
    `student` narrows it to one of them, and a child outside that scope is a 404."""
    _require_reader(request)
    if request.role == Role.PARENT:
        children = selectors.family_children(user=request.user, org=request.org)
    else:
        children = student_list(membership=request.membership)
    if student is None:
        return children
    return Student.objects.filter(pk=get_or_404(children, student, field="student").pk)


def _makeup_out(request: HttpRequest, booking_pk: int) -> MakeupLesson:
    return _with_state(request.org, makeups.makeup_list(org=request.org).filter(pk=booking_pk))[0]


def _missed_mark(request: HttpRequest, pk: int, *, field: str | None = None) -> AttendanceMark:
    """An attendance mark of a child the staff member works with (as the make-ups page resolves it)."""
    students = student_list(membership=request.membership).values("pk")
    marks = AttendanceMark.objects.filter(organization_id=request.org.pk, student__in=students)
    return get_or_404(
        marks.select_related("lesson__group__course", "lesson__group__branch", "student", "enrollment"),
        pk,
        field=field,
    )


@makeups_router.get("/available", response={200: list[MakeupAvailableOut], **ERROR_RESPONSES})
@paginate(Pagination)
def makeups_available(request: HttpRequest, student: Id | None = None):
    """Missed lessons that may still be made up (excused, within the centre's window, not booked),
    the soonest to expire first. Empty when the centre gives no make-ups."""
    children = _makeup_students(request, student)
    return makeups.makeups_available(org=request.org, students=children.values("pk"))


@makeups_router.get("/available/{pk}/options", response={200: list[MakeupLessonOut], **ERROR_RESPONSES})
@paginate(Pagination)
def makeups_options(request: HttpRequest, pk: Id):
    """Lessons the missed one (`pk` = its `missed_mark_id`) may be made up in: other groups of the
    same course (of the same branch if the centre says so), not cancelled, until the window closes."""
    require(request, "billing.manage")
    return makeups.makeup_options(mark=_missed_mark(request, pk), org=request.org)


@makeups_router.get("", response={200: list[MakeupOut], **ERROR_RESPONSES})
@paginate(Pagination)
def makeups_list(request: HttpRequest, student: Id | None = None):
    """Make-up bookings, the latest make-up lesson first."""
    children = _makeup_students(request, student)
    return _MakeupPage(request.org, makeups.makeup_list(org=request.org, students=children.values("pk")))


@makeups_router.get("/{pk}", response={200: MakeupOut, **ERROR_RESPONSES})
def makeups_read(request: HttpRequest, pk: Id):
    children = _makeup_students(request)
    booking = get_or_404(makeups.makeup_list(org=request.org, students=children.values("pk")), pk)
    return _with_state(request.org, [booking])[0]


@makeups_router.post("", response={201: MakeupOut, **ERROR_RESPONSES})
def makeups_book(request: HttpRequest, payload: MakeupBookIn):
    """Books the make-up of an excused absence into a lesson of another group, under the centre's
    rules; a rule that refuses answers with its code (`not_excused`, `makeup_expired`, `wrong_branch`…)."""
    require(request, "billing.manage")
    mark = _missed_mark(request, payload.missed_mark, field="missed_mark")
    lesson = get_or_404(
        Lesson.objects.filter(organization_id=request.org.pk).select_related("group"),
        payload.lesson,
        field="lesson",
    )
    booking = makeups.makeup_book(org=request.org, actor=request.user, mark=mark, lesson=lesson)
    return Status(201, _makeup_out(request, booking.pk))


@makeups_router.post("/{pk}/cancel", response={200: MakeupOut, **ERROR_RESPONSES})
def makeups_cancel(request: HttpRequest, pk: Id):
    """Cancels a booking not used yet; the missed lesson may then be booked again within its window.
    Cancelling a cancelled booking changes nothing."""
    require(request, "billing.manage")
    booking = get_or_404(makeups.makeup_scope(membership=request.membership), pk)
    makeups.makeup_cancel(makeup=booking, actor=request.user)
    return _makeup_out(request, booking.pk)
