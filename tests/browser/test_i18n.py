"""The English interface in a real browser: the selector in the top bar switches it, and the longer
English labels still fit a 360-px phone and a desktop."""

import pytest
from django.urls import reverse

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

ROLE_PAGES = {
    "owner": [
        ("school:dashboard", None),
        ("school:groups", None),
        ("school:group_detail", "group"),
        ("school:group_create", None),
        ("school:courses", None),
        ("accounts:staff", None),
        ("billing:accounts", None),
        ("billing:revenue", None),
        ("billing:settings", None),
        ("analytics:dashboard", None),
        ("reports:index", None),
        ("gamification:settings", None),
        ("risk:what_helps", None),
    ],
    "manager": [
        ("school:students", None),
        ("school:student_detail", "student"),
        ("school:student_create", None),
        ("school:waitlist", None),
        ("risk:list", None),
        ("risk:alerts", None),
        ("feedback:inbox", None),
        ("messaging:announcements", None),
        ("billing:makeups", None),
    ],
    "teacher": [
        ("attendance:today", None),
        ("attendance:lesson", "lesson"),
        ("feedback:teacher_lessons", None),
        ("gamification:group_board", {"group_pk": "group"}),
    ],
    "parent": [
        ("family:home", None),
        ("family:schedule", None),
        ("family:attendance", None),
        ("billing:family", None),
        ("gamification:child", {"student_pk": "student"}),
        ("messaging:inbox", None),
        ("messaging:preferences", None),
        ("feedback:give", None),
    ],
    "student": [("family:home", None), ("gamification:home", None), ("gamification:shop", None)],
}


def url_of(url_name: str, arg, objects: dict) -> str:
    if isinstance(arg, dict):
        return reverse(url_name, kwargs={name: objects[obj].pk for name, obj in arg.items()})
    return reverse(url_name, args=[objects[arg].pk] if arg else [])


# The first request of a session imports every app's URLs (scikit-learn among them): give it time.
FIRST_LOAD_MS = 60_000


def switch_to_english(page):
    page.goto("/accounts/login/", timeout=FIRST_LOAD_MS)
    # The selector submits its form on change, which reloads the page.
    with page.expect_navigation():
        page.locator("#lang-select").select_option("en")


def login_in_english(page, username: str, password: str = "kruzhok-demo"):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when nothing sticks out)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_a_visitor_switches_to_english_with_the_selector_on_a_phone(new_page, snap, alpha):
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/", timeout=FIRST_LOAD_MS)
    assert page.get_by_role("heading", name="Вход в Кружок").is_visible()
    # The selector submits its form on change, which reloads the page.
    with page.expect_navigation():
        page.locator("#lang-select").select_option("en")
    assert page.get_by_role("heading", name="Log in to Kruzhok").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    snap(page, "i18n-login-en-phone")

    login_in_english(page, alpha.owner.username)
    assert page.get_by_role("heading", name="Overview").is_visible()
    page.get_by_text("Menu").click()
    assert page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Students").is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()
    snap(page, "i18n-owner-menu-en-phone")


def test_a_wrong_password_is_explained_in_english(new_page, alpha):
    page = new_page(viewport=PHONE)
    switch_to_english(page)
    login_in_english(page, alpha.owner.username, password="wrong")
    assert page.get_by_text("Please enter a correct username and password").is_visible()


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_english_pages_fit_the_screen(new_page, snap, alpha, size, viewport):
    objects = {"group": alpha.group, "student": alpha.student, "lesson": alpha.lesson}
    too_wide = []
    for role, pages in ROLE_PAGES.items():
        page = new_page(viewport=viewport)
        switch_to_english(page)
        login_in_english(page, alpha.user(role).username)
        for url_name, arg in pages:
            page.goto(url_of(url_name, arg, objects))
            assert page.locator("html").get_attribute("lang") == "en"
            if overflow(page) > 0:
                too_wide.append((url_name, overflow(page)))
            snap(page, f"i18n-{role}-{url_name.replace(':', '-')}-{size}")
    assert not too_wide, f"pages wider than the {size} screen: {too_wide}"
