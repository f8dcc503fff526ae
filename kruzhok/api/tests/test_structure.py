"""The organisation, branches, rooms, courses and groups through the API."""

import datetime as dt

import pytest

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.school.models import Branch, Course, Group, Lesson
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


# ---- organisation


@pytest.mark.parametrize("role", ["owner", "manager", "teacher", "parent", "student"])
def test_every_role_reads_its_organisation(alpha, api_as, role):
    response = api_as(alpha.user(role)).get("/organization")
    assert response.status_code == 200
    assert response.json() == {
        "id": alpha.org.id,
        "name": "Альфа",
        "slug": "alpha",
        "timezone": "Europe/Moscow",
        "role": role,
    }


# ---- branches and rooms


def test_staff_list_and_read_branches(alpha, beta, api_as):
    for role in ("owner", "manager", "teacher"):
        client = api_as(alpha.user(role))
        listed = client.get("/branches")
        assert listed.status_code == 200
        assert sorted(ids(listed)) == sorted([alpha.branch.pk, alpha.other_branch.pk])
        assert listed.json()["count"] == 2
        read = client.get(f"/branches/{alpha.branch.pk}")
        assert read.json() == {
            "id": alpha.branch.pk,
            "name": alpha.branch.name,
            "address": alpha.branch.address,
        }


@pytest.mark.parametrize("role", ["parent", "student"])
def test_families_may_not_list_branches(alpha, api_as, role):
    response = api_as(alpha.user(role)).get("/branches")
    assert response.status_code == 403
    assert error_code(response) == "forbidden"


def test_the_owner_creates_and_renames_a_branch(alpha, api_as):
    client = api_as(alpha.owner)
    created = client.post("/branches", {"name": "Альфа: юг", "address": "ул. Южная, 5"})
    assert created.status_code == 201
    branch = Branch.objects.get(pk=created.json()["id"])
    assert (branch.organization, branch.address) == (alpha.org, "ул. Южная, 5")

    renamed = client.patch(f"/branches/{branch.pk}", {"name": "Альфа: юг-2"})
    assert renamed.status_code == 200
    branch.refresh_from_db()
    assert (branch.name, branch.address) == ("Альфа: юг-2", "ул. Южная, 5")


@pytest.mark.parametrize("role", ["manager", "teacher", "parent", "student"])
def test_only_the_owner_changes_branches(alpha, api_as, role):
    client = api_as(alpha.user(role))
    assert client.post("/branches", {"name": "Захват"}).status_code == 403
    assert client.patch(f"/branches/{alpha.branch.pk}", {"name": "Захват"}).status_code == 403
    alpha.branch.refresh_from_db()
    assert alpha.branch.name != "Захват"


def test_another_organisations_branch_is_404(alpha, beta, api_as):
    client = api_as(beta.owner)
    assert client.get(f"/branches/{alpha.branch.pk}").status_code == 404
    response = client.patch(f"/branches/{alpha.branch.pk}", {"name": "Чужой"})
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    alpha.branch.refresh_from_db()
    assert alpha.branch.name != "Чужой"


def test_rooms_are_listed_by_branch_and_created_by_the_owner(alpha, beta, api_as):
    client = api_as(alpha.owner)
    listed = client.get("/rooms", {"branch": alpha.branch.pk})
    assert ids(listed) == [alpha.room.pk]
    assert listed.json()["items"][0]["branch"] == {"id": alpha.branch.pk, "name": alpha.branch.name}
    assert client.get("/rooms", {"branch": alpha.other_branch.pk}).json()["items"] == []

    created = client.post("/rooms", {"branch": alpha.other_branch.pk, "name": "Зал", "capacity": 20})
    assert created.status_code == 201
    assert created.json()["capacity"] == 20
    updated = client.patch(f"/rooms/{created.json()['id']}", {"capacity": 25})
    assert updated.json()["capacity"] == 25

    foreign = client.post("/rooms", {"branch": beta.branch.pk, "name": "Чужой зал"})
    assert foreign.status_code == 404
    assert foreign.json()["error"]["fields"] == {"branch": "Не найдено."}
    assert api_as(beta.owner).get(f"/rooms/{alpha.room.pk}").status_code == 404
    assert api_as(alpha.manager).post("/rooms", {"branch": alpha.branch.pk, "name": "Ещё"}).status_code == 403


# ---- courses


def test_the_owner_creates_and_updates_a_course(alpha, api_as):
    client = api_as(alpha.owner)
    created = client.post(
        "/courses",
        {
            "title": "Шахматы для начинающих",
            "subject": "chess",
            "age_min": 6,
            "age_max": 10,
            "price_per_month": "3500.50",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["subject"], body["price_per_month"], body["is_active"]) == ("chess", "3500.50", True)

    updated = client.patch(f"/courses/{body['id']}", {"is_active": False, "lessons_per_week": 2})
    assert updated.status_code == 200
    course = Course.objects.get(pk=body["id"])
    assert (course.is_active, course.lessons_per_week, course.title) == (False, 2, "Шахматы для начинающих")


def test_a_course_with_an_unknown_subject_is_invalid_input(alpha, api_as):
    response = api_as(alpha.owner).post("/courses", {"title": "Курс", "subject": "alchemy"})
    assert response.status_code == 422
    assert "subject" in response.json()["error"]["fields"]


def test_course_rules_of_the_service_answer_400(alpha, api_as):
    response = api_as(alpha.owner).post("/courses", {"title": "Курс", "age_min": 12, "age_max": 7})
    assert response.status_code == 400
    assert error_code(response) == "age_range"


def test_courses_permissions_and_isolation(alpha, beta, api_as):
    assert api_as(alpha.teacher).get("/courses").status_code == 200
    assert api_as(alpha.manager).post("/courses", {"title": "Курс"}).status_code == 403
    assert api_as(alpha.parent).get("/courses").status_code == 403
    assert api_as(beta.owner).get(f"/courses/{alpha.course.pk}").status_code == 404
    assert api_as(beta.owner).patch(f"/courses/{alpha.course.pk}", {"title": "Чужой"}).status_code == 404


# ---- groups


def group_body(world, **overrides):
    today = dt.date.today()
    body = {
        "course": world.course.pk,
        "branch": world.branch.pk,
        "name": "Роботы-2",
        "capacity": 8,
        "start_date": str(today),
        "end_date": str(today + dt.timedelta(days=90)),
        "room": world.room.pk,
        "teacher": world.teacher.pk,
        "slots": [{"weekday": 2, "start_time": "17:30", "duration_minutes": 90}],
    }
    return {**body, **overrides}


def test_the_owner_creates_a_group_with_its_schedule(alpha, api_as):
    response = api_as(alpha.owner).post("/groups", group_body(alpha))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["course"] == {"id": alpha.course.pk, "title": alpha.course.title}
    assert body["teacher"]["id"] == alpha.teacher.pk
    assert body["slots"] == [{"weekday": 2, "start_time": "17:30", "duration_minutes": 90}]
    # The service generated the lessons of the new schedule.
    assert Lesson.objects.filter(group_id=body["id"]).exists()


def test_the_owner_changes_a_groups_schedule_and_teacher(alpha, api_as):
    client = api_as(alpha.owner)
    response = client.patch(
        f"/groups/{alpha.group.pk}",
        {"capacity": 12, "teacher": None, "slots": [{"weekday": 4, "start_time": "10:00"}]},
    )
    assert response.status_code == 200, response.content
    alpha.group.refresh_from_db()
    assert (alpha.group.capacity, alpha.group.teacher) == (12, None)
    assert [(s.weekday, s.duration_minutes) for s in alpha.group.slots.all()] == [(4, 60)]


def test_a_group_refers_only_to_its_own_organisation(alpha, beta, api_as):
    client = api_as(alpha.owner)
    for field, foreign in (
        ("course", beta.course.pk),
        ("branch", beta.branch.pk),
        ("room", beta.room.pk),
        ("teacher", beta.teacher.pk),
    ):
        response = client.post("/groups", group_body(alpha, name=f"Группа {field}", **{field: foreign}))
        assert response.status_code == 404, field
        assert response.json()["error"]["fields"] == {field: "Не найдено."}
    assert not Group.objects.filter(name__startswith="Группа ").exists()


def test_a_parent_cannot_be_a_groups_teacher(alpha, api_as):
    response = api_as(alpha.owner).post("/groups", group_body(alpha, teacher=alpha.parent.pk))
    assert response.status_code == 404
    assert "teacher" in response.json()["error"]["fields"]


def test_groups_are_scoped_like_the_site(alpha, api_as):
    other = f.GroupFactory(
        organization=alpha.org, course=alpha.course, branch=alpha.other_branch, name="Север-1"
    )
    assert sorted(ids(api_as(alpha.owner).get("/groups"))) == sorted([alpha.group.pk, other.pk])
    # The manager runs branch A1 only, the teacher teaches Роботы-1 only.
    assert ids(api_as(alpha.manager).get("/groups")) == [alpha.group.pk]
    assert ids(api_as(alpha.teacher).get("/groups")) == [alpha.group.pk]
    assert api_as(alpha.teacher).get(f"/groups/{other.pk}").status_code == 404
    assert api_as(alpha.parent).get("/groups").status_code == 403


def test_groups_filter_by_branch_course_and_teacher(alpha, api_as):
    other = f.GroupFactory(
        organization=alpha.org, course=alpha.course, branch=alpha.other_branch, name="Север-1"
    )
    client = api_as(alpha.owner)
    assert ids(client.get("/groups", {"branch": alpha.other_branch.pk})) == [other.pk]
    assert ids(client.get("/groups", {"teacher": alpha.teacher.pk})) == [alpha.group.pk]
    assert sorted(ids(client.get("/groups", {"course": alpha.course.pk}))) == sorted(
        [alpha.group.pk, other.pk]
    )


@pytest.mark.parametrize("role", ["manager", "teacher"])
def test_only_the_owner_creates_or_changes_groups(alpha, api_as, role):
    client = api_as(alpha.user(role))
    assert client.post("/groups", group_body(alpha)).status_code == 403
    assert client.patch(f"/groups/{alpha.group.pk}", {"capacity": 1}).status_code == 403


def test_another_organisations_group_is_404(alpha, beta, api_as):
    client = api_as(beta.owner)
    assert client.get(f"/groups/{alpha.group.pk}").status_code == 404
    assert client.patch(f"/groups/{alpha.group.pk}", {"capacity": 1}).status_code == 404
    alpha.group.refresh_from_db()
    assert alpha.group.capacity != 1
