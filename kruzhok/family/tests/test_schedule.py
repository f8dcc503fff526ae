import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.family.tests.helpers import in_days
from kruzhok.school.models import LessonStatus
from kruzhok.school.services.lesson_changes import lesson_cancel, lesson_move

pytestmark = pytest.mark.django_db
URL = reverse("family:schedule")


def test_a_parent_sees_four_weeks_of_their_childs_lessons(alpha, client_as, make_lesson):
    make_lesson(alpha, starts_at=in_days(27, hour=10), topic="Итоговый проект")
    make_lesson(alpha, starts_at=in_days(29, hour=10), topic="Слишком далеко")
    response = client_as(alpha.parent).get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Робототехника (alpha)" in page
    assert "Первый робот" in page  # today's lesson from the world
    assert "Итоговый проект" in page
    assert "Слишком далеко" not in page


def test_cancelled_and_moved_lessons_are_marked_clearly(alpha, client_as, make_lesson):
    make_lesson(alpha, starts_at=in_days(1), status=LessonStatus.CANCELLED, cancel_reason="Карантин")
    make_lesson(alpha, starts_at=in_days(3, hour=18), moved_from=in_days(2), move_reason="Праздник")
    page = client_as(alpha.parent).get(URL).content.decode()
    assert "Отменено" in page
    assert "Карантин" in page
    assert "is-cancelled" in page
    assert "Перенесено" in page
    assert "Праздник" in page


def test_week_navigation_moves_the_window(alpha, client_as, make_lesson):
    make_lesson(alpha, starts_at=in_days(30, hour=10), topic="Через месяц")
    start = timezone.localdate() + dt.timedelta(days=7)
    page = client_as(alpha.parent).get(URL, {"start": start.isoformat()}).content.decode()
    assert "Через месяц" in page
    assert "Первый робот" not in page
    assert f"?start={(start - dt.timedelta(days=7)).isoformat()}" in page
    assert f"?start={(start + dt.timedelta(days=7)).isoformat()}" in page


@pytest.mark.parametrize(
    "start", ["garbage", "9999-12-31", "0001-01-01", "<script>alert(1)</script>", "2026-02-30", "1" * 5000]
)
def test_bad_dates_are_explained_and_today_is_shown(alpha, client_as, start):
    response = client_as(alpha.parent).get(URL, {"start": start})
    page = response.content.decode()
    assert response.status_code == 200
    assert "errorlist" in page
    assert "<script>alert" not in page
    assert "Первый робот" in page


def test_an_htmx_request_gets_only_the_weeks(alpha, client_as):
    response = client_as(alpha.parent).get(URL, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "Первый робот" in page


def test_a_student_sees_their_own_schedule_without_the_calendar_link(alpha, client_as):
    page = client_as(alpha.student_user).get(URL).content.decode()
    assert "Первый робот" in page
    assert 'id="calendar"' not in page


def test_a_parent_is_offered_a_calendar_link(alpha, client_as):
    page = client_as(alpha.parent).get(URL).content.decode()
    assert 'id="calendar"' in page
    assert "Получить ссылку" in page


@pytest.mark.parametrize("role", ["owner", "manager", "teacher"])
def test_staff_get_403(alpha, client_as, role):
    assert client_as(alpha.user(role)).get(URL).status_code == 403


def test_a_beta_parent_never_sees_alpha_lessons(alpha, beta, client_as, make_lesson):
    make_lesson(alpha, starts_at=in_days(1), topic="Секрет альфы")
    page = client_as(beta.parent).get(URL).content.decode()
    assert "Робототехника (beta)" in page
    assert "Робототехника (alpha)" not in page
    assert "Секрет альфы" not in page


def test_the_schedule_query_count_does_not_grow_with_lessons(
    alpha, client_as, make_lesson, django_assert_max_num_queries
):
    for days in range(1, 20):
        # No room of its own: the group's room (and its branch) is shown instead.
        make_lesson(alpha, starts_at=in_days(days), room=None, teacher=None)
    client = client_as(alpha.parent)
    with django_assert_max_num_queries(10):
        assert client.get(URL).status_code == 200


def test_lessons_cancelled_and_moved_through_the_journal_show_up(alpha, client_as, make_lesson):
    lesson_cancel(lesson=make_lesson(alpha, starts_at=in_days(1)), actor=alpha.teacher, reason="Карантин")
    lesson_move(
        lesson=make_lesson(alpha, starts_at=in_days(2)),
        actor=alpha.teacher,
        starts_at=in_days(3, hour=12),
        reason="Праздник",
    )
    page = client_as(alpha.parent).get(URL).content.decode()
    assert "Карантин" in page
    assert "Перенесено" in page
    assert "12:00" in page
