"""Billing writes: plans, sales, payments, refunds, freezes, corrections and lesson write-offs.

Every money movement is a LedgerEntry with an idempotency key unique per organisation: the database,
not the caller, guarantees that a retried request, a double click or two workers racing on the same
attendance mark post at most once. A losing racer gets IntegrityError inside a savepoint and returns
what the winner wrote.
"""

import calendar
import datetime as dt
import logging
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.billing.models import (
    Account,
    BillingSettings,
    EntryKind,
    LedgerEntry,
    MakeupLesson,
    MakeupStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PlanKind,
    PricePlan,
    PromoCode,
    Subscription,
    SubscriptionFreeze,
    SubscriptionStatus,
)
from kruzhok.lib import events
from kruzhok.lib.dates import org_timezone, org_today
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Course,
    Enrollment,
    Group,
    Guardian,
    Lesson,
    LessonStatus,
    Student,
    StudentGuardian,
)

logger = logging.getLogger(__name__)

KOPECK = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999.99")
ZERO = Decimal("0.00")
REASON_MAX = 300
MAX_FREEZE_DAYS = 90
# Lessons per month a monthly plan covers when the owner leaves the number empty.
WEEKS_PER_MONTH = 4
DEFAULT_VALID_DAYS = {PlanKind.PACK: 30, PlanKind.MONTHLY: 30, PlanKind.SINGLE: 30, PlanKind.TRIAL: 14}


# ---------------------------------------------------------------- helpers


def _local_day(moment: dt.datetime | None, org) -> dt.date:
    try:
        zone = ZoneInfo(org.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo(django_settings.TIME_ZONE)
    return timezone.localtime(moment or timezone.now(), zone).date()


def to_money(value, *, allow_zero: bool = False) -> Decimal:
    """Parses an amount in roubles into an exact Decimal with kopecks; refuses floats' cousins
    (NaN, infinity, a third decimal place) instead of rounding money silently."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", ".").replace(" ", "").replace("\xa0", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            _("Введите сумму числом, например 4500 или 4500,50."), code="invalid_amount"
        ) from None
    if not amount.is_finite():
        raise ValidationError(_("Введите сумму числом, например 4500 или 4500,50."), code="invalid_amount")
    if amount < 0:
        raise ValidationError(_("Сумма не может быть отрицательной."), code="negative_amount")
    if amount == 0 and not allow_zero:
        raise ValidationError(_("Сумма должна быть больше нуля."), code="zero_amount")
    if amount != amount.quantize(KOPECK):
        raise ValidationError(
            _("В сумме не больше двух знаков после запятой (копейки)."), code="invalid_amount"
        )
    if amount > MAX_AMOUNT:
        raise ValidationError(_("Слишком большая сумма."), code="amount_too_large")
    return amount.quantize(KOPECK)


def _clean_reason(reason: str | None, *, required: bool = True) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError(_("Укажите причину."), code="reason_required")
    if len(reason) > REASON_MAX:
        raise ValidationError(
            _("Слишком длинный текст: не больше %(max)d символов."),
            code="reason_too_long",
            params={"max": REASON_MAX},
        )
    return reason


def _untranslated(label) -> str:
    """The Russian msgid behind a choice label (`label` is called untranslated): a ledger note is stored
    this way and worded for each reader by LedgerEntry.note_shown."""
    with translation.override(None):
        return str(label())


def _same_org(org_id: int, *objects) -> None:
    for obj in objects:
        if obj is not None and obj.organization_id != org_id:
            raise ValidationError(_("Объект из другой организации."), code="wrong_org")


def _balance(account_id: int) -> Decimal:
    total = LedgerEntry.objects.filter(account_id=account_id).aggregate(total=Coalesce(Sum("amount"), ZERO))[
        "total"
    ]
    return Decimal(total).quantize(KOPECK)


def _post(
    *, account: Account, kind: str, key: str, occurred_on: dt.date, actor=None, **fields
) -> LedgerEntry:
    entry = LedgerEntry(
        organization_id=account.organization_id,
        account=account,
        kind=kind,
        idempotency_key=key,
        occurred_on=occurred_on,
        actor=actor,
        **fields,
    )
    entry.amount = Decimal(entry.amount).quantize(KOPECK)
    entry.full_clean(
        exclude=[
            "organization",
            "account",
            "subscription",
            "payment",
            "attendance_mark",
            "lesson",
            "student",
            "reverses",
            "actor",
        ],
        validate_unique=False,
        validate_constraints=False,
    )
    entry.save()
    return entry


def _publish_debt_if_opened(account: Account, before: Decimal) -> None:
    after = _balance(account.pk)
    if before >= 0 > after:
        events.publish(
            "billing.debt_opened",
            organization_id=account.organization_id,
            account_id=account.pk,
            balance=str(after),
        )


# ---------------------------------------------------------------- settings, plans, promo codes


def billing_settings_for(*, org) -> BillingSettings:
    try:
        with transaction.atomic():
            row, _created = BillingSettings.objects.get_or_create(organization_id=org.pk)
    except IntegrityError:
        row = BillingSettings.objects.get(organization_id=org.pk)
    return row


MAKEUP_DAYS_MAX = 180


def billing_settings_update(
    *,
    org,
    writeoff_unexcused_absence: bool,
    sibling_discount_percent: int,
    renewal_days: int,
    makeup_for_excused: bool | None = None,
    makeup_days: int | None = None,
    makeup_same_branch: bool | None = None,
    monthly_prorate: bool | None = None,
) -> BillingSettings:
    """Saves the centre's rules; a rule passed as None keeps its current value."""
    if not 0 <= int(sibling_discount_percent) <= 100:
        raise ValidationError(_("Скидка — от 0 до 100 %."), code="invalid_percent")
    if not 1 <= int(renewal_days) <= 60:
        raise ValidationError(_("Предупреждать — за 1–60 дней."), code="invalid_days")
    if makeup_days is not None and not 1 <= int(makeup_days) <= MAKEUP_DAYS_MAX:
        raise ValidationError(
            _("Срок отработки — от 1 до %(max)d дней."),
            code="invalid_makeup_days",
            params={"max": MAKEUP_DAYS_MAX},
        )
    with transaction.atomic():
        row = billing_settings_for(org=org)
        row.writeoff_unexcused_absence = bool(writeoff_unexcused_absence)
        row.sibling_discount_percent = int(sibling_discount_percent)
        row.renewal_days = int(renewal_days)
        if makeup_for_excused is not None:
            row.makeup_for_excused = bool(makeup_for_excused)
        if makeup_days is not None:
            row.makeup_days = int(makeup_days)
        if makeup_same_branch is not None:
            row.makeup_same_branch = bool(makeup_same_branch)
        if monthly_prorate is not None:
            row.monthly_prorate = bool(monthly_prorate)
        row.full_clean(exclude=["organization"], validate_constraints=False, validate_unique=False)
        row.save()
    return row


def plan_create(
    *,
    org,
    name: str,
    kind: str,
    course: Course,
    price,
    lessons: int | None = None,
    valid_days: int | None = None,
    group: Group | None = None,
) -> PricePlan:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Введите название тарифа."), code="name_required")
    if len(name) > 200:
        raise ValidationError(_("Название слишком длинное."), code="name_too_long")
    if kind not in PlanKind.values:
        raise ValidationError(_("Выберите вид тарифа."), code="invalid_kind")
    if course is None:
        raise ValidationError(_("Выберите курс."), code="course_required")
    _same_org(org.pk, course, group)
    if group is not None and group.course_id != course.pk:
        raise ValidationError(_("Эта группа — не из выбранного курса."), code="group_not_in_course")
    amount = to_money(price, allow_zero=True)
    if kind == PlanKind.PACK and price is not None and amount == 0:
        # A free pack is almost always a typo; a free lesson is a trial.
        raise ValidationError(
            _("Абонемент не может быть бесплатным — для этого есть пробное занятие."), code="zero_price"
        )
    if kind in (PlanKind.SINGLE, PlanKind.TRIAL):
        lessons = 1 if lessons in (None, "") else lessons
    elif kind == PlanKind.MONTHLY and lessons in (None, ""):
        lessons = course.lessons_per_week * WEEKS_PER_MONTH
    try:
        lessons = int(lessons)
    except (TypeError, ValueError):
        raise ValidationError(_("Укажите число занятий."), code="zero_lessons") from None
    if lessons <= 0:
        raise ValidationError(_("В абонементе должно быть хотя бы одно занятие."), code="zero_lessons")
    if lessons > 500:
        raise ValidationError(_("Слишком много занятий в одном абонементе."), code="too_many_lessons")
    if valid_days in (None, ""):
        valid_days = DEFAULT_VALID_DAYS[kind]
    valid_days = int(valid_days)
    if not 1 <= valid_days <= 400:
        raise ValidationError(_("Срок действия — от 1 до 400 дней."), code="invalid_days")
    with transaction.atomic():
        if PricePlan.objects.filter(organization_id=org.pk, name=name).exists():
            raise ValidationError(_("Тариф с таким названием уже есть."), code="duplicate_name")
        plan = PricePlan(
            organization_id=org.pk,
            name=name,
            kind=kind,
            course=course,
            group=group,
            lessons=lessons,
            valid_days=valid_days,
            price=amount,
        )
        plan.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
        plan.save()
    return plan


def plan_set_active(*, plan: PricePlan, is_active: bool) -> PricePlan:
    with transaction.atomic():
        PricePlan.objects.filter(organization_id=plan.organization_id, pk=plan.pk).update(
            is_active=bool(is_active), updated_at=timezone.now()
        )
    plan.is_active = bool(is_active)
    return plan


def promo_create(*, org, code: str, percent: int, valid_until: dt.date) -> PromoCode:
    code = (code or "").strip().upper()
    if not code or len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
        raise ValidationError(_("Промокод — буквы и цифры, до 32 символов."), code="invalid_code")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        raise ValidationError(_("Скидка — от 1 до 100 %."), code="invalid_percent") from None
    if not 1 <= percent <= 100:
        raise ValidationError(_("Скидка — от 1 до 100 %."), code="invalid_percent")
    if valid_until is None:
        raise ValidationError(_("Укажите, до какого числа действует промокод."), code="date_required")
    with transaction.atomic():
        if PromoCode.objects.filter(organization_id=org.pk, code=code).exists():
            raise ValidationError(_("Такой промокод уже есть."), code="duplicate_code")
        promo = PromoCode(organization_id=org.pk, code=code, percent=percent, valid_until=valid_until)
        promo.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
        promo.save()
    return promo


# ---------------------------------------------------------------- accounts and sales


def account_for_guardian(*, guardian: Guardian) -> Account:
    """The guardian's account, opened on first use (safe when two requests open it at once)."""
    existing = Account.objects.filter(organization_id=guardian.organization_id, guardian=guardian).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Account.objects.create(organization_id=guardian.organization_id, guardian=guardian)
    except IntegrityError:
        return Account.objects.get(organization_id=guardian.organization_id, guardian=guardian)


def _payer_for(student: Student, guardian: Guardian | None) -> Guardian:
    links = StudentGuardian.objects.filter(
        organization_id=student.organization_id, student=student
    ).select_related("guardian")
    if guardian is not None:
        if not links.filter(guardian=guardian).exists():
            raise ValidationError(_("Этот взрослый не указан представителем ребёнка."), code="not_a_guardian")
        return guardian
    link = links.order_by("-is_primary", "id").first()
    if link is None:
        raise ValidationError(
            _("У ребёнка нет представителя — сначала добавьте родителя, который будет платить."),
            code="no_guardian",
        )
    return link.guardian


def _enrollment_for(student: Student, plan: PricePlan) -> Enrollment:
    qs = Enrollment.objects.filter(
        organization_id=student.organization_id, student=student, status__in=OPEN_ENROLLMENT_STATUSES
    )
    qs = qs.filter(group=plan.group) if plan.group_id else qs.filter(group__course=plan.course_id)
    enrollment = qs.select_related("group").order_by("-started_on").first()
    if enrollment is None:
        raise ValidationError(
            _("Ребёнок не записан в группу этого курса — сначала запишите его."), code="not_enrolled"
        )
    return enrollment


def _has_sibling_subscription(account: Account, student: Student, on_date: dt.date) -> bool:
    return (
        Subscription.objects.filter(
            organization_id=account.organization_id,
            account=account,
            status=SubscriptionStatus.ACTIVE,
            valid_to__gte=on_date,
        )
        .exclude(student=student)
        .exists()
    )


def _month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def _group_lessons_between(*, org, group_id: int, first: dt.date, last: dt.date) -> int:
    zone = org_timezone(org)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return (
        Lesson.objects.filter(
            organization_id=org.pk, group_id=group_id, starts_at__gte=start, starts_at__lt=end
        )
        .exclude(status=LessonStatus.CANCELLED)
        .count()
    )


def monthly_terms(
    *, org, plan: PricePlan, group_id: int, start: dt.date, prorate: bool
) -> tuple[dt.date, dt.date, Decimal, int]:
    """A monthly subscription covers one calendar month: the month of `start`, from the 1st (or from
    `start` when the centre prorates) to its last day. Prorated, the price is the share of the month's
    days left, to the kopeck. Its lessons are the group's lessons scheduled in those days (cancelled
    ones excluded); before lessons are generated, the plan's lessons per month, prorated the same way."""
    first, last = _month_bounds(start)
    month_days = (last - first).days + 1
    valid_from = start if prorate and start != first else first
    days = (last - valid_from).days + 1
    price = plan.price
    if days != month_days:
        price = (plan.price * days / month_days).quantize(KOPECK, rounding=ROUND_HALF_UP)
    lessons = _group_lessons_between(org=org, group_id=group_id, first=valid_from, last=last)
    if lessons == 0:
        lessons = max(1, math.ceil(plan.lessons * days / month_days))
    return valid_from, last, price, lessons


def subscription_sell(
    *,
    org,
    actor,
    student: Student,
    plan: PricePlan,
    guardian: Guardian | None = None,
    valid_from: dt.date | None = None,
    sibling_discount: bool = False,
    promo_code: str = "",
    manual_discount=None,
    manual_reason: str = "",
    idempotency_key: str = "",
    sold_on: dt.date | None = None,
    enrollment: Enrollment | None = None,
) -> Subscription:
    """Sells `plan` to the child's family: the account is charged the price and credited each
    discount as its own entry. With an idempotency key a repeated submit returns the first sale.
    `sold_on` (default: today) is for back-filling history, e.g. the demo network."""
    _same_org(org.pk, student, plan, guardian)
    idempotency_key = (idempotency_key or "").strip()[:80]
    if idempotency_key:
        done = (
            LedgerEntry.objects.filter(
                organization_id=org.pk, idempotency_key=f"sale:{idempotency_key}:charge"
            )
            .select_related("subscription")
            .first()
        )
        if done is not None:
            return done.subscription
    if not plan.is_active:
        raise ValidationError(_("Этот тариф больше не продаётся."), code="plan_inactive")
    today = sold_on or org_today(org)
    valid_from = valid_from or today
    if valid_from < today - dt.timedelta(days=31):
        raise ValidationError(_("Дата начала — не раньше чем месяц назад."), code="invalid_date")
    payer = _payer_for(student, guardian)
    if enrollment is None or enrollment.student_id != student.pk:
        enrollment = _enrollment_for(student, plan)
    account = account_for_guardian(guardian=payer)
    billing = billing_settings_for(org=org)
    if plan.kind == PlanKind.MONTHLY:
        valid_from, valid_to, price, lessons = monthly_terms(
            org=org,
            plan=plan,
            group_id=plan.group_id or enrollment.group_id,
            start=valid_from,
            prorate=billing.monthly_prorate,
        )
    else:
        valid_to = valid_from + dt.timedelta(days=plan.valid_days - 1)
        price, lessons = plan.price, plan.lessons

    percent = 0
    discounts: list[tuple[str, Decimal, str]] = []
    if sibling_discount:
        if not _has_sibling_subscription(account, student, valid_from):
            raise ValidationError(
                _(
                    "Скидка для братьев и сестёр — только если у другого ребёнка семьи есть действующий абонемент."
                ),
                code="no_sibling",
            )
        percent += billing.sibling_discount_percent
        sibling_percent = billing.sibling_discount_percent
    promo = None
    code = (promo_code or "").strip().upper()
    if code:
        promo = PromoCode.objects.filter(organization_id=org.pk, code=code).first()
        if promo is None:
            raise ValidationError(_("Такого промокода нет."), code="promo_unknown")
        if not promo.is_active or promo.valid_until < today:
            raise ValidationError(
                _("Срок действия промокода истёк %(date)s."),
                code="promo_expired",
                params={"date": promo.valid_until.strftime("%d.%m.%Y")},
            )
        percent += promo.percent
    if sibling_discount and sibling_percent:
        discounts.append(
            (
                "sibling",
                (price * sibling_percent / 100).quantize(KOPECK),
                f"Скидка для братьев и сестёр {sibling_percent} %",
            )
        )
    if promo is not None:
        discounts.append(
            (
                "promo",
                (price * promo.percent / 100).quantize(KOPECK),
                f"Промокод {promo.code} ({promo.percent} %)",
            )
        )
    if manual_discount not in (None, ""):
        manual = to_money(manual_discount)
        reason = _clean_reason(manual_reason)
        discounts.append(("manual", manual, reason))
    total_discount = sum((d[1] for d in discounts), ZERO)
    if total_discount > price or percent > 100:
        raise ValidationError(_("Скидка больше цены абонемента."), code="discount_too_large")

    with transaction.atomic():
        # The account row is the lock every money movement of this family takes first.
        account = Account.objects.select_for_update().get(pk=account.pk)
        before = _balance(account.pk)
        subscription = Subscription(
            organization_id=org.pk,
            account=account,
            student=student,
            plan=plan,
            course_id=plan.course_id,
            group_id=plan.group_id or enrollment.group_id,
            enrollment=enrollment,
            kind=plan.kind,
            lessons_total=lessons,
            price=price,
            valid_days=(valid_to - valid_from).days + 1,
            valid_from=valid_from,
            valid_to=valid_to,
            sold_by=actor,
        )
        subscription.full_clean(
            exclude=[
                "organization",
                "account",
                "student",
                "plan",
                "course",
                "group",
                "enrollment",
                "sold_by",
            ],
            validate_unique=False,
            validate_constraints=False,
        )
        subscription.save()
        key = idempotency_key or f"sub{subscription.pk}"
        try:
            with transaction.atomic():
                _post(
                    account=account,
                    kind=EntryKind.CHARGE,
                    key=f"sale:{key}:charge",
                    occurred_on=today,
                    actor=actor,
                    amount=-price,
                    lessons=lessons,
                    subscription=subscription,
                    student=student,
                    note=plan.name,
                )
        except IntegrityError:
            # A double submit won the race: undo our subscription row and hand back the first sale.
            transaction.set_rollback(True)
            first = None
        else:
            first = subscription
            for label, amount, note in discounts:
                if amount > 0:
                    _post(
                        account=account,
                        kind=EntryKind.DISCOUNT,
                        key=f"sale:{key}:{label}",
                        occurred_on=today,
                        actor=actor,
                        amount=amount,
                        subscription=subscription,
                        student=student,
                        note=note,
                    )
            _publish_debt_if_opened(account, before)
    if first is None:
        return LedgerEntry.objects.get(
            organization_id=org.pk, idempotency_key=f"sale:{key}:charge"
        ).subscription
    return first


def subscription_freeze(
    *, subscription: Subscription, start_date: dt.date, end_date: dt.date, reason: str, actor
) -> SubscriptionFreeze:
    """Pauses a subscription for illness or holidays: its validity is extended by the frozen days."""
    reason = _clean_reason(reason)
    if start_date is None or end_date is None:
        raise ValidationError(_("Укажите даты заморозки."), code="dates_required")
    if end_date < start_date:
        raise ValidationError(_("Дата окончания раньше даты начала."), code="invalid_dates")
    days = (end_date - start_date).days + 1
    if days > MAX_FREEZE_DAYS:
        raise ValidationError(
            _("Заморозка — не дольше %(max)d дней."), code="freeze_too_long", params={"max": MAX_FREEZE_DAYS}
        )
    with transaction.atomic():
        current = Subscription.objects.select_for_update().get(
            organization_id=subscription.organization_id, pk=subscription.pk
        )
        if current.status != SubscriptionStatus.ACTIVE:
            raise ValidationError(_("Абонемент аннулирован."), code="not_active")
        if not current.valid_from <= start_date <= current.valid_to:
            raise ValidationError(
                _("Заморозка должна начинаться в срок действия абонемента."), code="outside_validity"
            )
        if current.freezes.filter(start_date__lte=end_date, end_date__gte=start_date).exists():
            raise ValidationError(_("На эти дни абонемент уже заморожен."), code="overlap")
        freeze = SubscriptionFreeze(
            organization_id=current.organization_id,
            subscription=current,
            start_date=start_date,
            end_date=end_date,
            reason=reason,
            actor=actor,
        )
        freeze.full_clean(exclude=["organization", "subscription", "actor"], validate_constraints=False)
        freeze.save()
        current.valid_to = current.valid_to + dt.timedelta(days=days)
        current.frozen_days = current.frozen_days + days
        current.save(update_fields=["valid_to", "frozen_days", "updated_at"])
        events.publish(
            "billing.subscription_frozen",
            organization_id=current.organization_id,
            subscription_id=current.pk,
            student_id=current.student_id,
            days=days,
        )
    subscription.valid_to, subscription.frozen_days = current.valid_to, current.frozen_days
    return freeze


# ---------------------------------------------------------------- payments, refunds, corrections


def _same_payment(payment: Payment, account: Account, amount: Decimal, method: str) -> Payment:
    if payment.account_id != account.pk or payment.amount != amount or payment.method != method:
        raise ValidationError(
            _("Этот платёж уже проведён с другими данными. Обновите страницу и проверьте историю."),
            code="idempotency_conflict",
        )
    return payment


def payment_take(
    *,
    org,
    account: Account,
    amount,
    method: str,
    actor,
    idempotency_key: str,
    note: str = "",
    status: str = PaymentStatus.SUCCEEDED,
    external_id: str = "",
    paid_at: dt.datetime | None = None,
) -> Payment:
    """Records money received. The same idempotency key always yields the same payment and one
    credit, however often the form is submitted or the webhook retried."""
    _same_org(org.pk, account)
    amount = to_money(amount)
    if method not in PaymentMethod.values:
        raise ValidationError(_("Выберите способ оплаты."), code="invalid_method")
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 80:
        raise ValidationError(_("Нет ключа платежа — обновите страницу."), code="idempotency_key_required")
    note = _clean_reason(note, required=False)
    existing = Payment.objects.filter(organization_id=org.pk, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_payment(existing, account, amount, method)
    try:
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=account.pk)
            payment = Payment(
                organization_id=org.pk,
                account=locked,
                method=method,
                amount=amount,
                status=status,
                idempotency_key=idempotency_key,
                external_id=external_id,
                note=note,
                paid_at=(paid_at or timezone.now()) if status == PaymentStatus.SUCCEEDED else None,
                taken_by=actor,
            )
            payment.full_clean(
                exclude=["organization", "account", "taken_by"],
                validate_unique=False,
                validate_constraints=False,
            )
            payment.save()
            if status == PaymentStatus.SUCCEEDED:
                _credit_payment(payment, actor)
    except IntegrityError:
        existing = Payment.objects.filter(organization_id=org.pk, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _same_payment(existing, account, amount, method)
    return payment


def _credit_payment(payment: Payment, actor) -> LedgerEntry:
    return _post(
        account=payment.account,
        kind=EntryKind.PAYMENT,
        key=f"payment:{payment.pk}",
        occurred_on=_local_day(payment.paid_at, payment.account.organization),
        actor=actor,
        amount=payment.amount,
        payment=payment,
        note=_untranslated(payment.get_method_display),
    )


def payment_confirm(*, payment: Payment, external_id: str = "") -> Payment:
    """Marks a pending (online) payment as paid and credits it once; a replay changes nothing."""
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(
            organization_id=payment.organization_id, pk=payment.pk
        )
        if current.status == PaymentStatus.SUCCEEDED:
            return current
        current.status = PaymentStatus.SUCCEEDED
        current.paid_at = timezone.now()
        if external_id:
            current.external_id = external_id[:80]
        current.save(update_fields=["status", "paid_at", "external_id", "updated_at"])
        _credit_payment(current, None)
    return current


def payment_refunded_total(*, payment: Payment) -> Decimal:
    total = (
        LedgerEntry.objects.filter(
            organization_id=payment.organization_id,
            payment=payment,
            kind__in=[EntryKind.REFUND, EntryKind.CORRECTION],
        )
        .exclude(reverses__kind=EntryKind.PAYMENT)
        .aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    )
    return -Decimal(total).quantize(KOPECK)


def payment_refund(*, payment: Payment, amount, actor, reason: str, idempotency_key: str) -> LedgerEntry:
    """Returns money from a payment to the family; never more than was paid minus earlier refunds."""
    amount = to_money(amount)
    reason = _clean_reason(reason)
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 80:
        raise ValidationError(_("Нет ключа операции — обновите страницу."), code="idempotency_key_required")
    key = f"refund:{idempotency_key}"
    done = LedgerEntry.objects.filter(organization_id=payment.organization_id, idempotency_key=key).first()
    if done is not None:
        return done
    with transaction.atomic():
        current = (
            Payment.objects.select_for_update()
            .select_related("account__organization")
            .get(organization_id=payment.organization_id, pk=payment.pk)
        )
        if current.status != PaymentStatus.SUCCEEDED:
            raise ValidationError(_("Вернуть можно только проведённый платёж."), code="payment_not_paid")
        left = current.amount - payment_refunded_total(payment=current)
        if amount > left:
            raise ValidationError(
                _("Нельзя вернуть больше, чем заплачено: доступно %(left)s ₽."),
                code="refund_too_large",
                params={"left": f"{left:.2f}"},
            )
        entry = _post(
            account=current.account,
            kind=EntryKind.REFUND,
            key=key,
            occurred_on=org_today(current.account.organization),
            actor=actor,
            amount=-amount,
            payment=current,
            note=reason,
        )
    return entry


def entry_reverse(*, entry: LedgerEntry, actor, reason: str) -> LedgerEntry:
    """Cancels an entry by posting its mirror image; the original stays in the history."""
    reason = _clean_reason(reason)
    if entry.kind == EntryKind.CORRECTION:
        raise ValidationError(
            _("Исправление нельзя исправить — проведите новую операцию."), code="cannot_reverse"
        )
    if entry.kind == EntryKind.PAYMENT:
        raise ValidationError(_("Оплату отменяют возвратом."), code="use_refund")
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("organization").get(pk=entry.account_id)
        if LedgerEntry.objects.filter(organization_id=entry.organization_id, reverses=entry).exists():
            raise ValidationError(_("Эта операция уже исправлена."), code="already_reversed")
        before = _balance(account.pk)
        try:
            with transaction.atomic():
                correction = _post(
                    account=account,
                    kind=EntryKind.CORRECTION,
                    key=f"reverse:{entry.pk}",
                    occurred_on=org_today(account.organization),
                    actor=actor,
                    amount=-entry.amount,
                    lessons=-entry.lessons,
                    subscription_id=entry.subscription_id,
                    payment_id=entry.payment_id,
                    attendance_mark_id=entry.attendance_mark_id,
                    lesson_id=entry.lesson_id,
                    student_id=entry.student_id,
                    reverses=entry,
                    note=reason,
                )
        except IntegrityError:
            raise ValidationError(_("Эта операция уже исправлена."), code="already_reversed") from None
        # Reversing a sale voids the subscription: its lessons are no longer the family's.
        if entry.kind == EntryKind.CHARGE and entry.subscription_id:
            Subscription.objects.filter(pk=entry.subscription_id).update(
                status=SubscriptionStatus.CANCELLED, updated_at=timezone.now()
            )
        _publish_debt_if_opened(account, before)
    return correction


# ---------------------------------------------------------------- write-offs from attendance

BILLABLE_ALWAYS = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


def _is_billable(mark: AttendanceMark, billing: BillingSettings) -> bool:
    if mark.lesson.status == LessonStatus.CANCELLED:
        return False
    if mark.status in BILLABLE_ALWAYS:
        return True
    return mark.status == AttendanceStatus.ABSENT and billing.writeoff_unexcused_absence


def _lesson_day(mark: AttendanceMark, org) -> dt.date:
    return _local_day(mark.lesson.starts_at, org)


def _subscription_for(mark: AttendanceMark, day: dt.date, group: Group | None = None) -> Subscription | None:
    group = group or mark.lesson.group
    candidates = (
        Subscription.objects.filter(
            organization_id=mark.organization_id,
            student_id=mark.student_id,
            status=SubscriptionStatus.ACTIVE,
            valid_from__lte=day,
            valid_to__gte=day,
        )
        .filter(Q(group_id=group.pk) | Q(group__isnull=True, course_id=group.course_id))
        .annotate(left=Coalesce(Sum("entries__lessons"), 0))
        .filter(left__gt=0)
        .order_by("valid_to", "id")
    )
    for candidate in candidates:
        # Locked and recounted: two marks racing for the last lesson must not both take it.
        locked = Subscription.objects.select_for_update().get(pk=candidate.pk)
        left = LedgerEntry.objects.filter(subscription=locked).aggregate(t=Coalesce(Sum("lessons"), 0))["t"]
        if left > 0:
            return locked
    return None


def _single_price(mark: AttendanceMark, group: Group | None = None) -> Decimal:
    group = group or mark.lesson.group
    plan = (
        PricePlan.objects.filter(
            organization_id=mark.organization_id,
            kind=PlanKind.SINGLE,
            is_active=True,
            course_id=group.course_id,
        )
        .filter(Q(group_id=group.pk) | Q(group__isnull=True))
        .order_by(F("group_id").asc(nulls_last=True))  # a group's own price wins over the course's
        .first()
    )
    return plan.price if plan is not None else ZERO


def writeoff_sync_mark(*, mark_id: int, organization_id: int) -> LedgerEntry | None:
    """Brings the ledger in line with one attendance mark: a billable mark has exactly one open
    write-off, any other mark has none. Safe to call any number of times, from any number of workers."""
    with transaction.atomic():
        mark = (
            AttendanceMark.objects.select_for_update()
            .filter(organization_id=organization_id, pk=mark_id)
            .first()
        )
        if mark is None:
            return None
        mark = AttendanceMark.objects.select_related(
            "lesson__group", "organization", "student", "enrollment"
        ).get(pk=mark.pk)
        org = mark.organization
        billing = billing_settings_for(org=org)
        open_entries = LedgerEntry.objects.filter(
            organization_id=organization_id,
            attendance_mark_id=mark.pk,
            kind=EntryKind.WRITEOFF,
            reversed_by__isnull=True,
        )
        current = open_entries.first()
        makeup = None
        if _is_guest(mark):
            # A guest is billed only through a live make-up booking, and only when they came.
            makeup = _live_makeup(mark)
            billable = makeup is not None and mark.status in BILLABLE_ALWAYS
        else:
            billable = _is_billable(mark, billing) and not _written_off_by_makeup(mark)
        if billable:
            if current is not None:
                return current
            if makeup is not None:
                return _write_off_makeup(mark, makeup, org)
            return _write_off(mark, org)
        if current is None:
            return None
        account = Account.objects.select_for_update().get(pk=current.account_id)
        try:
            with transaction.atomic():
                return _post(
                    account=account,
                    kind=EntryKind.CORRECTION,
                    key=f"reverse:{current.pk}",
                    occurred_on=org_today(org),
                    amount=-current.amount,
                    lessons=-current.lessons,
                    subscription_id=current.subscription_id,
                    attendance_mark_id=mark.pk,
                    lesson_id=current.lesson_id,
                    student_id=current.student_id,
                    reverses=current,
                    note=gettext_noop("Отметка изменена: занятие не списывается"),
                )
        except IntegrityError:
            return None


def _is_guest(mark: AttendanceMark) -> bool:
    """A child marked on a lesson of a group that is not theirs came for a make-up."""
    return mark.enrollment.group_id != mark.lesson.group_id


def _live_makeup(mark: AttendanceMark) -> MakeupLesson | None:
    return (
        MakeupLesson.objects.filter(
            organization_id=mark.organization_id,
            lesson_id=mark.lesson_id,
            student_id=mark.student_id,
            status=MakeupStatus.BOOKED,
        )
        .select_related("missed_mark__lesson__group")
        .first()
    )


def _written_off_by_makeup(mark: AttendanceMark) -> bool:
    """True when a make-up visit already wrote this missed lesson off (the mark changed later)."""
    return (
        LedgerEntry.objects.filter(
            organization_id=mark.organization_id,
            kind=EntryKind.WRITEOFF,
            lesson_id=mark.lesson_id,
            student_id=mark.student_id,
            reversed_by__isnull=True,
        )
        .exclude(attendance_mark_id=mark.pk)
        .exists()
    )


def _write_off_makeup(visit: AttendanceMark, makeup: MakeupLesson, org) -> LedgerEntry | None:
    """The make-up visit writes off the missed lesson (once for the pair), from the subscription that
    covered the missed day; a missed lesson already written off on its own is not charged again."""
    missed = makeup.missed_mark
    if LedgerEntry.objects.filter(
        organization_id=org.pk,
        kind=EntryKind.WRITEOFF,
        lesson_id=missed.lesson_id,
        student_id=missed.student_id,
        reversed_by__isnull=True,
    ).exists():
        return None
    missed_day = _lesson_day(missed, org)
    note = f"Отработка занятия {missed_day:%d.%m.%Y}"
    # The subscription that covered the missed day pays; if none did (bought later), the one of the visit day.
    return _write_off(
        visit,
        org,
        days=(missed_day, _lesson_day(visit, org)),
        group=missed.lesson.group,
        lesson_id=missed.lesson_id,
        note=note,
    )


def _write_off(
    mark: AttendanceMark,
    org,
    *,
    days: tuple[dt.date, ...] = (),
    group: Group | None = None,
    lesson_id: int | None = None,
    note: str = "",
) -> LedgerEntry | None:
    """Posts the write-off of one billable mark: a lesson of the subscription valid on the first of
    `days` that has one (default: the lesson's day), else the single-lesson price."""
    day = _lesson_day(mark, org)
    subscription = None
    for candidate_day in days or (day,):
        subscription = _subscription_for(mark, candidate_day, group)
        if subscription is not None:
            break
    if subscription is not None:
        account = Account.objects.select_for_update().get(pk=subscription.account_id)
        amount, lessons, note = ZERO, -1, note or subscription.plan.name
    else:
        link = (
            StudentGuardian.objects.filter(organization_id=org.pk, student_id=mark.student_id)
            .select_related("guardian")
            .order_by("-is_primary", "id")
            .first()
        )
        if link is None:
            logger.warning("mark %s: child has no guardian, lesson not billed", mark.pk)
            return None
        account = Account.objects.select_for_update().get(pk=account_for_guardian(guardian=link.guardian).pk)
        amount, lessons = -_single_price(mark, group), 0
        note = note or gettext_noop("Занятие без абонемента")
    before = _balance(account.pk)
    generation = LedgerEntry.objects.filter(
        organization_id=org.pk, attendance_mark_id=mark.pk, kind=EntryKind.WRITEOFF
    ).count()
    try:
        with transaction.atomic():
            entry = _post(
                account=account,
                kind=EntryKind.WRITEOFF,
                key=f"writeoff:{mark.pk}:{generation}",
                occurred_on=day,
                amount=amount,
                lessons=lessons,
                subscription=subscription,
                attendance_mark=mark,
                lesson_id=lesson_id or mark.lesson_id,
                student_id=mark.student_id,
                note=note,
            )
    except IntegrityError:
        return None
    if amount < 0:
        _publish_debt_if_opened(account, before)
    return entry


# ---------------------------------------------------------------- renewals (a daily job)


def renewals_scan(*, org, today: dt.date | None = None) -> dict[str, int]:
    """Publishes what the early-warning engine reads: `billing.renewal_due` for each subscription about
    to run out (by date or by lessons) with no renewal bought yet, and `billing.renewal_missed` for
    each one that expired yesterday without a renewal. Run once a day (`manage.py billing_renewals`)."""
    today = today or org_today(org)
    billing = billing_settings_for(org=org)
    base = Subscription.objects.filter(organization_id=org.pk, status=SubscriptionStatus.ACTIVE).annotate(
        left=Coalesce(Sum("entries__lessons"), 0)
    )
    renewed = Subscription.objects.filter(
        organization_id=org.pk,
        status=SubscriptionStatus.ACTIVE,
        student_id=OuterRef("student_id"),
        course_id=OuterRef("course_id"),
        valid_from__gt=OuterRef("valid_from"),
    )
    base = base.annotate(renewed=Exists(renewed)).filter(renewed=False)
    due = base.filter(valid_to__gte=today).filter(
        Q(valid_to__lte=today + dt.timedelta(days=billing.renewal_days)) | Q(left__lte=2)
    )
    missed = base.filter(valid_to=today - dt.timedelta(days=1))
    counts = {"due": 0, "missed": 0}
    for sub in due:
        events.publish(
            "billing.renewal_due",
            organization_id=org.pk,
            subscription_id=sub.pk,
            student_id=sub.student_id,
            valid_to=sub.valid_to.isoformat(),
            lessons_left=sub.left,
        )
        counts["due"] += 1
    for sub in missed:
        events.publish(
            "billing.renewal_missed",
            organization_id=org.pk,
            subscription_id=sub.pk,
            student_id=sub.student_id,
            valid_to=sub.valid_to.isoformat(),
        )
        counts["missed"] += 1
    return counts
