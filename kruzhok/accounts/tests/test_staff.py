import pytest

from kruzhok.accounts.models import Invitation, Membership, Role
from kruzhok.accounts.selectors import hash_key
from kruzhok.accounts.services import invitation_accept, invitation_create

pytestmark = pytest.mark.django_db

URL = "/accounts/staff/"


def test_the_owner_sees_the_team_with_roles_and_branches(client_as, alpha):
    response = client_as(alpha.owner).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for user in (alpha.owner, alpha.manager, alpha.teacher):
        assert user.username in page
    assert alpha.parent.username not in page and alpha.student_user.username not in page
    assert "Менеджер" in page and "Преподаватель" in page
    assert alpha.branch.name in page
    assert "Пригласить" in page


def test_the_menu_links_to_the_staff_page_for_the_owner(client_as, alpha):
    page = client_as(alpha.owner).get(URL).content.decode()
    assert f'href="{URL}"' in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.TEACHER, Role.PARENT, Role.STUDENT])
def test_other_roles_are_refused(client_as, alpha, role):
    client = client_as(alpha.user(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"role": "teacher"}).status_code == 403
    assert not Invitation.all_objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_owner_invites_a_teacher_and_sees_the_link_once(client_as, alpha):
    client = client_as(alpha.owner)
    response = client.post(URL, {"role": "teacher", "email": "t@example.com"})

    assert response.status_code == 200
    invitation = Invitation.all_objects.get()
    assert (invitation.organization, invitation.role, invitation.email) == (
        alpha.org,
        "teacher",
        "t@example.com",
    )
    link = response.context["new_link"]
    assert link.startswith("http://testserver/accounts/invite/") and link in response.content.decode()
    raw_token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash == hash_key(raw_token)
    # The link is not kept anywhere: the next visit lists the invitation without it.
    again = client.get(URL).content.decode()
    assert raw_token not in again and "t@example.com" in again


def test_the_owner_invites_a_manager_for_a_branch(client_as, alpha):
    client_as(alpha.owner).post(URL, {"role": "manager", "branches": [alpha.other_branch.pk]})
    assert Invitation.all_objects.get().branch_ids == [alpha.other_branch.pk]


def test_a_branch_of_another_organisation_cannot_be_chosen(client_as, alpha, beta):
    response = client_as(alpha.owner).post(URL, {"role": "manager", "branches": [beta.branch.pk]})
    assert response.status_code == 200
    assert response.context["form"].errors["branches"]
    assert not Invitation.all_objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"role": "owner"},
        {"role": ""},
        {"role": "teacher", "email": "<script>"},
        {"role": "manager", "branches": ["x"]},
    ],
)
def test_bad_invitation_input_is_a_form_error(client_as, alpha, data):
    response = client_as(alpha.owner).post(URL, data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Invitation.all_objects.exists()


def test_the_owner_revokes_a_pending_invitation(client_as, alpha):
    invitation, _ = invitation_create(org=alpha.org, actor=alpha.owner, role="teacher")
    response = client_as(alpha.owner).post(f"/accounts/invitations/{invitation.pk}/revoke/", follow=True)
    assert "Приглашение отозвано" in response.content.decode()
    assert not Invitation.all_objects.exists()


def test_an_owner_of_another_organisation_cannot_revoke(client_as, alpha, beta):
    invitation, _ = invitation_create(org=alpha.org, actor=alpha.owner, role="teacher")
    response = client_as(beta.owner).post(f"/accounts/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404
    assert Invitation.all_objects.filter(pk=invitation.pk).exists()


def test_a_manager_cannot_revoke(client_as, alpha):
    invitation, _ = invitation_create(org=alpha.org, actor=alpha.owner, role="teacher")
    assert client_as(alpha.manager).post(f"/accounts/invitations/{invitation.pk}/revoke/").status_code == 403


def test_revoking_needs_a_post(client_as, alpha):
    invitation, _ = invitation_create(org=alpha.org, actor=alpha.owner, role="teacher")
    assert client_as(alpha.owner).get(f"/accounts/invitations/{invitation.pk}/revoke/").status_code == 405


def test_an_accepted_invitation_is_no_longer_listed_or_revocable(client_as, alpha):
    invitation, raw_token = invitation_create(org=alpha.org, actor=alpha.owner, role="teacher")
    invitation_accept(raw_token=raw_token, username="petr", password="Kruzhok-Strong-2026")
    client = client_as(alpha.owner)
    assert client.post(f"/accounts/invitations/{invitation.pk}/revoke/").status_code == 404
    assert "Нет неотвеченных приглашений" in client.get(URL).content.decode()


def test_the_owner_deactivates_a_teacher_who_then_loses_access(client, client_as, alpha):
    membership = Membership.objects.get(user=alpha.teacher)
    response = client_as(alpha.owner).post(f"/accounts/staff/{membership.pk}/deactivate/", follow=True)
    assert "отключён" in response.content.decode()
    membership.refresh_from_db()
    assert membership.is_active is False

    client.force_login(alpha.teacher)
    assert client.get("/").status_code == 403


def test_the_last_owner_cannot_deactivate_themselves(client_as, alpha):
    membership = Membership.objects.get(user=alpha.owner)
    response = client_as(alpha.owner).post(f"/accounts/staff/{membership.pk}/deactivate/", follow=True)
    assert "единственного владельца" in response.content.decode()
    membership.refresh_from_db()
    assert membership.is_active


def test_an_owner_of_another_organisation_cannot_deactivate(client_as, alpha, beta):
    membership = Membership.objects.get(user=alpha.teacher)
    assert client_as(beta.owner).post(f"/accounts/staff/{membership.pk}/deactivate/").status_code == 404
    membership.refresh_from_db()
    assert membership.is_active


def test_families_are_not_deactivated_from_the_staff_page(client_as, alpha):
    membership = Membership.objects.get(user=alpha.parent)
    assert client_as(alpha.owner).post(f"/accounts/staff/{membership.pk}/deactivate/").status_code == 404


def test_a_manager_cannot_deactivate(client_as, alpha):
    membership = Membership.objects.get(user=alpha.teacher)
    assert client_as(alpha.manager).post(f"/accounts/staff/{membership.pk}/deactivate/").status_code == 403
