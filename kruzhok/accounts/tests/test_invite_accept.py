import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from kruzhok.accounts.models import Invitation, Membership, Role
from kruzhok.accounts.selectors import SESSION_ORG_KEY
from kruzhok.accounts.services import invitation_accept, invitation_create, invitation_revoke

pytestmark = pytest.mark.django_db

STRONG = "Kruzhok-Strong-2026"


@pytest.fixture
def invitation(alpha):
    invitation, raw_token = invitation_create(
        org=alpha.org, actor=alpha.owner, role=Role.TEACHER, email="petr@example.com"
    )
    invitation.url = f"/accounts/invite/{raw_token}/"
    invitation.raw_token = raw_token
    return invitation


def new_account(**overrides):
    data = {
        "first_name": "Пётр",
        "last_name": "Орлов",
        "username": "petr",
        "email": "petr@example.com",
        "password1": STRONG,
        "password2": STRONG,
    }
    data.update(overrides)
    return data


def test_a_visitor_sees_who_invites_them_and_a_form(client, invitation):
    response = client.get(invitation.url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Приглашение в «Альфа»" in page and "Преподаватель" in page
    assert 'value="petr@example.com"' in page
    assert "Создайте учётную запись" in page


def test_a_visitor_creates_an_account_and_lands_in_the_organisation(client, alpha, invitation):
    response = client.post(invitation.url, new_account())

    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="petr")
    assert Membership.objects.get(user=user).organization == alpha.org
    assert client.session[SESSION_ORG_KEY] == alpha.org.id
    home = client.get("/", follow=True).content.decode()
    assert '<span class="org-name">Альфа</span>' in home


def test_a_logged_in_user_joins_with_their_account(client_as, alpha, beta, invitation):
    client = client_as(beta.owner)
    page = client.get(invitation.url).content.decode()
    assert "Присоединиться" in page and "Создайте учётную запись" not in page

    response = client.post(invitation.url)

    assert response.status_code == 302
    assert Membership.objects.get(user=beta.owner, organization=alpha.org).role == Role.TEACHER
    home = client.get("/", follow=True).content.decode()
    assert '<span class="org-name">Альфа</span>' in home
    # Two organisations now: the user box offers to switch between them.
    assert "org-switch" in home and "Бета" in home


def test_a_member_of_the_organisation_is_told_they_already_belong(client_as, alpha, invitation):
    response = client_as(alpha.teacher).post(invitation.url)
    assert response.status_code == 200
    assert "уже состоите" in response.content.decode()
    assert Invitation.all_objects.get().accepted_at is None


def test_a_used_link_is_explained(client, invitation):
    invitation_accept(raw_token=invitation.raw_token, username="first", password=STRONG)
    for response in (client.get(invitation.url), client.post(invitation.url, new_account())):
        assert response.status_code == 410
        assert "уже использовано" in response.content.decode()
    assert not get_user_model().objects.filter(username="petr").exists()


def test_an_expired_link_is_explained(client, invitation):
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        response = client.get(invitation.url)
        assert response.status_code == 410
        assert "истёк" in response.content.decode()
        assert client.post(invitation.url, new_account()).status_code == 410
    assert not get_user_model().objects.filter(username="petr").exists()


def test_a_revoked_link_is_not_found(client, alpha, invitation):
    invitation_revoke(invitation=invitation, actor=alpha.owner)
    response = client.get(invitation.url)
    assert response.status_code == 404
    assert "Приглашение не найдено" in response.content.decode()


@pytest.mark.parametrize("token", ["nope", "<script>", "x" * 3000])
def test_an_unknown_link_is_not_found(client, token):
    assert client.get(f"/accounts/invite/{token}/").status_code == 404


def test_mismatched_passwords_keep_the_link_usable(client, invitation):
    response = client.post(invitation.url, new_account(password2="Other-pass-2026"))
    assert response.status_code == 200
    assert "Пароли не совпадают" in response.content.decode()
    assert Invitation.all_objects.get().accepted_at is None


def test_a_taken_username_is_explained(client, alpha, invitation):
    response = client.post(invitation.url, new_account(username="alpha_parent"))
    assert "уже занят" in response.content.decode()
    assert Invitation.all_objects.get().accepted_at is None


def test_a_weak_password_is_explained(client, invitation):
    response = client.post(invitation.url, new_account(password1="12345678", password2="12345678"))
    assert response.context["form"].errors["password1"]
    assert Invitation.all_objects.get().accepted_at is None


def test_a_hostile_name_is_escaped(client, invitation):
    client.post(invitation.url, new_account(first_name="<script>alert(1)</script>"))
    page = client.get("/", follow=True).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
