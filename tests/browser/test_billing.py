"""Billing in a real browser: a manager sells a subscription and takes a payment; a parent sees the balance."""

import pytest

from kruzhok.billing import services
from kruzhok.billing.models import Payment, Subscription
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plan(alpha):
    services.plan_create(
        org=alpha.org, name="Пробное бесплатно", kind="trial", course=alpha.course, price="0"
    )
    return services.plan_create(
        org=alpha.org,
        name="8 занятий",
        kind="pack",
        course=alpha.course,
        price="4800",
        lessons=8,
        valid_days=30,
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_manager_sells_a_subscription_and_takes_a_payment(new_page, snap, alpha, plan, viewport):
    size = "phone" if viewport is PHONE else "desktop"
    page = new_page(viewport=viewport)
    page.set_default_navigation_timeout(30_000)  # the shared machine can be slow to serve the first page
    login(page, "alpha_manager")
    page.goto(f"/school/students/{alpha.student.pk}/")
    page.get_by_role("link", name="Продать абонемент").click()
    page.get_by_label("Тариф").select_option(str(plan.pk))
    page.get_by_label("Скидка вручную, ₽").fill("300")
    page.get_by_label("Причина скидки").fill("Постоянный клиент")
    snap(page, f"billing-sell-{size}")
    page.get_by_role("button", name="Продать").click()
    page.wait_for_load_state()
    assert "продан" in page.locator(".messages").inner_text()
    assert "4\xa0500,00" in page.get_by_test_id("balance").inner_text()
    assert page.get_by_label("Сумма, ₽").input_value() == "4500.00"
    page.get_by_label("Способ").select_option("card")
    snap(page, f"billing-account-{size}")
    page.get_by_role("button", name="Принять оплату").click()
    page.wait_for_load_state()
    assert "Оплата 4\xa0500,00 ₽ принята" in page.locator(".messages").inner_text()
    assert "0,00" in page.get_by_test_id("balance").inner_text()
    snap(page, f"billing-account-paid-{size}")
    assert Subscription.objects.count() == 1 and Payment.objects.count() == 1

    services.subscription_sell(
        org=alpha.org,
        actor=alpha.manager,
        student=alpha.student,
        plan=plan,
        manual_discount="1",
        manual_reason="тест",
    )
    page.goto("/billing/debtors/")
    assert alpha.guardian.full_name in page.content()
    snap(page, f"billing-debtors-{size}")
    page.goto("/billing/ending/")
    snap(page, f"billing-ending-{size}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_parent_sees_the_balance(new_page, snap, alpha, plan, viewport):
    size = "phone" if viewport is PHONE else "desktop"
    sub = services.subscription_sell(org=alpha.org, actor=alpha.manager, student=alpha.student, plan=plan)
    services.payment_take(
        org=alpha.org,
        account=sub.account,
        amount="1000",
        method="cash",
        actor=alpha.manager,
        idempotency_key="b1",
    )
    page = new_page(viewport=viewport)
    page.set_default_navigation_timeout(30_000)  # the shared machine can be slow to serve the first page
    login(page, "alpha_parent")
    page.get_by_role("link", name="Баланс и абонементы").click()
    page.wait_for_load_state()
    assert "3\xa0800,00" in page.get_by_test_id("balance").inner_text()
    assert "осталось 8 занятий" in page.content()
    snap(page, f"billing-family-{size}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_owner_sees_plans_and_revenue(new_page, snap, alpha, plan, viewport):
    size = "phone" if viewport is PHONE else "desktop"
    sub = services.subscription_sell(org=alpha.org, actor=alpha.manager, student=alpha.student, plan=plan)
    services.payment_take(
        org=alpha.org,
        account=sub.account,
        amount="4800",
        method="card",
        actor=alpha.owner,
        idempotency_key="b2",
    )
    page = new_page(viewport=viewport)
    page.set_default_navigation_timeout(30_000)
    login(page, "alpha_owner")
    page.goto("/billing/plans/")
    assert "8 занятий" in page.content()
    snap(page, f"billing-plans-{size}")
    page.goto("/billing/revenue/")
    assert "4\xa0800,00" in page.locator("table").inner_text()
    snap(page, f"billing-revenue-{size}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_makeup_is_booked_marked_in_the_other_groups_journal_and_seen_by_the_parent(
    new_page, snap, alpha, plan, viewport
):
    import datetime as dt

    from django.utils import timezone

    from kruzhok.attendance.models import AttendanceMark
    from kruzhok.billing import selectors
    from kruzhok.testing import factories as f

    size = "phone" if viewport is PHONE else "desktop"
    services.subscription_sell(org=alpha.org, actor=alpha.manager, student=alpha.student, plan=plan)
    missed_at = timezone.now() - dt.timedelta(days=3)
    missed = f.LessonFactory(
        organization=alpha.org,
        group=alpha.group,
        starts_at=missed_at,
        ends_at=missed_at + dt.timedelta(hours=1),
    )
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=missed,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="excused",
    )
    other = f.GroupFactory(
        organization=alpha.org,
        course=alpha.course,
        branch=alpha.branch,
        teacher=alpha.teacher,
        name="Роботы-2",
    )
    target_at = timezone.now() + dt.timedelta(days=1)
    target = f.LessonFactory(
        organization=alpha.org,
        group=other,
        starts_at=target_at,
        ends_at=target_at + dt.timedelta(hours=1),
        teacher=alpha.teacher,
    )

    page = new_page(viewport=viewport)
    page.set_default_navigation_timeout(30_000)
    login(page, "alpha_manager")
    page.goto("/billing/makeups/")
    page.get_by_role("link", name="Записать на отработку").click()
    page.get_by_label("Занятие для отработки").select_option(str(target.pk))
    snap(page, f"billing-makeup-book-{size}")
    page.get_by_role("button", name="Записать").click()
    page.wait_for_load_state()
    assert "на отработку" in page.locator(".messages").inner_text()
    assert "Предстоит" in page.content()
    snap(page, f"billing-makeups-{size}")

    page.context.clear_cookies()
    login(page, "alpha_teacher")
    page.goto(f"/attendance/lessons/{target.pk}/")
    row = page.locator(f"#student-{alpha.student.pk}")
    assert "отработка" in row.inner_text()
    row.get_by_role("button", name="Был", exact=True).click()
    page.wait_for_function(
        f"document.querySelector('#student-{alpha.student.pk} button.present[aria-pressed=true]') !== null"
    )
    snap(page, f"billing-makeup-journal-{size}")
    assert selectors.subscription_list(org=alpha.org).get().lessons_left == 7

    page.context.clear_cookies()
    login(page, "alpha_parent")
    page.goto("/billing/family/")
    assert "Отработано" in page.get_by_test_id("makeups").inner_text()
    snap(page, f"billing-family-makeups-{size}")
