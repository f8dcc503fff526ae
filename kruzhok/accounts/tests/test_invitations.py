import datetime as dt
import hashlib

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from kruzhok.accounts.models import Invitation, Membership, Role
from kruzhok.accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_deactivate,
)
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

STRONG = "Kruzhok-Strong-2026"


def invite(world, role=Role.TEACHER, **kwargs):
    return invitation_create(org=world.org, actor=world.owner, role=role, **kwargs)


def accept_as_new(raw_token, username="new_teacher"):
    return invitation_accept(
        raw_token=raw_token, username=username, password=STRONG, first_name="Пётр", last_name="Орлов"
    )


def test_it_stores_only_the_sha256_of_the_token(alpha):
    invitation, raw_token = invite(alpha, email="t@example.com")

    invitation.refresh_from_db()
    assert invitation.token_hash == hashlib.sha256(raw_token.encode()).hexdigest()
    stored = [str(value) for value in Invitation.all_objects.values_list().get(pk=invitation.pk)]
    assert not any(raw_token in value for value in stored)
    assert len(raw_token) >= 32


def test_an_invitation_lives_seven_days(alpha):
    invitation, _ = invite(alpha)
    assert invitation.expires_at - timezone.now() == pytest.approx(
        dt.timedelta(days=7), abs=dt.timedelta(seconds=5)
    )
    assert invitation.created_by == alpha.owner and invitation.organization == alpha.org


@pytest.mark.parametrize("role", [Role.OWNER, Role.PARENT, Role.STUDENT, "boss"])
def test_it_invites_only_managers_and_teachers(alpha, role):
    with pytest.raises(ValidationError) as exc:
        invite(alpha, role=role)
    assert exc.value.code == "bad_role"


def test_it_refuses_a_branch_of_another_organisation(alpha, beta):
    with pytest.raises(ValidationError) as exc:
        invite(alpha, role=Role.MANAGER, branch_ids=[beta.branch.pk])
    assert exc.value.code == "bad_branch"
    assert not Invitation.all_objects.exists()


def test_it_refuses_a_bad_email(alpha):
    with pytest.raises(ValidationError) as exc:
        invite(alpha, email="<script>@")
    assert exc.value.code == "invalid_email"


def test_a_teacher_invitation_ignores_branches(alpha):
    invitation, _ = invite(alpha, branch_ids=[alpha.branch.pk])
    assert invitation.branch_ids == []


def test_accepting_creates_an_account_with_the_invited_role(alpha):
    invitation, raw_token = invite(alpha, email="petr@example.com")

    membership = accept_as_new(raw_token)

    user = membership.user
    assert user.username == "new_teacher" and user.check_password(STRONG)
    assert user.email == "petr@example.com"
    assert (membership.organization, membership.role, membership.is_active) == (alpha.org, Role.TEACHER, True)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == user


def test_a_link_works_only_once(alpha):
    _, raw_token = invite(alpha)
    accept_as_new(raw_token)

    with pytest.raises(ValidationError) as exc:
        accept_as_new(raw_token, username="second_person")
    assert exc.value.code == "used"
    assert not get_user_model().objects.filter(username="second_person").exists()


def test_a_link_expires_after_seven_days(alpha):
    _, raw_token = invite(alpha)
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        with pytest.raises(ValidationError) as exc:
            accept_as_new(raw_token)
    assert exc.value.code == "expired"
    assert not get_user_model().objects.filter(username="new_teacher").exists()


def test_a_link_still_works_on_the_seventh_day(alpha):
    _, raw_token = invite(alpha)
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, hours=23)):
        assert accept_as_new(raw_token).role == Role.TEACHER


@pytest.mark.parametrize("raw_token", ["", "nope", "x" * 5000])
def test_an_unknown_link_is_not_found(alpha, raw_token):
    with pytest.raises(Http404):
        accept_as_new(raw_token)


def test_a_manager_invitation_adds_the_manager_to_the_chosen_branches(alpha):
    _, raw_token = invite(alpha, role=Role.MANAGER, branch_ids=[alpha.branch.pk, alpha.other_branch.pk])

    membership = accept_as_new(raw_token, username="new_manager")

    assert membership.role == Role.MANAGER
    assert set(alpha.branch.managers.all()) == {alpha.manager, membership.user}
    assert set(alpha.other_branch.managers.all()) == {membership.user}


def test_an_existing_user_joins_a_second_organisation(alpha, beta):
    _, raw_token = invite(alpha)

    membership = invitation_accept(raw_token=raw_token, user=beta.owner)

    assert membership.organization == alpha.org and membership.role == Role.TEACHER
    assert Membership.objects.filter(user=beta.owner, is_active=True).count() == 2


def test_a_current_member_cannot_accept_again(alpha):
    _, raw_token = invite(alpha)
    with pytest.raises(ValidationError) as exc:
        invitation_accept(raw_token=raw_token, user=alpha.teacher)
    assert exc.value.code == "already_member"
    assert Invitation.all_objects.get().accepted_at is None


def test_a_former_member_comes_back_with_the_new_role(alpha):
    membership_deactivate(membership=Membership.objects.get(user=alpha.teacher), actor=alpha.owner)
    _, raw_token = invite(alpha, role=Role.MANAGER)

    membership = invitation_accept(raw_token=raw_token, user=alpha.teacher)

    assert (membership.role, membership.is_active) == (Role.MANAGER, True)
    assert Membership.objects.filter(user=alpha.teacher).count() == 1


def test_a_taken_username_leaves_the_invitation_unused(alpha):
    _, raw_token = invite(alpha)
    with pytest.raises(ValidationError) as exc:
        accept_as_new(raw_token, username="alpha_teacher")
    assert exc.value.code == "username_taken"
    assert Invitation.all_objects.get().accepted_at is None


def test_a_weak_password_leaves_the_invitation_unused(alpha):
    _, raw_token = invite(alpha)
    with pytest.raises(ValidationError) as exc:
        invitation_accept(raw_token=raw_token, username="someone", password="123")
    assert exc.value.code == "weak_password"
    assert Invitation.all_objects.get().accepted_at is None


def test_a_revoked_link_is_not_found(alpha):
    invitation, raw_token = invite(alpha)
    invitation_revoke(invitation=invitation, actor=alpha.owner)
    with pytest.raises(Http404):
        accept_as_new(raw_token)


def test_an_accepted_invitation_cannot_be_revoked(alpha):
    invitation, raw_token = invite(alpha)
    accept_as_new(raw_token)
    with pytest.raises(ValidationError) as exc:
        invitation_revoke(invitation=invitation, actor=alpha.owner)
    assert exc.value.code == "used"


def test_deactivating_takes_the_membership_away(alpha):
    membership = Membership.objects.get(user=alpha.teacher)
    membership_deactivate(membership=membership, actor=alpha.owner)
    membership.refresh_from_db()
    assert membership.is_active is False


def test_the_last_owner_cannot_be_deactivated(alpha):
    membership = Membership.objects.get(user=alpha.owner)
    with pytest.raises(ValidationError) as exc:
        membership_deactivate(membership=membership, actor=alpha.owner)
    assert exc.value.code == "last_owner"
    membership.refresh_from_db()
    assert membership.is_active


def test_an_owner_can_step_down_when_another_owner_remains(alpha):
    f.MembershipFactory(organization=alpha.org, role=Role.OWNER)
    membership = Membership.objects.get(user=alpha.owner)
    membership_deactivate(membership=membership, actor=alpha.owner)
    membership.refresh_from_db()
    assert membership.is_active is False
