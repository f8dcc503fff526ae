"""The owner opens the analytics dashboard, sees the month's churn, and drills into the children behind it."""

import pytest

from kruzhok.analytics.tests.scenario import build_october
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport, size", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_owner_sees_the_churn_and_the_children_behind_it(new_page, snap, alpha, viewport, size):
    build_october(alpha)
    page = new_page(viewport=viewport)
    # The live server's first answer loads every app; on a busy machine that exceeds the 10 s default.
    page.goto("/healthz", timeout=120_000)
    login(page, alpha.owner.username)
    if size == "phone":
        page.locator(".nav-toggle-label").click()
    page.get_by_role("link", name="Аналитика").click()
    page.wait_for_load_state()
    page.get_by_label("Месяц", exact=True).select_option("2026-10")
    page.get_by_role("button", name="Показать").click()
    page.wait_for_load_state()
    assert "октябрь 2026" in page.get_by_role("heading", level=1).inner_text()
    churn = page.locator(".an-tile", has_text="Отток")
    assert "40,0 %" in churn.inner_text()
    # Charts are drawn and each says what it shows.
    assert page.locator('svg[role="img"]').count() >= 4
    assert page.locator("svg.chart").first.bounding_box()["width"] <= viewport["width"]
    snap(page, f"analytics-owner-{size}")

    churn.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Ушли")
    children = page.locator(".an-children")
    assert "Ушедшая-центр" in children.inner_text() and "Ушедший-север" in children.inner_text()
    assert "Постоянный" not in children.inner_text()
    snap(page, f"analytics-children-{size}")

    children.get_by_role("link").first.click()
    page.wait_for_load_state()
    assert "Ушедш" in page.get_by_role("heading", level=1).inner_text()
