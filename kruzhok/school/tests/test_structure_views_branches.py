import pytest
from django.urls import reverse

from kruzhok.school.models import Branch, Room

pytestmark = pytest.mark.django_db


def test_the_owner_sees_branches_with_their_rooms(client_as, alpha):
    response = client_as(alpha.owner).get(reverse("school:branches"))
    page = response.content.decode()
    assert response.status_code == 200
    assert alpha.branch.name in page
    assert "Кабинет 1" in page
    assert reverse("school:room_create", args=[alpha.branch.pk]) in page


def test_the_owner_creates_a_branch(client_as, alpha):
    response = client_as(alpha.owner).post(
        reverse("school:branch_create"),
        {"name": "Южный", "address": "пр. Победы, 3", "managers": [alpha.manager.pk]},
    )
    assert response.status_code == 302
    branch = Branch.objects.get(organization=alpha.org, name="Южный")
    assert list(branch.managers.all()) == [alpha.manager]


def test_a_duplicate_branch_name_is_explained_and_nothing_is_saved(client_as, alpha):
    response = client_as(alpha.owner).post(reverse("school:branch_create"), {"name": alpha.branch.name})
    assert response.status_code == 200
    assert "Филиал с таким названием уже есть." in response.content.decode()
    assert Branch.objects.filter(organization=alpha.org).count() == 2


@pytest.mark.parametrize("name", ["", "   ", "Я" * 201])
def test_a_missing_or_huge_name_is_refused(client_as, alpha, name):
    response = client_as(alpha.owner).post(reverse("school:branch_create"), {"name": name})
    assert response.status_code == 200
    assert "Не сохранено" in response.content.decode()
    assert Branch.objects.filter(organization=alpha.org).count() == 2


def test_a_hostile_name_is_stored_as_text_and_escaped(client_as, alpha):
    client = client_as(alpha.owner)
    client.post(reverse("school:branch_create"), {"name": "<script>alert(1)</script>"})
    page = client.get(reverse("school:branches")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_only_the_organisations_managers_can_be_chosen(client_as, alpha, beta):
    response = client_as(alpha.owner).post(
        reverse("school:branch_create"), {"name": "Южный", "managers": [beta.manager.pk]}
    )
    assert response.status_code == 200
    assert not Branch.objects.filter(organization=alpha.org, name="Южный").exists()


def test_the_owner_renames_a_branch(client_as, alpha):
    url = reverse("school:branch_edit", args=[alpha.branch.pk])
    client = client_as(alpha.owner)
    assert alpha.branch.name in client.get(url).content.decode()
    response = client.post(url, {"name": "Центр на Ленина", "address": ""})
    assert response.status_code == 302
    alpha.branch.refresh_from_db()
    assert alpha.branch.name == "Центр на Ленина"
    assert not alpha.branch.managers.exists()


def test_the_owner_adds_and_edits_a_room(client_as, alpha):
    client = client_as(alpha.owner)
    response = client.post(
        reverse("school:room_create", args=[alpha.branch.pk]), {"name": "Кабинет 2", "capacity": 8}
    )
    assert response.status_code == 302
    room = Room.objects.get(branch=alpha.branch, name="Кабинет 2")
    response = client.post(reverse("school:room_edit", args=[room.pk]), {"name": "Кабинет 2А", "capacity": 9})
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.name, room.capacity) == ("Кабинет 2А", 9)


@pytest.mark.parametrize("capacity", ["0", "-5", "много", ""])
def test_a_room_needs_a_sensible_capacity(client_as, alpha, capacity):
    response = client_as(alpha.owner).post(
        reverse("school:room_create", args=[alpha.branch.pk]), {"name": "Кабинет 2", "capacity": capacity}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Room.objects.filter(name="Кабинет 2").exists()


def test_a_duplicate_room_is_explained(client_as, alpha):
    response = client_as(alpha.owner).post(
        reverse("school:room_create", args=[alpha.branch.pk]), {"name": "Кабинет 1", "capacity": 5}
    )
    assert "В этом филиале уже есть кабинет с таким названием." in response.content.decode()
    assert Room.objects.filter(branch=alpha.branch).count() == 1


def editing_urls(world):
    return [
        reverse("school:branches"),
        reverse("school:branch_create"),
        reverse("school:branch_edit", args=[world.branch.pk]),
        reverse("school:room_create", args=[world.branch.pk]),
        reverse("school:room_edit", args=[world.room.pk]),
    ]


@pytest.mark.parametrize("role", ["manager", "teacher", "parent", "student"])
def test_other_roles_may_not_manage_branches(client_as, alpha, role):
    client = client_as(alpha.user(role))
    for url in editing_urls(alpha):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "Взлом", "capacity": 5}).status_code == 403, url
    assert not Branch.objects.filter(name="Взлом").exists()


def test_another_organisations_owner_gets_404_on_our_branch_and_room(client_as, alpha, beta):
    client = client_as(beta.owner)
    for url in editing_urls(alpha)[2:]:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "Взлом", "capacity": 5}).status_code == 404, url
    alpha.branch.refresh_from_db()
    assert alpha.branch.name != "Взлом"
    assert not Room.objects.filter(name="Взлом").exists()
