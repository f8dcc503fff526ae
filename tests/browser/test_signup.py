import pytest

from kruzhok.accounts.models import Membership, Role
from kruzhok.testing.factories import MembershipFactory
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "Kruzhok-Strong-2026"
CENTRE = "Робошкола «Прогресс»"


def fill_account(page, *, first_name, last_name, username, email=None):
    page.get_by_label("Имя", exact=True).fill(first_name)
    page.get_by_label("Фамилия").fill(last_name)
    page.get_by_label("Логин", exact=True).fill(username)
    if email is not None:
        page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль", exact=True).fill(STRONG)
    page.get_by_label("Пароль ещё раз").fill(STRONG)


def test_a_centre_signs_up_on_a_phone_and_invites_a_teacher(new_page, snap):
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Зарегистрировать свой центр").click()
    assert page.get_by_label("Часовой пояс").input_value() == "Europe/Moscow"
    snap(page, "signup-phone")

    page.get_by_label("Название центра").fill(CENTRE)
    fill_account(page, first_name="Анна", last_name="Смирнова", username="anna", email="anna@example.com")
    page.get_by_role("button", name="Создать центр").click()
    page.wait_for_load_state()

    assert page.locator(".org-name").inner_text() == CENTRE
    assert "создан" in page.locator(".messages").inner_text()
    snap(page, "signup-landed-phone")

    page.goto("/accounts/staff/")
    snap(page, "staff-phone")
    page.get_by_label("Роль").select_option("teacher")
    page.get_by_label("Электронная почта").fill("petr@example.com")
    page.get_by_role("button", name="Пригласить").click()
    page.wait_for_load_state()
    link = page.locator("#invite-link").input_value()
    assert "/accounts/invite/" in link
    snap(page, "staff-invited-phone")

    teacher_page = new_page(viewport=PHONE)
    teacher_page.goto(link)
    assert "Приглашение в «Робошкола «Прогресс»»" in teacher_page.locator("h1").inner_text()
    assert teacher_page.get_by_label("Электронная почта").input_value() == "petr@example.com"
    snap(teacher_page, "invite-accept-phone")
    fill_account(teacher_page, first_name="Пётр", last_name="Орлов", username="petr")
    teacher_page.get_by_role("button", name="Создать учётную запись и войти").click()
    teacher_page.wait_for_load_state()

    assert teacher_page.locator(".org-name").inner_text() == CENTRE
    membership = Membership.objects.select_related("organization").get(user__username="petr")
    assert (membership.organization.name, membership.role) == (CENTRE, Role.TEACHER)

    # The link was one-time: opening it again explains that.
    again = new_page(viewport=PHONE)
    again.goto(link)
    assert "уже использовано" in again.content()
    snap(again, "invite-used-phone")


def test_sign_up_mistakes_are_explained_on_a_phone(new_page, snap, alpha):
    page = new_page(viewport=PHONE)
    page.goto("/accounts/signup/")
    page.get_by_label("Название центра").fill(CENTRE)
    fill_account(page, first_name="Анна", last_name="", username="alpha_owner", email="anna@example.com")
    page.get_by_label("Пароль ещё раз").fill("something-else")
    page.get_by_role("button", name="Создать центр").click()
    page.wait_for_load_state()
    assert "Пароли не совпадают" in page.content()
    snap(page, "signup-errors-phone")


def test_the_staff_pages_on_a_desktop(new_page, snap, alpha):
    page = new_page(viewport=DESKTOP)
    page.goto("/accounts/signup/")
    snap(page, "signup-desktop")

    login(page, alpha.owner.username)
    page.goto("/accounts/staff/")
    snap(page, "staff-desktop")
    page.get_by_label("Роль").select_option("manager")
    page.get_by_label(alpha.other_branch.name).check()
    snap(page, "staff-invite-manager-desktop")
    page.get_by_role("button", name="Пригласить").click()
    page.wait_for_load_state()
    link = page.locator("#invite-link").input_value()
    snap(page, "staff-invited-desktop")

    # The owner of another centre opens the link while logged in and joins with the same account.
    other = MembershipFactory(role=Role.OWNER)
    stranger = new_page(viewport=DESKTOP)
    login(stranger, other.user.username)
    stranger.goto(link)
    snap(stranger, "invite-accept-logged-in-desktop")
    stranger.get_by_role("button", name="Присоединиться").click()
    stranger.wait_for_load_state()
    assert stranger.locator(".org-name").inner_text() == "Альфа"
    assert alpha.other_branch.managers.filter(pk=other.user.pk).exists()
    stranger.locator(".org-switch summary").click()
    snap(stranger, "org-switcher-desktop")
    phone = new_page(viewport=PHONE)
    login(phone, other.user.username)
    phone.locator(".org-switch summary").click()
    assert phone.locator(".org-name").inner_text() == other.organization.name
    phone.get_by_role("button", name="Альфа").click()
    phone.wait_for_load_state()
    assert phone.locator(".org-name").inner_text() == "Альфа"
    phone.locator(".org-switch summary").click()
    snap(phone, "org-switcher-phone")

    anonymous = new_page(viewport=DESKTOP)
    page.goto("/accounts/staff/")
    page.get_by_role("button", name="Пригласить").click()
    page.wait_for_load_state()
    anonymous.goto(page.locator("#invite-link").input_value())
    snap(anonymous, "invite-accept-desktop")
