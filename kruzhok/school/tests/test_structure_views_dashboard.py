import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("school:dashboard")


def test_the_owner_lands_on_the_dashboard_after_login(client_as, alpha):
    response = client_as(alpha.owner).get("/", follow=True)
    assert response.redirect_chain[-1][0] == URL
    assert "Обзор" in response.content.decode()


def test_the_owner_sees_counts_and_todays_lessons(client_as, alpha):
    response = client_as(alpha.owner).get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["counts"] == {"students": 1, "groups": 1, "branches": 2}
    assert "Роботы-1 (alpha)" in page
    assert "16:00" in page
    assert reverse("school:group_create") in page


def test_a_manager_sees_their_branches_only(client_as, alpha):
    response = client_as(alpha.manager).get(URL)
    assert response.status_code == 200
    assert response.context["counts"] == {"students": 1, "groups": 1, "branches": 1}
    assert reverse("school:group_create") not in response.content.decode()


def test_a_manager_of_no_branch_sees_zeroes(client_as, alpha):
    alpha.branch.managers.clear()
    response = client_as(alpha.manager).get(URL)
    assert response.context["counts"] == {"students": 0, "groups": 0, "branches": 0}
    assert "Роботы-1 (alpha)" not in response.content.decode()


@pytest.mark.parametrize("role", ["parent", "student"])
def test_families_are_refused(client_as, alpha, role):
    assert client_as(alpha.user(role)).get(URL).status_code == 403


def test_another_organisations_owner_sees_only_their_own(client_as, alpha, beta):
    page = client_as(beta.owner).get(URL).content.decode()
    assert "Роботы-1 (alpha)" not in page
    assert "Роботы-1 (beta)" in page


def test_anonymous_is_sent_to_login(client, alpha):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
