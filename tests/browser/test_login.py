import pytest

from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("role", ["owner", "manager", "teacher", "parent", "student"])
def test_each_role_logs_in_and_sees_its_organisation(new_page, snap, alpha, role):
    page = new_page(viewport=PHONE)
    login(page, alpha.user(role).username)
    assert page.locator(".org-name").inner_text() == "Альфа"
    snap(page, f"home-{role}-phone")


def test_wrong_password_is_explained_in_russian(new_page, alpha):
    page = new_page(viewport=DESKTOP)
    login(page, alpha.owner.username, password="wrong")
    assert "правильные имя пользователя и пароль" in page.content()
