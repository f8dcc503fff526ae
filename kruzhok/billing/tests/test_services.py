import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import selectors, services
from kruzhok.billing.checks import ledger_problems
from kruzhok.billing.models import EntryKind, LedgerEntry, Payment
from kruzhok.billing.tests.helpers import extra_lesson, key, pack_plan, sell
from kruzhok.school.models import StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def codes(exc_info) -> list[str]:
    return [e.code for e in exc_info.value.error_list]


def balance(world):
    account = services.account_for_guardian(guardian=world.guardian)
    return selectors.account_balance(account=account)


# ---------------------------------------------------------------- plans


def test_a_plan_with_zero_lessons_is_refused(alpha):
    with pytest.raises(ValidationError) as exc:
        pack_plan(alpha, lessons=0)
    assert codes(exc) == ["zero_lessons"]


@pytest.mark.parametrize(
    ("price", "code"),
    [
        ("-1", "negative_amount"),
        ("abc", "invalid_amount"),
        ("1.005", "invalid_amount"),
        ("NaN", "invalid_amount"),
        ("1e12", "amount_too_large"),
    ],
)
def test_a_plan_with_a_bad_price_is_refused(alpha, price, code):
    with pytest.raises(ValidationError) as exc:
        pack_plan(alpha, price=price)
    assert codes(exc) == [code]


def test_a_trial_lesson_may_be_free_and_has_one_lesson(alpha):
    plan = services.plan_create(org=alpha.org, name="Пробное", kind="trial", course=alpha.course, price="0")
    assert plan.lessons == 1 and plan.price == Decimal("0.00")


def test_a_plan_for_another_organisations_course_is_refused(alpha, beta):
    with pytest.raises(ValidationError) as exc:
        services.plan_create(org=alpha.org, name="X", kind="pack", course=beta.course, price="100", lessons=4)
    assert codes(exc) == ["wrong_org"]


# ---------------------------------------------------------------- sales and discounts


def test_selling_a_subscription_charges_the_family(alpha):
    sub = sell(alpha, pack_plan(alpha, price="4800"))
    assert sub.lessons_total == 8 and sub.valid_to == sub.valid_from + dt.timedelta(days=29)
    assert balance(alpha) == Decimal("-4800.00")
    assert selectors.subscription_list(org=alpha.org, student=alpha.student).get().lessons_left == 8


def test_a_repeated_sale_with_the_same_key_sells_once(alpha):
    plan = pack_plan(alpha)
    first = sell(alpha, plan, idempotency_key="form-1")
    second = sell(alpha, plan, idempotency_key="form-1")
    assert first.pk == second.pk
    assert LedgerEntry.objects.filter(kind=EntryKind.CHARGE).count() == 1


def test_a_promo_code_gives_its_discount(alpha):
    services.promo_create(
        org=alpha.org, code="осень", percent=10, valid_until=dt.date.today() + dt.timedelta(days=5)
    )
    sell(alpha, pack_plan(alpha, price="5000"), promo_code="ОСЕНЬ")
    assert balance(alpha) == Decimal("-4500.00")


def test_an_expired_promo_code_is_refused_and_nothing_is_written(alpha):
    services.promo_create(
        org=alpha.org, code="LETO", percent=10, valid_until=dt.date.today() - dt.timedelta(days=1)
    )
    with pytest.raises(ValidationError) as exc:
        sell(alpha, pack_plan(alpha), promo_code="leto")
    assert codes(exc) == ["promo_expired"]
    assert not LedgerEntry.objects.exists()


def test_an_unknown_promo_code_is_refused(alpha):
    with pytest.raises(ValidationError) as exc:
        sell(alpha, promo_code="NOPE")
    assert codes(exc) == ["promo_unknown"]


def test_a_manual_discount_needs_a_reason(alpha):
    with pytest.raises(ValidationError) as exc:
        sell(alpha, manual_discount="500")
    assert codes(exc) == ["reason_required"]
    sell(alpha, pack_plan(alpha, price="3000"), manual_discount="500", manual_reason="Многодетная семья")
    assert balance(alpha) == Decimal("-2500.00")


def test_a_discount_above_the_price_is_refused(alpha):
    with pytest.raises(ValidationError) as exc:
        sell(alpha, pack_plan(alpha, price="1000"), manual_discount="1500", manual_reason="ошибка")
    assert codes(exc) == ["discount_too_large"]


def test_a_sibling_discount_needs_a_sibling_with_a_subscription(alpha):
    plan = pack_plan(alpha, price="4000")
    with pytest.raises(ValidationError) as exc:
        sell(alpha, plan, sibling_discount=True)
    assert codes(exc) == ["no_sibling"]
    brother = f.StudentFactory(organization=alpha.org, first_name="Петя", branch=alpha.branch)
    StudentGuardian.objects.create(organization=alpha.org, student=brother, guardian=alpha.guardian)
    f.EnrollmentFactory(organization=alpha.org, student=brother, group=alpha.group)
    services.subscription_sell(org=alpha.org, actor=alpha.manager, student=brother, plan=plan)
    sell(alpha, plan, sibling_discount=True)
    assert balance(alpha) == Decimal("-7600.00")  # 4000 + 4000 − 10 %


def test_a_child_not_in_the_course_cannot_get_its_subscription(alpha):
    other = f.StudentFactory(organization=alpha.org)
    StudentGuardian.objects.create(organization=alpha.org, student=other, guardian=alpha.guardian)
    with pytest.raises(ValidationError) as exc:
        services.subscription_sell(org=alpha.org, actor=alpha.manager, student=other, plan=pack_plan(alpha))
    assert codes(exc) == ["not_enrolled"]


# ---------------------------------------------------------------- payments and refunds


def test_taking_a_payment_twice_with_one_key_credits_once(alpha):
    account = services.account_for_guardian(guardian=alpha.guardian)
    first = services.payment_take(
        org=alpha.org,
        account=account,
        amount="4800",
        method="cash",
        actor=alpha.manager,
        idempotency_key="click",
    )
    second = services.payment_take(
        org=alpha.org,
        account=account,
        amount="4800",
        method="cash",
        actor=alpha.manager,
        idempotency_key="click",
    )
    assert first.pk == second.pk
    assert Payment.objects.count() == 1
    assert balance(alpha) == Decimal("4800.00")


def test_a_reused_key_with_other_data_is_refused(alpha):
    account = services.account_for_guardian(guardian=alpha.guardian)
    services.payment_take(
        org=alpha.org, account=account, amount="100", method="cash", actor=None, idempotency_key="a"
    )
    with pytest.raises(ValidationError) as exc:
        services.payment_take(
            org=alpha.org, account=account, amount="200", method="cash", actor=None, idempotency_key="a"
        )
    assert codes(exc) == ["idempotency_conflict"]


@pytest.mark.parametrize(
    ("amount", "code"), [("-5", "negative_amount"), ("0", "zero_amount"), ("", "invalid_amount")]
)
def test_a_bad_payment_amount_is_refused(alpha, amount, code):
    account = services.account_for_guardian(guardian=alpha.guardian)
    with pytest.raises(ValidationError) as exc:
        services.payment_take(
            org=alpha.org, account=account, amount=amount, method="card", actor=None, idempotency_key=key()
        )
    assert codes(exc) == [code]


def test_a_refund_above_what_was_paid_is_refused(alpha):
    account = services.account_for_guardian(guardian=alpha.guardian)
    payment = services.payment_take(
        org=alpha.org, account=account, amount="1000", method="card", actor=None, idempotency_key=key()
    )
    services.payment_refund(
        payment=payment, amount="600", actor=alpha.owner, reason="Переезд", idempotency_key="r1"
    )
    services.payment_refund(
        payment=payment, amount="600", actor=alpha.owner, reason="Переезд", idempotency_key="r1"
    )
    with pytest.raises(ValidationError) as exc:
        services.payment_refund(
            payment=payment, amount="500", actor=alpha.owner, reason="ещё", idempotency_key="r2"
        )
    assert codes(exc) == ["refund_too_large"]
    assert balance(alpha) == Decimal("400.00")


def test_a_correction_reverses_an_entry_and_keeps_the_original(alpha):
    sub = sell(alpha, pack_plan(alpha, price="2000"))
    charge = LedgerEntry.objects.get(kind=EntryKind.CHARGE)
    services.entry_reverse(entry=charge, actor=alpha.owner, reason="Продали по ошибке")
    assert balance(alpha) == Decimal("0.00")
    assert LedgerEntry.objects.count() == 2
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    with pytest.raises(ValidationError) as exc:
        services.entry_reverse(entry=charge, actor=alpha.owner, reason="ещё раз")
    assert codes(exc) == ["already_reversed"]


# ---------------------------------------------------------------- freezes


def test_a_freeze_extends_the_validity(alpha):
    sub = sell(alpha)
    old_to = sub.valid_to
    services.subscription_freeze(
        subscription=sub,
        start_date=sub.valid_from,
        end_date=sub.valid_from + dt.timedelta(days=6),
        reason="Болезнь",
        actor=alpha.manager,
    )
    sub.refresh_from_db()
    assert sub.valid_to == old_to + dt.timedelta(days=7) and sub.frozen_days == 7
    with pytest.raises(ValidationError) as exc:
        services.subscription_freeze(
            subscription=sub,
            start_date=sub.valid_from + dt.timedelta(days=3),
            end_date=sub.valid_from + dt.timedelta(days=8),
            reason="Ещё",
            actor=alpha.manager,
        )
    assert codes(exc) == ["overlap"]
    assert ledger_problems() == []


# ---------------------------------------------------------------- write-offs from attendance


def mark(world, status, lesson=None, *, capture):
    with capture(execute=True):
        return attendance_mark(
            lesson=lesson or world.lesson, student=world.student, status=status, actor=world.teacher
        )


def lessons_left(world):
    return selectors.subscription_list(org=world.org, student=world.student).get().lessons_left


def test_an_attended_lesson_is_written_off_once(alpha, django_capture_on_commit_callbacks):
    sell(alpha)
    mark(alpha, "present", capture=django_capture_on_commit_callbacks)
    mark(alpha, "late", capture=django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 7
    m = alpha.lesson.marks.get()
    services.writeoff_sync_mark(mark_id=m.pk, organization_id=alpha.org.pk)
    assert lessons_left(alpha) == 7


def test_an_excused_absence_reverses_the_write_off(alpha, django_capture_on_commit_callbacks):
    sell(alpha)
    mark(alpha, "present", capture=django_capture_on_commit_callbacks)
    mark(alpha, "excused", capture=django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 8
    mark(alpha, "present", capture=django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 7
    assert ledger_problems() == []


def test_an_unexcused_absence_follows_the_centres_rule(alpha, django_capture_on_commit_callbacks):
    sell(alpha)
    mark(alpha, "absent", capture=django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 7
    services.billing_settings_update(
        org=alpha.org, writeoff_unexcused_absence=False, sibling_discount_percent=10, renewal_days=7
    )
    mark(alpha, "absent", capture=django_capture_on_commit_callbacks)  # the same mark, re-saved
    assert lessons_left(alpha) == 8


def test_a_lesson_without_a_subscription_is_billed_at_the_single_price(
    alpha, django_capture_on_commit_callbacks
):
    services.plan_create(org=alpha.org, name="Разовое", kind="single", course=alpha.course, price="700")
    mark(alpha, "present", capture=django_capture_on_commit_callbacks)
    assert balance(alpha) == Decimal("-700.00")


def test_the_last_lesson_of_a_pack_is_not_written_off_twice(alpha, django_capture_on_commit_callbacks):
    sell(alpha, pack_plan(alpha, lessons=1))
    older = extra_lesson(alpha, days_ago=1)
    mark(alpha, "present", older, capture=django_capture_on_commit_callbacks)
    mark(alpha, "present", capture=django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 0
    assert ledger_problems() == []


# ---------------------------------------------------------------- the ledger invariant


def test_every_balance_is_the_sum_of_its_entries_over_generated_history(
    alpha, django_capture_on_commit_callbacks
):
    rng = random.Random(7)
    account = services.account_for_guardian(guardian=alpha.guardian)
    plan = pack_plan(alpha, price="3990.50", lessons=30, valid_days=120)
    sell(alpha, plan)
    lessons = [extra_lesson(alpha, days_ago=d) for d in range(1, 12)]
    expected = Decimal("-3990.50")
    for i in range(60):
        action = rng.choice(["pay", "refund", "mark", "sell"])
        if action == "pay":
            amount = Decimal(rng.randint(1, 500000)) / 100
            services.payment_take(
                org=alpha.org,
                account=account,
                amount=amount,
                method="card",
                actor=None,
                idempotency_key=f"p{i}",
            )
            expected += amount
        elif action == "refund" and Payment.objects.exists():
            payment = Payment.objects.order_by("?").first()
            try:
                services.payment_refund(
                    payment=payment, amount="1.01", actor=None, reason="тест", idempotency_key=f"r{i}"
                )
                expected -= Decimal("1.01")
            except ValidationError:
                pass
        elif action == "mark":
            status = rng.choice(["present", "late", "absent", "excused"])
            mark(alpha, status, rng.choice(lessons), capture=django_capture_on_commit_callbacks)
        elif action == "sell":
            sell(alpha, plan)
            expected -= Decimal("3990.50")
    total = LedgerEntry.objects.filter(account=account).aggregate(t=Sum("amount"))["t"]
    assert selectors.account_balance(account=account) == total == expected
    assert ledger_problems() == []


# ---------------------------------------------------------------- billing_check and renewals


def test_billing_check_reports_a_tampered_subscription(alpha):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from kruzhok.billing.models import Subscription

    sub = sell(alpha)
    Subscription.objects.filter(pk=sub.pk).update(lessons_total=12)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("billing_check", stdout=out)
    assert f"subscription {sub.pk}: lessons_total 12 != sold 8" in out.getvalue()


def test_renewals_scan_publishes_due_and_missed(alpha, django_capture_on_commit_callbacks):
    from kruzhok.lib import events

    seen = []

    def listener(**payload):
        seen.append(payload)

    events.subscribe("billing.renewal_due", listener)
    events.subscribe("billing.renewal_missed", listener)
    try:
        sub = sell(alpha, pack_plan(alpha, lessons=2))
        old = sell(alpha, pack_plan(alpha), valid_from=dt.date.today() - dt.timedelta(days=30))
        with django_capture_on_commit_callbacks(execute=True):
            counts = services.renewals_scan(org=alpha.org, today=old.valid_to + dt.timedelta(days=1))
    finally:
        events._subscribers["billing.renewal_due"].remove(listener)
        events._subscribers["billing.renewal_missed"].remove(listener)
    assert counts == {"due": 1, "missed": 0}  # the older one was renewed by the newer sale
    assert any(p["subscription_id"] == sub.pk for p in seen)


def test_a_sale_on_credit_publishes_debt_opened_and_a_freeze_publishes_frozen(
    alpha, django_capture_on_commit_callbacks
):
    from kruzhok.lib import events

    seen = []

    def listener(**payload):
        seen.append(payload)

    events.subscribe("billing.debt_opened", listener)
    events.subscribe("billing.subscription_frozen", listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sub = sell(alpha, pack_plan(alpha, price="1000"))
            services.subscription_freeze(
                subscription=sub,
                start_date=sub.valid_from,
                end_date=sub.valid_from,
                reason="Болезнь",
                actor=None,
            )
    finally:
        events._subscribers["billing.debt_opened"].remove(listener)
        events._subscribers["billing.subscription_frozen"].remove(listener)
    assert {"organization_id": alpha.org.pk, "account_id": sub.account_id, "balance": "-1000.00"} in seen
    assert any(p.get("subscription_id") == sub.pk and p.get("days") == 1 for p in seen)


def test_the_renewals_command_runs_over_every_organisation(alpha, beta):
    from io import StringIO

    from django.core.management import call_command

    sell(alpha, pack_plan(alpha, lessons=1))
    out = StringIO()
    call_command("billing_renewals", stdout=out)
    assert "renewal due: 1" in out.getvalue()
