"""Students and guardians through the API."""

import pytest

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.school.models import Guardian, Student, StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def test_staff_search_students_by_name_and_guardians_phone(alpha, api_as):
    other = f.StudentFactory(
        organization=alpha.org, branch=alpha.branch, first_name="Петя", last_name="Сидоров"
    )
    phone_parent = f.GuardianFactory(organization=alpha.org, phone="+79161234567")
    StudentGuardian.objects.create(organization=alpha.org, student=other, guardian=phone_parent)
    client = api_as(alpha.owner)

    assert ids(client.get("/students", {"q": "петрова"})) == [alpha.student.pk]
    assert ids(client.get("/students", {"q": "8 (916) 123-45-67"})) == [other.pk]
    assert sorted(ids(client.get("/students"))) == sorted([alpha.student.pk, other.pk])


def test_a_student_answer_carries_what_a_phone_shows(alpha, api_as):
    body = api_as(alpha.manager).get(f"/students/{alpha.student.pk}").json()
    assert body["full_name"] == alpha.student.full_name
    assert body["branch"] == {"id": alpha.branch.pk, "name": alpha.branch.name}
    assert body["birth_date"] == str(alpha.student.birth_date)
    assert body["notes"] == ""


def test_a_teacher_sees_only_the_children_of_their_groups(alpha, api_as):
    stranger = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch, last_name="Незнакомов")
    client = api_as(alpha.teacher)
    assert ids(client.get("/students")) == [alpha.student.pk]
    assert client.get(f"/students/{stranger.pk}").status_code == 404


def test_a_parent_sees_only_their_own_child_without_staff_notes(alpha, api_as):
    Student.objects.filter(pk=alpha.student.pk).update(notes="Боится громких звуков")
    f.StudentFactory(organization=alpha.org, branch=alpha.branch, last_name="Тайный-Ребёнок")
    for user in (alpha.parent, alpha.student_user):
        client = api_as(user)
        listed = client.get("/students")
        assert ids(listed) == [alpha.student.pk]
        assert listed.json()["items"][0]["notes"] is None
        assert "Тайный-Ребёнок" not in listed.content.decode()
    assert (
        api_as(alpha.manager).get(f"/students/{alpha.student.pk}").json()["notes"] == "Боится громких звуков"
    )


def test_a_manager_adds_and_edits_a_child(alpha, api_as):
    client = api_as(alpha.manager)
    created = client.post(
        "/students",
        {
            "first_name": "Соня",
            "last_name": "Новикова",
            "birth_date": "2017-05-02",
            "branch": alpha.branch.pk,
        },
    )
    assert created.status_code == 201, created.content
    student = Student.objects.get(pk=created.json()["id"])
    assert (student.organization, student.branch) == (alpha.org, alpha.branch)

    edited = client.patch(f"/students/{student.pk}", {"notes": "Аллергия на орехи"})
    assert edited.status_code == 200
    student.refresh_from_db()
    assert (student.first_name, student.notes) == ("Соня", "Аллергия на орехи")


def test_a_birth_date_in_the_future_is_refused_by_the_service(alpha, api_as):
    response = api_as(alpha.owner).post(
        "/students", {"first_name": "Соня", "last_name": "Новикова", "birth_date": "2199-01-01"}
    )
    assert response.status_code == 400
    assert not Student.objects.filter(last_name="Новикова").exists()


@pytest.mark.parametrize("role", ["teacher", "parent", "student"])
def test_lower_roles_cannot_add_or_edit_children(alpha, api_as, role):
    client = api_as(alpha.user(role))
    body = {"first_name": "Соня", "last_name": "Новикова", "birth_date": "2017-05-02"}
    assert client.post("/students", body).status_code == 403
    assert client.patch(f"/students/{alpha.student.pk}", {"first_name": "Взлом"}).status_code == 403


def test_another_organisations_child_is_404(alpha, beta, api_as):
    for user in (beta.owner, beta.manager, beta.parent):
        client = api_as(user)
        assert client.get(f"/students/{alpha.student.pk}").status_code == 404
    response = api_as(beta.owner).patch(f"/students/{alpha.student.pk}", {"first_name": "Чужая"})
    assert response.status_code == 404
    response = api_as(alpha.owner).post(
        "/students",
        {"first_name": "Соня", "last_name": "Новикова", "birth_date": "2017-05-02", "branch": beta.branch.pk},
    )
    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"branch": "Не найдено."}


# ---- guardians


def test_a_manager_adds_a_guardian_for_a_child(alpha, api_as):
    client = api_as(alpha.manager)
    created = client.post(
        "/guardians",
        {
            "full_name": "Петров Иван",
            "phone": "8 916 000-11-22",
            "student": alpha.student.pk,
            "relation": "father",
            "is_primary": False,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["phone"] == "+79160001122"
    assert body["children"] == [
        {
            "student": {"id": alpha.student.pk, "full_name": alpha.student.full_name},
            "relation": "father",
            "is_primary": False,
        }
    ]
    # The manager can find and edit the guardian they just made.
    assert (
        client.patch(f"/guardians/{body['id']}", {"email": "IVAN@example.ru"}).json()["email"]
        == "ivan@example.ru"
    )


def test_a_guardian_is_linked_to_a_second_child(alpha, api_as):
    sibling = f.StudentFactory(organization=alpha.org, branch=alpha.branch, first_name="Ваня")
    response = api_as(alpha.owner).post(
        f"/guardians/{alpha.guardian.pk}/children", {"student": sibling.pk, "relation": "mother"}
    )
    assert response.status_code == 201
    assert sorted(c["student"]["id"] for c in response.json()["children"]) == sorted(
        [alpha.student.pk, sibling.pk]
    )
    again = api_as(alpha.owner).post(
        f"/guardians/{alpha.guardian.pk}/children", {"student": sibling.pk, "relation": "mother"}
    )
    assert (again.status_code, error_code(again)) == (409, "already_linked")


def test_a_bad_phone_is_refused_by_the_service(alpha, api_as):
    response = api_as(alpha.owner).post(
        "/guardians", {"full_name": "Без телефона", "phone": "нет", "student": alpha.student.pk}
    )
    assert response.status_code == 400
    assert not Guardian.objects.filter(full_name="Без телефона").exists()


def test_guardians_are_for_owners_and_managers_only(alpha, api_as):
    assert ids(api_as(alpha.owner).get("/guardians", {"q": "Петрова"})) == [alpha.guardian.pk]
    assert ids(api_as(alpha.manager).get("/guardians")) == [alpha.guardian.pk]
    for role in ("teacher", "parent", "student"):
        client = api_as(alpha.user(role))
        assert client.get("/guardians").status_code == 403
        assert client.post("/guardians", {"full_name": "Х", "student": alpha.student.pk}).status_code == 403


def test_another_organisations_guardian_is_404(alpha, beta, api_as):
    client = api_as(beta.owner)
    assert client.get(f"/guardians/{alpha.guardian.pk}").status_code == 404
    assert client.patch(f"/guardians/{alpha.guardian.pk}", {"full_name": "Чужой"}).status_code == 404
    linked = client.post("/guardians", {"full_name": "Шпион", "student": alpha.student.pk})
    assert linked.status_code == 404
    assert not Guardian.objects.filter(full_name="Шпион").exists()
