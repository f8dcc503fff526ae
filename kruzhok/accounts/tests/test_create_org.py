import getpass

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from kruzhok.accounts.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db

STRONG = "Kruzhok-Strong-2026"


def test_it_creates_an_organisation_and_prints_the_login_url(capsys, settings):
    settings.SITE_URL = "https://kruzhok.example"
    call_command(
        "create_org",
        "--name",
        "Шахматный клуб",
        "--owner-username",
        "boss",
        "--owner-password",
        STRONG,
        "--owner-email",
        "boss@example.com",
        "--timezone",
        "Asia/Yekaterinburg",
    )
    org = Organization.objects.get(name="Шахматный клуб")
    assert (org.slug, org.timezone) == ("shakhmatnyy-klub", "Asia/Yekaterinburg")
    assert Membership.objects.get(organization=org).role == Role.OWNER
    assert "https://kruzhok.example/accounts/login/" in capsys.readouterr().out


def test_it_refuses_a_taken_username(alpha):
    with pytest.raises(CommandError, match="уже занят"):
        call_command(
            "create_org", "--name", "Ещё", "--owner-username", "alpha_owner", "--owner-password", STRONG
        )
    assert not Organization.objects.filter(name="Ещё").exists()


def test_it_refuses_a_weak_password():
    with pytest.raises(CommandError):
        call_command("create_org", "--name", "Клуб", "--owner-username", "boss", "--owner-password", "123")
    assert not Organization.objects.exists()


def test_it_asks_for_the_password_when_none_is_given(monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": STRONG)
    call_command("create_org", "--name", "Клуб", "--owner-username", "boss")
    assert get_user_model().objects.get(username="boss").check_password(STRONG)


def test_it_refuses_two_different_typed_passwords(monkeypatch):
    answers = iter([STRONG, "something-else"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="не совпадают"):
        call_command("create_org", "--name", "Клуб", "--owner-username", "boss")
    assert not Organization.objects.exists()
