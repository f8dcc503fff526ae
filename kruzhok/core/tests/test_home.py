import pytest


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "manager", "teacher", "parent", "student"])
def test_every_role_can_log_in_and_reach_a_page(client, alpha, role):
    user = alpha.user(role)
    assert client.login(username=user.username, password="kruzhok-demo")
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert "Альфа" in response.content.decode()


@pytest.mark.django_db
def test_login_page_is_russian_by_default(client):
    response = client.get("/accounts/login/")
    assert "Вход в Кружок" in response.content.decode()


@pytest.mark.django_db
def test_a_browser_asking_for_english_still_gets_russian_until_the_user_switches(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "Вход в Кружок" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Вход в Кружок" not in response.content.decode()
