"""Billing: price plans, subscriptions (абонементы), payments and an append-only ledger per family.

No balance or "lessons used" counter is stored anywhere: a family's balance is the sum of its
LedgerEntry.amount, a subscription's used lessons are the sum of its write-off entries. Entries are
never edited or deleted; a mistake is undone by a reversing entry (`reverses`), and every entry
carries an idempotency key that is unique per organisation, so a retry can never post twice.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned, TimeStamped

MONEY = {"max_digits": 12, "decimal_places": 2}
CURRENCY_RUB = "RUB"
CURRENCIES = [(CURRENCY_RUB, "₽")]


class BillingSettings(TenantOwned):
    """The centre's billing rules; one row per organisation, created on first use."""

    writeoff_unexcused_absence = models.BooleanField(
        _("списывать занятие при неуважительном пропуске"), default=True
    )
    sibling_discount_percent = models.PositiveSmallIntegerField(
        _("скидка для братьев и сестёр, %"), default=10
    )
    renewal_days = models.PositiveSmallIntegerField(_("предупреждать об окончании за, дней"), default=7)
    # Make-up lessons (отработки): a missed lesson is attended later in another group of the course.
    makeup_for_excused = models.BooleanField(
        _("пропуск по уважительной причине можно отработать"), default=True
    )
    makeup_days = models.PositiveSmallIntegerField(_("отработать в течение, дней"), default=30)
    makeup_same_branch = models.BooleanField(_("отработка только в группах своего филиала"), default=False)
    # A monthly subscription bought after the 1st costs only the days left in the month.
    monthly_prorate = models.BooleanField(
        _("помесячный абонемент с середины месяца — за оставшиеся дни"), default=False
    )

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="billing_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(sibling_discount_percent__lte=100), name="billing_sibling_percent_valid"
            ),
            models.CheckConstraint(
                condition=Q(makeup_days__gte=1, makeup_days__lte=180), name="billing_makeup_days_valid"
            ),
        ]


class PlanKind(models.TextChoices):
    PACK = "pack", _("Абонемент на N занятий")
    MONTHLY = "monthly", _("Помесячный")
    SINGLE = "single", _("Разовое занятие")
    TRIAL = "trial", _("Пробное занятие")


class PricePlan(TenantOwned):
    name = models.CharField(_("название"), max_length=200)
    kind = models.CharField(_("вид"), max_length=16, choices=PlanKind.choices, default=PlanKind.PACK)
    # A plan is for one course (any of its groups) or for one group; a group plan wins over a course plan.
    course = models.ForeignKey(
        "school.Course", on_delete=models.PROTECT, related_name="price_plans", verbose_name=_("курс")
    )
    group = models.ForeignKey(
        "school.Group",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="price_plans",
        verbose_name=_("группа"),
    )
    lessons = models.PositiveSmallIntegerField(_("занятий"), default=8)
    valid_days = models.PositiveSmallIntegerField(_("действует, дней"), default=30)
    price = models.DecimalField(_("цена"), **MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=CURRENCY_RUB)
    is_active = models.BooleanField(_("продаётся"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["course_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="billing_plan_name_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="billing_plan_price_not_negative"),
            models.CheckConstraint(condition=Q(lessons__gt=0), name="billing_plan_lessons_positive"),
            models.CheckConstraint(condition=Q(valid_days__gt=0), name="billing_plan_days_positive"),
            models.CheckConstraint(condition=Q(currency="RUB"), name="billing_plan_currency_rub"),
        ]

    def __str__(self) -> str:
        return self.name


class PromoCode(TenantOwned):
    code = models.CharField(_("промокод"), max_length=32)
    percent = models.PositiveSmallIntegerField(_("скидка, %"))
    valid_until = models.DateField(_("действует до"))
    is_active = models.BooleanField(_("действует"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-valid_until", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="billing_promo_code_unique"),
            models.CheckConstraint(
                condition=Q(percent__gte=1, percent__lte=100), name="billing_promo_percent_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Account(TenantOwned):
    """A family's account: one per guardian who pays; may pay for several children."""

    guardian = models.OneToOneField(
        "school.Guardian", on_delete=models.PROTECT, related_name="billing_account"
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=CURRENCY_RUB)

    class Meta(TenantOwned.Meta):
        ordering = ["guardian__full_name"]

    def __str__(self) -> str:
        return str(self.guardian)


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Действует")
    CANCELLED = "cancelled", _("Аннулирован")


class Subscription(TenantOwned):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="subscriptions")
    student = models.ForeignKey("school.Student", on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="subscriptions")
    course = models.ForeignKey("school.Course", on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(
        "school.Group", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enrollment = models.ForeignKey(
        "school.Enrollment", on_delete=models.SET_NULL, null=True, blank=True, related_name="subscriptions"
    )
    # Facts of the sale, copied from the plan so that a later change of the plan never rewrites them.
    kind = models.CharField(max_length=16, choices=PlanKind.choices)
    lessons_total = models.PositiveSmallIntegerField(_("занятий"))
    price = models.DecimalField(_("цена"), **MONEY)
    valid_days = models.PositiveSmallIntegerField()
    valid_from = models.DateField(_("с"))
    valid_to = models.DateField(_("по"))
    frozen_days = models.PositiveSmallIntegerField(_("заморожено, дней"), default=0)
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["organization", "student", "valid_to"])]
        constraints = [
            models.CheckConstraint(condition=Q(lessons_total__gt=0), name="billing_sub_lessons_positive"),
            models.CheckConstraint(condition=Q(price__gte=0), name="billing_sub_price_not_negative"),
            models.CheckConstraint(
                condition=Q(valid_from__lte=F("valid_to")), name="billing_sub_dates_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.plan}"


class SubscriptionFreeze(TenantOwned):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="freezes")
    start_date = models.DateField(_("с"))
    end_date = models.DateField(_("по"))
    reason = models.CharField(_("причина"), max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=F("end_date")), name="billing_freeze_dates_valid"
            )
        ]

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1


class MakeupStatus(models.TextChoices):
    BOOKED = "booked", _("Записан")
    CANCELLED = "cancelled", _("Отменена")


class MakeupLesson(TenantOwned):
    """A make-up (отработка): the child missed `missed_mark`'s lesson for a good reason and comes to
    `lesson` of another group of the same course instead. Whether it was used is read from the
    child's mark on that lesson, never stored; the visit writes off the missed lesson, not a new one."""

    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="makeups")
    missed_mark = models.ForeignKey(
        "attendance.AttendanceMark", on_delete=models.CASCADE, related_name="makeups"
    )
    lesson = models.ForeignKey("school.Lesson", on_delete=models.CASCADE, related_name="makeup_visits")
    expires_on = models.DateField(_("отработать до"))
    status = models.CharField(max_length=16, choices=MakeupStatus.choices, default=MakeupStatus.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lesson", "student"])]
        constraints = [
            # One live booking per missed lesson and one per child and lesson: a double click books once.
            models.UniqueConstraint(
                fields=["missed_mark"], condition=Q(status="booked"), name="billing_makeup_one_per_miss"
            ),
            models.UniqueConstraint(
                fields=["lesson", "student"],
                condition=Q(status="booked"),
                name="billing_makeup_one_per_visit",
            ),
        ]


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Наличные")
    CARD = "card", _("Карта")
    TRANSFER = "transfer", _("Перевод")
    ONLINE = "online", _("Онлайн")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Ожидает оплаты")
    SUCCEEDED = "succeeded", _("Оплачен")
    FAILED = "failed", _("Не прошёл")


class Payment(TenantOwned):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("способ"), max_length=16, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("сумма"), **MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=CURRENCY_RUB)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    idempotency_key = models.CharField(max_length=80)
    external_id = models.CharField(max_length=80, blank=True)
    note = models.CharField(_("комментарий"), max_length=300, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="billing_payment_idem_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class EntryKind(models.TextChoices):
    PAYMENT = "payment", _("Оплата")
    REFUND = "refund", _("Возврат")
    CHARGE = "charge", _("Продажа абонемента")
    WRITEOFF = "writeoff", _("Списание занятия")
    DISCOUNT = "discount", _("Скидка")
    CORRECTION = "correction", _("Исправление")


class LedgerEntry(TenantOwned):
    """One immutable line of a family's account. `amount` is money (+ credits the family, − debits it);
    `lessons` is the change to the subscription's lessons (+N on sale, −1 per write-off)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=CURRENCY_RUB)
    lessons = models.SmallIntegerField(default=0)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    # The mark a write-off came from: the mark row stays the source of truth for "was the lesson attended".
    attendance_mark = models.ForeignKey(
        "attendance.AttendanceMark", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lesson = models.ForeignKey(
        "school.Lesson", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    student = models.ForeignKey(
        "school.Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    idempotency_key = models.CharField(max_length=120)
    note = models.CharField(max_length=300, blank=True)
    occurred_on = models.DateField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["account", "occurred_on"]),
            models.Index(fields=["subscription", "kind"]),
            models.Index(fields=["attendance_mark"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="billing_entry_idem_unique"
            ),
            models.CheckConstraint(condition=Q(currency="RUB"), name="billing_entry_currency_rub"),
            # Signs by kind, so no bug can post a payment that takes money away.
            models.CheckConstraint(
                condition=~Q(kind="payment") | Q(amount__gt=0), name="billing_entry_payment_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind="refund") | Q(amount__lt=0), name="billing_entry_refund_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind="discount") | Q(amount__gt=0), name="billing_entry_discount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind="correction") | Q(reverses__isnull=False),
                name="billing_correction_reverses",
            ),
        ]

    @property
    def note_shown(self) -> str:
        """A note the system wrote (a payment method, «Занятие без абонемента») is stored as its Russian
        msgid and worded for the reader; a person's own reason has no msgid and is shown as typed."""
        return gettext(self.note) if self.note else ""


class WebhookEvent(TimeStamped):
    """Each provider notification accepted once: a replayed webhook hits the unique event id and
    changes nothing. Not tenant-owned: the organisation is known only after the payload is checked."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="billing_webhook_once"),
        ]
