import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.school.models import Holiday, Lesson
from kruzhok.school.services.lessons import lessons_generate

pytestmark = pytest.mark.django_db

URL = reverse("school:holidays")


def future_lessons(world):
    return Lesson.objects.filter(group=world.group, origin_date__gt=timezone.localdate())


def test_the_owner_sees_the_holidays_page(client_as, alpha):
    Holiday.objects.create(
        organization=alpha.org, name="Новый год", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 1, 8)
    )
    response = client_as(alpha.owner).get(URL)
    assert response.status_code == 200
    assert "Новый год" in response.content.decode()


def test_adding_a_holiday_removes_the_lessons_on_those_days(client_as, alpha):
    lessons_generate(org=alpha.org)
    today = timezone.localdate()
    before = future_lessons(alpha).count()
    response = client_as(alpha.owner).post(
        URL,
        {
            "name": "Каникулы",
            "start_date": (today + dt.timedelta(days=1)).isoformat(),
            "end_date": (today + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 302
    assert Holiday.objects.filter(organization=alpha.org, name="Каникулы").exists()
    assert future_lessons(alpha).count() == before - 1
    assert Lesson.objects.filter(pk=alpha.lesson.pk).exists()


def test_a_holiday_that_ends_before_it_starts_is_explained(client_as, alpha):
    response = client_as(alpha.owner).post(
        URL, {"name": "Каникулы", "start_date": "2027-01-08", "end_date": "2027-01-01"}
    )
    assert response.status_code == 200
    assert "Дата окончания раньше даты начала." in response.content.decode()
    assert not Holiday.objects.filter(organization=alpha.org).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "start_date": "2027-01-01", "end_date": "2027-01-02"},
        {"name": "Каникулы", "start_date": "первое января", "end_date": "2027-01-02"},
        {"name": "Каникулы", "start_date": "2027-01-01"},
        {"name": "Я" * 500, "start_date": "2027-01-01", "end_date": "2027-01-02"},
    ],
)
def test_bad_input_is_refused_in_russian(client_as, alpha, data):
    response = client_as(alpha.owner).post(URL, data)
    assert response.status_code == 200
    assert "Не сохранено" in response.content.decode()
    assert not Holiday.objects.filter(organization=alpha.org).exists()


def test_deleting_a_holiday_brings_the_lessons_back(client_as, alpha):
    today = timezone.localdate()
    client = client_as(alpha.owner)
    client.post(
        URL,
        {
            "name": "Каникулы",
            "start_date": (today + dt.timedelta(days=1)).isoformat(),
            "end_date": (today + dt.timedelta(days=7)).isoformat(),
        },
    )
    holiday = Holiday.objects.get(organization=alpha.org)
    without = future_lessons(alpha).count()
    response = client.post(reverse("school:holiday_delete", args=[holiday.pk]))
    assert response.status_code == 302
    assert not Holiday.objects.filter(pk=holiday.pk).exists()
    assert future_lessons(alpha).count() == without + 1


def test_deleting_needs_a_post(client_as, alpha):
    holiday = Holiday.objects.create(
        organization=alpha.org, name="Каникулы", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 1, 2)
    )
    assert client_as(alpha.owner).get(reverse("school:holiday_delete", args=[holiday.pk])).status_code == 405
    assert Holiday.objects.filter(pk=holiday.pk).exists()


@pytest.mark.parametrize("role", ["manager", "teacher", "parent", "student"])
def test_other_roles_may_not_manage_holidays(client_as, alpha, role):
    holiday = Holiday.objects.create(
        organization=alpha.org, name="Каникулы", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 1, 2)
    )
    client = client_as(alpha.user(role))
    assert client.get(URL).status_code == 403
    assert (
        client.post(URL, {"name": "Ещё", "start_date": "2027-02-01", "end_date": "2027-02-02"}).status_code
        == 403
    )
    assert client.post(reverse("school:holiday_delete", args=[holiday.pk])).status_code == 403
    assert list(Holiday.objects.filter(organization=alpha.org)) == [holiday]


def test_another_organisations_owner_cannot_delete_our_holiday(client_as, alpha, beta):
    holiday = Holiday.objects.create(
        organization=alpha.org, name="Каникулы", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 1, 2)
    )
    assert client_as(beta.owner).post(reverse("school:holiday_delete", args=[holiday.pk])).status_code == 404
    assert Holiday.objects.filter(pk=holiday.pk).exists()
