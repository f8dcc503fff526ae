import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kruzhok.billing import selectors, services
from kruzhok.billing.models import LedgerEntry, Payment, PricePlan, Subscription
from kruzhok.billing.tests.helpers import pack_plan, sell

pytestmark = pytest.mark.django_db


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def sold(alpha):
    return sell(alpha, pack_plan(alpha, price="4800", name="Восемь занятий"))


# ---------------------------------------------------------------- selling


def test_a_manager_sells_a_subscription_from_the_childs_page(client_as, alpha):
    plan = pack_plan(alpha, price="4800", name="Восемь занятий")
    client = client_as(alpha.manager)
    detail = client.get(reverse("school:student_detail", args=[alpha.student.pk]))
    assert f"/billing/sell/?student={alpha.student.pk}" in page(detail)
    form = client.get(reverse("billing:sell") + f"?student={alpha.student.pk}")
    assert "Восемь занятий" in page(form)
    data = {
        "student": alpha.student.pk,
        "plan": plan.pk,
        "guardian": alpha.guardian.pk,
        "valid_from": dt.date.today().isoformat(),
        "idempotency_key": "sell-1",
    }
    response = client.post(reverse("billing:sell"), data)
    assert response.status_code == 302
    client.post(reverse("billing:sell"), data)  # a double click
    assert Subscription.objects.count() == 1
    account = Subscription.objects.get().account
    shown = client.get(response.url.split("#")[0])
    assert "−4" in page(shown) or "-4" in page(shown)
    assert selectors.account_balance(account=account) == Decimal("-4800.00")


def test_an_expired_promo_code_shows_a_russian_message(client_as, alpha):
    plan = pack_plan(alpha)
    services.promo_create(
        org=alpha.org, code="OLD", percent=5, valid_until=dt.date.today() - dt.timedelta(days=3)
    )
    response = client_as(alpha.manager).post(
        reverse("billing:sell"),
        {
            "student": alpha.student.pk,
            "plan": plan.pk,
            "guardian": alpha.guardian.pk,
            "valid_from": dt.date.today().isoformat(),
            "promo_code": "old",
            "idempotency_key": "x",
        },
    )
    assert response.status_code == 200
    assert "Срок действия промокода истёк" in page(response)
    assert not Subscription.objects.exists()


def test_the_sell_page_is_404_for_a_child_of_another_organisation(client_as, alpha, beta):
    response = client_as(beta.manager).get(reverse("billing:sell") + f"?student={alpha.student.pk}")
    assert response.status_code == 404


def test_a_manager_of_another_branch_gets_404_for_the_child(client_as, alpha):
    alpha.branch.managers.remove(alpha.manager)
    alpha.other_branch.managers.add(alpha.manager)
    response = client_as(alpha.manager).get(reverse("billing:sell") + f"?student={alpha.student.pk}")
    assert response.status_code == 404


# ---------------------------------------------------------------- payments


def test_a_manager_takes_a_payment_once_even_when_double_clicked(client_as, alpha, sold):
    client = client_as(alpha.manager)
    url = reverse("billing:payment_take", args=[sold.account_id])
    data = {"amount": "4 800,00", "method": "card", "idempotency_key": "pay-1"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Payment.objects.count() == 1
    assert selectors.account_balance(account=sold.account) == Decimal("0.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-100", "не может быть отрицательной"),
        ("abc", "Введите сумму числом"),
        ("<script>", "Введите сумму числом"),
        ("0", "больше нуля"),
        ("99999999999", "Слишком большая"),
    ],
)
def test_a_bad_payment_amount_is_shown_not_saved(client_as, alpha, sold, amount, message):
    response = client_as(alpha.manager).post(
        reverse("billing:payment_take", args=[sold.account_id]),
        {"amount": amount, "method": "cash", "idempotency_key": "k"},
    )
    assert response.status_code == 400
    assert message in page(response)
    assert "<script>" not in page(response).split("<body")[1].replace("&lt;script&gt;", "")
    assert not Payment.objects.exists()


def test_a_refund_above_the_payment_is_refused_on_the_page(client_as, alpha, sold):
    payment = services.payment_take(
        org=alpha.org, account=sold.account, amount="1000", method="cash", actor=None, idempotency_key="p"
    )
    response = client_as(alpha.owner).post(
        reverse("billing:refund", args=[payment.pk]),
        {"amount": "1500", "reason": "Переезд", "idempotency_key": "r"},
    )
    assert "Нельзя вернуть больше, чем заплачено" in page(response)
    ok = client_as(alpha.owner).post(
        reverse("billing:refund", args=[payment.pk]),
        {"amount": "400", "reason": "Переезд", "idempotency_key": "r2"},
    )
    assert ok.status_code == 302
    assert selectors.account_balance(account=sold.account) == Decimal("-4200.00")


def test_a_manager_may_not_refund(client_as, alpha, sold):
    payment = services.payment_take(
        org=alpha.org, account=sold.account, amount="1000", method="cash", actor=None, idempotency_key="p"
    )
    assert client_as(alpha.manager).get(reverse("billing:refund", args=[payment.pk])).status_code == 403


def test_the_owner_corrects_an_entry_with_a_reversing_one(client_as, alpha, sold):
    charge = LedgerEntry.objects.get(kind="charge")
    response = client_as(alpha.owner).post(
        reverse("billing:entry_reverse", args=[charge.pk]), {"reason": "ошибка"}
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.count() == 2
    assert selectors.account_balance(account=sold.account) == 0


def test_a_freeze_from_the_page_extends_validity(client_as, alpha, sold):
    start = sold.valid_from
    response = client_as(alpha.manager).post(
        reverse("billing:freeze", args=[sold.pk]),
        {
            "start_date": start.isoformat(),
            "end_date": (start + dt.timedelta(days=4)).isoformat(),
            "reason": "Болезнь",
        },
    )
    assert response.status_code == 302
    sold.refresh_from_db()
    assert sold.frozen_days == 5


def test_freeze_with_dates_backwards_is_refused(client_as, alpha, sold):
    start = sold.valid_from
    response = client_as(alpha.manager).post(
        reverse("billing:freeze", args=[sold.pk]),
        {
            "start_date": start.isoformat(),
            "end_date": (start - dt.timedelta(days=4)).isoformat(),
            "reason": "x",
        },
    )
    assert "Дата окончания раньше даты начала" in page(response)


# ---------------------------------------------------------------- lists


def test_the_debtors_list_shows_families_in_debt(client_as, alpha, sold):
    response = client_as(alpha.manager).get(reverse("billing:debtors"))
    assert alpha.guardian.full_name in page(response)
    services.payment_take(
        org=alpha.org, account=sold.account, amount="4800", method="cash", actor=None, idempotency_key="p"
    )
    response = client_as(alpha.manager).get(reverse("billing:debtors"))
    assert alpha.guardian.full_name not in page(response)


def test_the_ending_list_shows_subscriptions_running_out(client_as, alpha):
    sell(alpha, pack_plan(alpha, lessons=2, name="Два занятия"))
    response = client_as(alpha.owner).get(reverse("billing:ending"))
    assert "Два занятия" in page(response)
    response = client_as(alpha.owner).get(reverse("billing:ending") + "?days=abc")
    assert response.status_code == 200


def test_the_owner_creates_a_plan_and_a_zero_lesson_plan_is_refused(client_as, alpha):
    client = client_as(alpha.owner)
    bad = client.post(
        reverse("billing:plan_create"),
        {"name": "Пустой", "kind": "pack", "course": alpha.course.pk, "price": "100", "lessons": "0"},
    )
    assert "хотя бы одно занятие" in page(bad)
    good = client.post(
        reverse("billing:plan_create"),
        {"name": "Месяц", "kind": "monthly", "course": alpha.course.pk, "price": "5200", "lessons": ""},
    )
    assert good.status_code == 302
    assert PricePlan.objects.get(name="Месяц").lessons == 4


def test_the_owner_changes_the_write_off_rule(client_as, alpha):
    response = client_as(alpha.owner).post(
        reverse("billing:settings"), {"sibling_discount_percent": "15", "renewal_days": "5"}
    )
    assert response.status_code == 302
    row = services.billing_settings_for(org=alpha.org)
    assert row.writeoff_unexcused_absence is False and row.sibling_discount_percent == 15


# ---------------------------------------------------------------- the parent's page


def test_a_parent_sees_the_balance_and_lessons_left(client_as, alpha, sold):
    services.payment_take(
        org=alpha.org, account=sold.account, amount="1000", method="cash", actor=None, idempotency_key="p"
    )
    response = client_as(alpha.parent).get(reverse("billing:family"))
    body = page(response)
    assert response.status_code == 200
    assert "Восемь занятий" in body and "осталось 8 занятий" in body
    assert "3" in body and "800,00" in body  # −3 800,00 ₽
    home = client_as(alpha.parent).get(reverse("family:home"))
    assert reverse("billing:family") in page(home)


def test_a_parent_of_another_family_sees_nothing_of_it(client_as, alpha, beta, sold):
    response = client_as(beta.parent).get(reverse("billing:family"))
    assert alpha.guardian.full_name not in page(response) and "Восемь занятий" not in page(response)


# ---------------------------------------------------------------- access


@pytest.mark.parametrize(
    "name",
    [
        "billing:account",
        "billing:payment_take",
        "billing:freeze",
        "billing:entry_reverse",
        "billing:refund",
        "billing:plan_toggle",
    ],
)
def test_other_organisations_staff_get_404(client_as, alpha, beta, sold, name):
    payment = services.payment_take(
        org=alpha.org, account=sold.account, amount="10", method="cash", actor=None, idempotency_key="p"
    )
    arg = {
        "billing:account": sold.account_id,
        "billing:payment_take": sold.account_id,
        "billing:freeze": sold.pk,
        "billing:entry_reverse": LedgerEntry.objects.filter(kind="charge").get().pk,
        "billing:refund": payment.pk,
        "billing:plan_toggle": sold.plan_id,
    }[name]
    client = client_as(beta.owner)
    if name != "billing:plan_toggle":
        assert client.get(reverse(name, args=[arg])).status_code == 404
    if name != "billing:account":
        assert client.post(reverse(name, args=[arg])).status_code == 404


@pytest.mark.parametrize("role", ["teacher", "parent", "student"])
def test_lower_roles_get_403_on_staff_pages(client_as, alpha, sold, role):
    client = client_as(alpha.user(role))
    for url in [
        reverse("billing:accounts"),
        reverse("billing:debtors"),
        reverse("billing:account", args=[sold.account_id]),
        reverse("billing:sell") + f"?student={alpha.student.pk}",
    ]:
        assert client.get(url).status_code == 403, url


def test_staff_get_403_on_the_parents_page(client_as, alpha):
    assert client_as(alpha.manager).get(reverse("billing:family")).status_code == 403


def test_a_manager_cannot_create_plans(client_as, alpha):
    assert client_as(alpha.manager).get(reverse("billing:plan_create")).status_code == 403
    assert client_as(alpha.manager).get(reverse("billing:plans")).status_code == 200


# ---------------------------------------------------------------- receipts


def test_staff_and_the_family_download_a_receipt(client_as, alpha, beta, sold):
    payment = services.payment_take(
        org=alpha.org,
        account=sold.account,
        amount="4800",
        method="card",
        actor=alpha.manager,
        idempotency_key="p",
    )
    response = client_as(alpha.manager).get(reverse("billing:receipt", args=[payment.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    family = client_as(alpha.parent).get(reverse("billing:family_receipt", args=[payment.pk]))
    assert family.status_code == 200 and family.content.startswith(b"%PDF")
    assert client_as(beta.parent).get(reverse("billing:family_receipt", args=[payment.pk])).status_code == 404
    assert client_as(beta.owner).get(reverse("billing:receipt", args=[payment.pk])).status_code == 404
    assert client_as(alpha.teacher).get(reverse("billing:receipt", args=[payment.pk])).status_code == 403


def test_revenue_by_month_and_by_course(client_as, alpha, beta, sold):
    services.payment_take(
        org=alpha.org, account=sold.account, amount="3000", method="cash", actor=None, idempotency_key="p"
    )
    client = client_as(alpha.owner)
    by_month = page(client.get(reverse("billing:revenue")))
    assert "4\xa0800,00" in by_month and "3\xa0000,00" in by_month
    by_course = page(client.get(reverse("billing:revenue") + "?by=course"))
    assert alpha.course.title in by_course
    bad = client.get(reverse("billing:revenue") + "?by=<script>&date_from=abc")
    assert bad.status_code == 200
    assert alpha.course.title not in page(
        client_as(beta.owner).get(reverse("billing:revenue") + "?by=course")
    )


def test_children_attending_without_a_subscription_are_listed(client_as, alpha, beta):
    response = client_as(alpha.manager).get(reverse("billing:ending"))
    assert "Занимаются без абонемента" in page(response)
    assert alpha.student.full_name in page(response)
    sell(alpha, pack_plan(alpha))
    assert alpha.student.full_name not in page(client_as(alpha.manager).get(reverse("billing:ending")))
    assert alpha.student.full_name not in page(client_as(beta.manager).get(reverse("billing:ending")))
