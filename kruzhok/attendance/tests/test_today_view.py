import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.attendance.services import attendance_mark
from kruzhok.school.models import LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

URL = reverse("attendance:today")


def other_group_lesson(world, *, branch=None, teacher=None, name="Шахматы-2"):
    group = f.GroupFactory(
        organization=world.org, course=world.course, branch=branch or world.branch, teacher=teacher, name=name
    )
    starts = world.lesson.starts_at + dt.timedelta(hours=2)
    return f.LessonFactory(organization=world.org, group=group, starts_at=starts, teacher=teacher)


def test_a_teacher_sees_own_lessons_of_today_with_counts(client_as, alpha):
    other_group_lesson(alpha, name="Чужая группа")
    attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    response = client_as(alpha.teacher).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Роботы-1 (alpha)" in body
    assert "16:00" in body and "Кабинет 1" in body
    assert "1 из 1" in body
    assert "Чужая группа" not in body
    assert 'name="branch"' not in body  # no branch filter for a teacher


def test_a_substitute_teacher_sees_the_lesson_they_teach(client_as, alpha):
    substitute = f.UserFactory()
    f.MembershipFactory(user=substitute, organization=alpha.org, role="teacher")
    alpha.lesson.teacher = substitute
    alpha.lesson.save()
    assert "Роботы-1 (alpha)" in client_as(substitute).get(URL).content.decode()


def test_the_owner_sees_all_branches_and_can_filter_by_one(client_as, alpha):
    other_group_lesson(alpha, branch=alpha.other_branch, name="Северная группа")
    client = client_as(alpha.owner)
    body = client.get(URL).content.decode()
    assert "Роботы-1 (alpha)" in body and "Северная группа" in body
    body = client.get(URL, {"branch": alpha.other_branch.pk}).content.decode()
    assert "Северная группа" in body and "Роботы-1 (alpha)" not in body


def test_a_manager_sees_only_their_branches(client_as, alpha):
    other_group_lesson(alpha, branch=alpha.other_branch, name="Северная группа")
    body = client_as(alpha.manager).get(URL).content.decode()
    assert "Роботы-1 (alpha)" in body and "Северная группа" not in body
    # A branch outside their scope is not a valid choice.
    response = client_as(alpha.manager).get(URL, {"branch": alpha.other_branch.pk})
    assert response.status_code == 200
    assert "Северная группа" not in response.content.decode()


def test_another_day_is_chosen_with_the_date_picker(client_as, alpha):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    starts = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(10, 30)))
    f.LessonFactory(organization=alpha.org, group=alpha.group, starts_at=starts, topic="Завтрашняя тема")
    client = client_as(alpha.teacher)
    body = client.get(URL, {"day": tomorrow.isoformat()}).content.decode()
    assert "10:30" in body and "Завтрашняя тема" in body
    assert "Первый робот" not in body
    assert "Завтрашняя тема" not in client.get(URL).content.decode()


@pytest.mark.parametrize("day", ["not-a-date", "2026-13-45", "<script>", "9" * 500])
def test_a_bad_date_is_explained_and_today_is_shown(client_as, alpha, day):
    response = client_as(alpha.teacher).get(URL, {"day": day})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Введите правильную дату" in body
    assert "Роботы-1 (alpha)" in body
    assert "<script>" not in body.split("<main")[1].replace("<script src", "")


def test_a_cancelled_lesson_is_shown_as_cancelled(client_as, alpha):
    alpha.lesson.status = LessonStatus.CANCELLED
    alpha.lesson.save()
    assert "Отменено" in client_as(alpha.teacher).get(URL).content.decode()


def test_the_day_is_the_organisations_day(client_as, alpha):
    # 23:30 in Vladivostok is still the previous day in Moscow.
    alpha.org.timezone = "Asia/Vladivostok"
    alpha.org.save()
    vladivostok = ZoneInfo("Asia/Vladivostok")
    vlad_today = timezone.localdate(timezone=vladivostok)
    starts = dt.datetime.combine(vlad_today, dt.time(23, 30), tzinfo=vladivostok)
    f.LessonFactory(organization=alpha.org, group=alpha.group, starts_at=starts, topic="Поздний урок")
    body = client_as(alpha.teacher).get(URL, {"day": vlad_today.isoformat()}).content.decode()
    assert "Поздний урок" in body and "23:30" in body


def test_the_page_runs_a_fixed_number_of_queries(client_as, alpha, django_assert_max_num_queries):
    for n in range(5):
        other_group_lesson(alpha, teacher=alpha.teacher, name=f"Группа {n}")
    client = client_as(alpha.teacher)
    with django_assert_max_num_queries(8):
        assert client.get(URL).status_code == 200


def test_a_user_of_another_organisation_never_sees_our_lessons(client_as, alpha, beta):
    for role in ("owner", "manager", "teacher"):
        body = client_as(beta.user(role)).get(URL).content.decode()
        assert "Роботы-1 (alpha)" not in body
        assert "Роботы-1 (beta)" in body


@pytest.mark.parametrize("role", ["parent", "student"])
def test_parents_and_students_get_403(client_as, alpha, role):
    assert client_as(alpha.user(role)).get(URL).status_code == 403


def test_a_teacher_starts_the_day_here(client_as, alpha):
    response = client_as(alpha.teacher).get("/")
    assert response.status_code == 302 and response["Location"] == URL
