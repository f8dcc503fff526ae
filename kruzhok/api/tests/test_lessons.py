import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.school.models import LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def lesson_on(world, day: dt.date, group=None, hour: int = 16):
    starts = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))
    return f.LessonFactory(
        organization=world.org,
        group=group or world.group,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        teacher=world.teacher,
    )


def test_a_teacher_lists_their_lessons_with_names_for_the_phone(alpha, api_as):
    response = api_as(alpha.teacher).get("/lessons")
    assert response.status_code == 200
    item = response.json()["items"][0]
    assert item["id"] == alpha.lesson.pk
    assert item["group"] == {"id": alpha.group.pk, "name": alpha.group.name}
    assert item["course"]["title"] == alpha.course.title
    assert item["branch"]["name"] == alpha.branch.name
    assert item["room"]["name"] == "Кабинет 1"
    assert item["topic"] == "Первый робот"
    assert item["status"] == "scheduled"


def test_lessons_filter_by_date_range_and_group(alpha, api_as):
    today = timezone.localdate()
    next_week = lesson_on(alpha, today + dt.timedelta(days=7))
    other_group = f.GroupFactory(
        organization=alpha.org, course=alpha.course, branch=alpha.branch, name="Другая"
    )
    elsewhere = lesson_on(alpha, today, group=other_group, hour=10)
    client = api_as(alpha.owner)

    assert ids(client.get("/lessons", {"date_from": str(today), "date_to": str(today)})) == [
        elsewhere.pk,
        alpha.lesson.pk,
    ]
    assert ids(client.get("/lessons", {"date_from": str(today + dt.timedelta(days=1))})) == [next_week.pk]
    assert ids(client.get("/lessons", {"group": other_group.pk})) == [elsewhere.pk]
    assert ids(client.get("/lessons", {"date_to": str(today - dt.timedelta(days=1))})) == []


def test_an_inverted_date_range_is_invalid_input(alpha, api_as):
    response = api_as(alpha.owner).get("/lessons", {"date_from": "2026-10-10", "date_to": "2026-10-01"})
    assert response.status_code == 422
    assert "date_to" in response.json()["error"]["fields"]


def test_a_parent_sees_the_lessons_of_their_childs_group_only(alpha, api_as):
    other_group = f.GroupFactory(
        organization=alpha.org, course=alpha.course, branch=alpha.branch, name="Чужая"
    )
    foreign = lesson_on(alpha, timezone.localdate(), group=other_group, hour=11)
    for user in (alpha.parent, alpha.student_user):
        client = api_as(user)
        listed = client.get("/lessons")
        assert listed.status_code == 200
        assert ids(listed) == [alpha.lesson.pk]
        assert client.get(f"/lessons/{alpha.lesson.pk}").status_code == 200
        assert client.get(f"/lessons/{foreign.pk}").status_code == 404


def test_a_teacher_sets_the_topic_and_homework(alpha, api_as):
    response = api_as(alpha.teacher).patch(
        f"/lessons/{alpha.lesson.pk}", {"topic": "Датчики", "homework": "Собрать модель"}
    )
    assert response.status_code == 200
    alpha.lesson.refresh_from_db()
    assert (alpha.lesson.topic, alpha.lesson.homework) == ("Датчики", "Собрать модель")


def test_changing_only_the_homework_keeps_the_topic(alpha, api_as):
    api_as(alpha.teacher).patch(f"/lessons/{alpha.lesson.pk}", {"homework": "Повторить"})
    alpha.lesson.refresh_from_db()
    assert (alpha.lesson.topic, alpha.lesson.homework) == ("Первый робот", "Повторить")


@pytest.mark.parametrize("role", ["parent", "student"])
def test_families_cannot_change_a_lesson(alpha, api_as, role):
    response = api_as(alpha.user(role)).patch(f"/lessons/{alpha.lesson.pk}", {"topic": "Взлом"})
    assert response.status_code == 403
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.topic == "Первый робот"


def test_a_teacher_cannot_change_another_teachers_lesson(alpha, api_as):
    other_group = f.GroupFactory(
        organization=alpha.org, course=alpha.course, branch=alpha.branch, name="Чужая"
    )
    other = lesson_on(alpha, timezone.localdate(), group=other_group)
    other.teacher = None
    other.save()
    assert api_as(alpha.teacher).patch(f"/lessons/{other.pk}", {"topic": "Моё"}).status_code == 404


def test_a_cancelled_lesson_keeps_its_content(alpha, api_as):
    client = api_as(alpha.teacher)
    cancelled = client.post(f"/lessons/{alpha.lesson.pk}/cancel", {"reason": "Болезнь преподавателя"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == LessonStatus.CANCELLED
    again = client.post(f"/lessons/{alpha.lesson.pk}/cancel", {"reason": "Ещё раз"})
    assert (again.status_code, error_code(again)) == (409, "already_cancelled")
    edit = client.patch(f"/lessons/{alpha.lesson.pk}", {"topic": "Поздно"})
    assert (edit.status_code, error_code(edit)) == (409, "lesson_cancelled")


def test_another_organisations_lesson_is_404(alpha, beta, api_as):
    for user in (beta.owner, beta.teacher, beta.parent):
        client = api_as(user)
        assert client.get(f"/lessons/{alpha.lesson.pk}").status_code == 404
        assert alpha.lesson.pk not in ids(client.get("/lessons"))
    response = api_as(beta.owner).patch(f"/lessons/{alpha.lesson.pk}", {"topic": "Чужое"})
    assert response.status_code == 404
