import pytest
from django.test import Client

from kruzhok.accounts.models import ApiToken, Membership, Role
from kruzhok.accounts.selectors import hash_key
from kruzhok.api.tests.helpers import ApiClient, error_code
from kruzhok.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_login_and_password_give_a_token_that_opens_the_api(alpha):
    anonymous = ApiClient()
    response = anonymous.post("/auth/token", {"username": "alpha_teacher", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == {
        "id": alpha.org.id,
        "name": "Альфа",
        "slug": "alpha",
        "timezone": "Europe/Moscow",
        "role": "teacher",
    }
    # Only the hash is kept: the key itself is shown once.
    assert ApiToken.objects.filter(key_hash=hash_key(body["token"]), user=alpha.teacher).exists()
    assert not ApiToken.objects.filter(key_hash=body["token"]).exists()

    me = ApiClient(body["token"]).get("/organization")
    assert me.status_code == 200
    assert me.json()["role"] == "teacher"


def test_it_refuses_a_wrong_password(alpha):
    response = ApiClient().post("/auth/token", {"username": "alpha_owner", "password": "wrong"})
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"
    assert "Неверный логин или пароль" in response.json()["error"]["message"]


def test_it_refuses_an_unknown_user_the_same_way(alpha):
    response = ApiClient().post("/auth/token", {"username": "nobody", "password": PASSWORD})
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


def test_a_user_of_two_organisations_picks_one_by_slug(alpha, beta):
    Membership.objects.create(user=alpha.owner, organization=beta.org, role=Role.TEACHER)
    client = ApiClient()
    default = client.post("/auth/token", {"username": "alpha_owner", "password": PASSWORD})
    assert default.json()["organization"]["slug"] == "alpha"

    chosen = client.post(
        "/auth/token", {"username": "alpha_owner", "password": PASSWORD, "organization": "beta"}
    )
    assert chosen.status_code == 200
    assert chosen.json()["organization"] == {
        **chosen.json()["organization"],
        "slug": "beta",
        "role": "teacher",
    }
    groups = ApiClient(chosen.json()["token"]).get("/groups")
    assert groups.status_code == 200
    assert [g["name"] for g in groups.json()["items"]] == []  # a teacher of no group in beta


def test_a_slug_of_an_organisation_the_user_is_not_in_is_refused(alpha, beta):
    response = ApiClient().post(
        "/auth/token", {"username": "alpha_owner", "password": PASSWORD, "organization": "beta"}
    )
    assert response.status_code == 403
    assert error_code(response) == "not_a_member"


def test_a_request_without_a_token_gets_401_with_the_envelope(alpha):
    response = ApiClient().get("/groups")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_made_up_token_gets_401(alpha):
    response = ApiClient("not-a-real-token").get("/groups")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_a_revoked_token_stops_working(alpha, api_as):
    client = api_as(alpha.owner)
    assert client.get("/organization").status_code == 200
    assert client.delete("/auth/token").status_code == 204
    assert client.get("/organization").status_code == 401


def test_a_token_of_a_deactivated_membership_stops_working(alpha, api_as):
    client = api_as(alpha.manager)
    Membership.objects.filter(user=alpha.manager).update(is_active=False)
    assert client.get("/organization").status_code == 401


def test_the_logged_in_browser_may_read_with_its_session(alpha, client_as):
    client = client_as(alpha.owner)
    response = client.get("/api/v1/organization")
    assert response.status_code == 200
    assert response.json()["slug"] == "alpha"


def test_the_browser_needs_the_csrf_token_to_write(alpha):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alpha.owner)
    body = {"name": "Филиал из браузера"}
    refused = browser.post("/api/v1/branches", body, content_type="application/json")
    assert refused.status_code == 403
    assert error_code(refused) == "csrf_failed"

    browser.get("/api/v1/docs")  # the docs page carries the CSRF token, as a page of the site would
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/v1/branches", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


def test_a_bearer_token_needs_no_csrf_token(alpha, api_as):
    # The phone has no cookie jar to be forged from; the token itself is the proof.
    response = api_as(alpha.owner).post("/branches", {"name": "Филиал с телефона"})
    assert response.status_code == 201


def test_a_wrong_bearer_token_is_not_rescued_by_a_session(alpha, client_as):
    client = client_as(alpha.owner)
    response = client.get("/api/v1/organization", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


def test_a_logged_in_user_without_an_organisation_is_told_so(db):
    browser = Client()
    browser.force_login(UserFactory(username="loner"))
    response = browser.get("/api/v1/organization")
    assert response.status_code == 403
    assert error_code(response) == "not_a_member"
