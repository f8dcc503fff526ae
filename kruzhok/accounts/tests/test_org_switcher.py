import pytest

from kruzhok.accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_a_single_organisation_shows_no_switcher(client_as, alpha):
    page = client_as(alpha.owner).get("/", follow=True).content.decode()
    assert "org-switch" not in page


def test_a_member_of_two_organisations_switches_between_them(client_as, alpha, beta):
    Membership.objects.create(user=alpha.owner, organization=beta.org, role=Role.TEACHER)
    client = client_as(alpha.owner)
    page = client.get("/", follow=True).content.decode()
    assert "org-switch" in page and f"/accounts/switch/{beta.org.id}/" in page

    client.post(f"/accounts/switch/{beta.org.id}/", {"next": "/"})

    page = client.get("/", follow=True).content.decode()
    assert '<span class="org-name">Бета</span>' in page
