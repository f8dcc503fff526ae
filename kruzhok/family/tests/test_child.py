import pytest
from django.urls import reverse

from kruzhok.family.tests.helpers import in_days
from kruzhok.school.models import LessonStatus

pytestmark = pytest.mark.django_db


def url(student):
    return reverse("family:child", args=[student.pk])


def test_a_parent_sees_groups_teachers_topics_and_homework(alpha, client_as, make_lesson, mark):
    alpha.teacher.first_name, alpha.teacher.last_name = "Анна", "Учителева"
    alpha.teacher.save()
    past = make_lesson(alpha, starts_at=in_days(-7), topic="Моторы", homework="Нарисовать схему")
    mark(alpha, past, "present")
    make_lesson(alpha, starts_at=in_days(-3), status=LessonStatus.CANCELLED, cancel_reason="Ремонт")
    make_lesson(alpha, starts_at=in_days(2), topic="Соревнование")

    response = client_as(alpha.parent).get(url(alpha.student))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Роботы-1 (alpha)" in page
    assert "Анна Учителева" in page
    assert "Моторы" in page
    assert "Нарисовать схему" in page
    assert "Был" in page
    assert "Ремонт" in page
    assert "Соревнование" in page


def test_a_parent_cannot_open_a_neighbours_child(alpha, other_family, client_as):
    assert client_as(alpha.parent).get(url(other_family["child"])).status_code == 404


def test_a_beta_parent_cannot_open_an_alpha_child(alpha, beta, client_as):
    assert client_as(beta.parent).get(url(alpha.student)).status_code == 404


def test_an_unknown_child_is_404(alpha, client_as):
    assert client_as(alpha.parent).get("/family/children/999999999/").status_code == 404


@pytest.mark.parametrize("role", ["owner", "manager", "teacher", "student"])
def test_other_roles_get_403(alpha, client_as, role):
    assert client_as(alpha.user(role)).get(url(alpha.student)).status_code == 403
