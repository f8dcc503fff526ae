import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.risk.models import AlertStatus, RiskAlert
from kruzhok.risk.services import risk_score_compute
from kruzhok.risk.synthetic import build_history
from kruzhok.risk.tests.helpers import fading_child
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def flagged(alpha):
    today = timezone.localdate()
    fading_child(alpha, as_of=today - dt.timedelta(days=1))
    build_history(org=alpha.org, teacher=alpha.teacher, branch=alpha.branch, today=today, students=20, seed=3)
    for days_ago in (21, 14, 7, 0):
        risk_score_compute(org=alpha.org, as_of=today - dt.timedelta(days=days_ago))
    return RiskAlert.objects.get(enrollment=alpha.enrollment)


@pytest.mark.parametrize("viewport, size", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_teacher_sees_a_flagged_child_with_reasons_logs_a_call_and_the_alert_closes(
    new_page, snap, alpha, flagged, viewport, size
):
    page = new_page(viewport=viewport)
    login(page, alpha.teacher.username)
    if size == "phone":
        page.locator(".nav-toggle-label").click()
    page.locator("summary", has_text="Удержание").click()  # the menu groups risk pages
    page.get_by_role("link", name="Риск ухода").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Риск ухода"
    first = page.locator(".risk-row").first
    assert "Петрова-alpha Маша" in first.inner_text()
    assert "пропустил 3 занятия подряд" in first.inner_text()
    snap(page, f"risk-list-{size}")

    first.get_by_role("link", name="Петрова-alpha Маша").click()
    page.wait_for_load_state()
    assert page.locator("svg.risk-spark").is_visible()
    assert page.get_by_text("Интерес начал падать примерно с").is_visible()
    assert page.get_by_text("Что можно сделать").is_visible()
    snap(page, f"risk-card-{size}")

    if size == "phone":
        # One tap: the call is logged and the alert closes.
        page.get_by_role("button", name="Сделано: Позвонить родителю — записать и закрыть сигнал").click()
    else:
        page.get_by_text("Записать с комментарием").click()
        page.get_by_label("Что сделано").select_option("call_parent")
        page.get_by_label("Комментарий").fill("Мама сказала, что Маша болела; вернётся в четверг")
        page.get_by_role("button", name="Записать действие").click()
    page.wait_for_load_state()
    assert page.get_by_text("Действие записано, сигнал закрыт.").is_visible()
    assert page.get_by_text("Открытых сигналов нет.").is_visible()
    assert page.locator(".risk-log").get_by_text("Позвонил родителю").is_visible()
    snap(page, f"risk-card-closed-{size}")
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.CLOSED

    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("viewport, size", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_manager_reads_the_alert_feed_and_what_helps(new_page, snap, alpha, flagged, viewport, size):
    from kruzhok.demo.risk import seed_alert_history

    seed_alert_history(org=alpha.org, today=timezone.localdate())
    page = new_page(viewport=viewport)
    login(page, alpha.manager.username)
    page.goto("/risk/alerts/")
    row = page.locator(".risk-row", has_text="Петрова-alpha Маша")
    # The reasons as they were when the alert was raised (a week ago, two absences in a row).
    assert "занятия подряд" in row.inner_text() and "Новый" in row.inner_text()
    snap(page, f"risk-alerts-{size}")
    page.goto("/risk/what-helps/")
    assert page.get_by_role("heading", level=1).inner_text() == "Что помогает"
    assert page.get_by_text("Позвонил родителю").first.is_visible()
    snap(page, f"risk-what-helps-{size}")
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
