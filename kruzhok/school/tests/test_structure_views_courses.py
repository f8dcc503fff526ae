from decimal import Decimal

import pytest
from django.urls import reverse

from kruzhok.school.models import Course

pytestmark = pytest.mark.django_db

VALID = {
    "title": "Английский для малышей",
    "subject": "english",
    "description": "Игры и песни",
    "age_min": 4,
    "age_max": 6,
    "lesson_minutes": 45,
    "lessons_per_week": 2,
    "length_weeks": 30,
    "price_per_month": "3500",
    "is_active": "on",
}


def test_the_owner_sees_the_courses(client_as, alpha):
    response = client_as(alpha.owner).get(reverse("school:courses"))
    assert response.status_code == 200
    assert "Робототехника (alpha)" in response.content.decode()


def test_the_owner_creates_a_course(client_as, alpha):
    response = client_as(alpha.owner).post(reverse("school:course_create"), VALID)
    assert response.status_code == 302
    course = Course.objects.get(organization=alpha.org, title=VALID["title"])
    assert (course.age_min, course.age_max, course.lessons_per_week) == (4, 6, 2)
    assert course.price_per_month == Decimal("3500")


def test_an_upside_down_age_range_is_explained_and_nothing_is_saved(client_as, alpha):
    response = client_as(alpha.owner).post(
        reverse("school:course_create"), {**VALID, "age_min": 12, "age_max": 7}
    )
    assert response.status_code == 200
    assert "Минимальный возраст больше максимального." in response.content.decode()
    assert not Course.objects.filter(title=VALID["title"]).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_min", "пять"),
        ("price_per_month", "-100"),
        ("lessons_per_week", "0"),
        ("subject", "magic"),
        ("title", ""),
    ],
)
def test_bad_input_is_refused_in_russian(client_as, alpha, field, value):
    response = client_as(alpha.owner).post(reverse("school:course_create"), {**VALID, field: value})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Не сохранено" in page
    assert Course.objects.filter(organization=alpha.org).count() == 1


def test_the_owner_edits_a_course(client_as, alpha):
    url = reverse("school:course_edit", args=[alpha.course.pk])
    client = client_as(alpha.owner)
    assert 'value="Робототехника (alpha)"' in client.get(url).content.decode()
    response = client.post(url, {**VALID, "title": "Робототехника (alpha)", "is_active": ""})
    assert response.status_code == 302
    alpha.course.refresh_from_db()
    assert alpha.course.is_active is False
    assert alpha.course.subject == "english"


def test_a_duplicate_title_is_explained(client_as, alpha):
    response = client_as(alpha.owner).post(
        reverse("school:course_create"), {**VALID, "title": alpha.course.title}
    )
    assert "Курс с таким названием уже есть." in response.content.decode()


@pytest.mark.parametrize("role", ["manager", "teacher", "parent", "student"])
def test_other_roles_may_not_manage_courses(client_as, alpha, role):
    client = client_as(alpha.user(role))
    for url in (
        reverse("school:courses"),
        reverse("school:course_create"),
        reverse("school:course_edit", args=[alpha.course.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, VALID).status_code == 403
    assert not Course.objects.filter(title=VALID["title"]).exists()


def test_another_organisations_owner_gets_404_on_our_course(client_as, alpha, beta):
    url = reverse("school:course_edit", args=[alpha.course.pk])
    client = client_as(beta.owner)
    assert client.get(url).status_code == 404
    assert client.post(url, VALID).status_code == 404
    alpha.course.refresh_from_db()
    assert alpha.course.title == "Робототехника (alpha)"
