import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.attendance.services import attendance_mark
from kruzhok.school.models import EnrollmentStatus, Lesson, LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def url(name, world):
    return reverse(f"attendance:{name}", args=[world.lesson.pk])


def other_teacher(world):
    user = f.UserFactory()
    f.MembershipFactory(user=user, organization=world.org, role="teacher")
    return user


# --- the journal page --------------------------------------------------------------------------


def test_the_journal_lists_the_children_of_the_day_with_four_buttons(client_as, alpha):
    petya = f.StudentFactory(organization=alpha.org, first_name="Петя", last_name="Иванов")
    f.EnrollmentFactory(
        organization=alpha.org, student=petya, group=alpha.group, status=EnrollmentStatus.TRIAL
    )
    left = f.StudentFactory(organization=alpha.org, first_name="Ушёл", last_name="Давно")
    f.EnrollmentFactory(
        organization=alpha.org,
        student=left,
        group=alpha.group,
        status=EnrollmentStatus.DROPPED,
        ended_on=timezone.localdate() - dt.timedelta(days=7),
    )
    attendance_mark(
        lesson=alpha.lesson, student=alpha.student, status="late", actor=alpha.teacher, comment="пробки"
    )
    response = client_as(alpha.teacher).get(url("lesson", alpha))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Петрова-alpha Маша" in body and "Иванов Петя" in body and "пробное" in body
    assert "Давно Ушёл" not in body
    for label in ("Был", "Опоздал", "Не был", "Уважит."):
        assert f">{label}</button>" in body
    assert 'value="late" class="late" aria-pressed="true"' in body
    assert 'value="пробки"' in body
    assert "отмечено 1 из 2" in body
    assert "Первый робот" in body
    assert 'hx-post="' + reverse("attendance:mark", args=[alpha.lesson.pk, petya.pk]) in body


def test_a_cancelled_lesson_shows_its_reason_and_no_active_buttons(client_as, alpha):
    Lesson.objects.filter(pk=alpha.lesson.pk).update(status=LessonStatus.CANCELLED, cancel_reason="Карантин")
    body = client_as(alpha.teacher).get(url("lesson", alpha)).content.decode()
    assert "Отменено" in body and "Карантин" in body
    assert 'aria-pressed="false" disabled' in body
    assert url("lesson_cancel", alpha) not in body


def test_the_journal_refuses_outsiders(client_as, alpha, beta):
    assert client_as(other_teacher(alpha)).get(url("lesson", alpha)).status_code == 404
    for role in ("owner", "manager", "teacher"):
        assert client_as(beta.user(role)).get(url("lesson", alpha)).status_code == 404
    for role in ("parent", "student"):
        assert client_as(alpha.user(role)).get(url("lesson", alpha)).status_code == 403
    assert client_as(alpha.teacher).get(reverse("attendance:lesson", args=[999999])).status_code == 404


# --- topic and homework ----------------------------------------------------------------------


def test_a_teacher_saves_topic_and_homework(client_as, alpha):
    response = client_as(alpha.teacher).post(
        url("lesson_content", alpha), {"topic": "Датчики", "homework": "Стр. 12"}, follow=True
    )
    assert response.status_code == 200
    assert "Тема и домашнее задание сохранены" in response.content.decode()
    alpha.lesson.refresh_from_db()
    assert (alpha.lesson.topic, alpha.lesson.homework) == ("Датчики", "Стр. 12")


def test_a_topic_too_long_is_explained(client_as, alpha):
    response = client_as(alpha.teacher).post(
        url("lesson_content", alpha), {"topic": "т" * 301, "homework": ""}
    )
    assert response.status_code == 400
    assert "не более 300" in response.content.decode() or "не больше 300" in response.content.decode()
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.topic == "Первый робот"


def test_hostile_homework_is_escaped(client_as, alpha):
    client = client_as(alpha.teacher)
    client.post(url("lesson_content", alpha), {"topic": "", "homework": "<script>alert(1)</script>"})
    body = client.get(url("lesson", alpha)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- cancel ----------------------------------------------------------------------------------


def test_a_teacher_cancels_with_a_reason(client_as, alpha):
    response = client_as(alpha.teacher).post(url("lesson_cancel", alpha), {"reason": "Заболел"}, follow=True)
    assert "Занятие отменено" in response.content.decode()
    alpha.lesson.refresh_from_db()
    assert (alpha.lesson.status, alpha.lesson.cancel_reason) == ("cancelled", "Заболел")


def test_cancel_without_a_reason_is_explained(client_as, alpha):
    response = client_as(alpha.teacher).post(url("lesson_cancel", alpha), {"reason": "  "})
    assert response.status_code == 400
    assert "Укажите причину отмены" in response.content.decode()
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.status == "scheduled"


def test_cancel_after_marks_is_explained(client_as, alpha):
    attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    response = client_as(alpha.teacher).post(url("lesson_cancel", alpha), {"reason": "Ошибка"})
    assert response.status_code == 400
    assert "уже отмечена посещаемость" in response.content.decode()


# --- move ------------------------------------------------------------------------------------


def test_a_teacher_moves_a_lesson_in_the_centres_time(client_as, alpha):
    room2 = f.RoomFactory(organization=alpha.org, branch=alpha.branch, name="Кабинет 2")
    new_day = timezone.localdate() + dt.timedelta(days=3)
    response = client_as(alpha.teacher).post(
        url("lesson_move", alpha),
        {"date": new_day.isoformat(), "time": "18:30", "room": room2.pk, "reason": "Олимпиада"},
        follow=True,
    )
    assert "Занятие перенесено" in response.content.decode()
    alpha.lesson.refresh_from_db()
    local = timezone.localtime(alpha.lesson.starts_at)  # Europe/Moscow, the organisation's zone
    assert (local.date(), local.time()) == (new_day, dt.time(18, 30))
    assert alpha.lesson.ends_at - alpha.lesson.starts_at == dt.timedelta(hours=1)
    assert (alpha.lesson.room, alpha.lesson.move_reason) == (room2, "Олимпиада")
    assert alpha.lesson.moved_from is not None


@pytest.mark.parametrize(
    "data, message",
    [
        ({"date": "", "time": "18:00", "reason": "x"}, "Укажите дату"),
        ({"date": "2026-02-31", "time": "18:00", "reason": "x"}, "ГГГГ-ММ-ДД"),
        ({"date": "2026-12-01", "time": "25:99", "reason": "x"}, "ЧЧ:ММ"),
        ({"date": "2026-12-01", "time": "18:00", "reason": ""}, "Укажите причину переноса"),
        ({"date": "2026-12-01", "time": "18:00", "reason": "x" * 301}, "300"),
    ],
)
def test_bad_move_input_is_explained(client_as, alpha, data, message):
    response = client_as(alpha.teacher).post(url("lesson_move", alpha), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.moved_from is None


def test_a_room_of_another_branch_or_organisation_is_not_a_choice(client_as, alpha, beta):
    far_room = f.RoomFactory(organization=alpha.org, branch=alpha.other_branch)
    for room in (far_room, beta.room):
        response = client_as(alpha.teacher).post(
            url("lesson_move", alpha), {"date": "2026-12-01", "time": "18:00", "room": room.pk, "reason": "x"}
        )
        assert response.status_code == 400
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.room == alpha.room


@pytest.mark.parametrize("name", ["lesson_content", "lesson_cancel", "lesson_move"])
def test_lesson_changes_refuse_outsiders(client_as, alpha, beta, name):
    data = {"topic": "x", "reason": "x", "date": "2026-12-01", "time": "18:00"}
    assert client_as(other_teacher(alpha)).post(url(name, alpha), data).status_code == 404
    for role in ("owner", "manager", "teacher"):
        assert client_as(beta.user(role)).post(url(name, alpha), data).status_code == 404
    for role in ("parent", "student"):
        assert client_as(alpha.user(role)).post(url(name, alpha), data).status_code == 403
    assert client_as(alpha.teacher).get(url(name, alpha)).status_code == 405
    alpha.lesson.refresh_from_db()
    assert (alpha.lesson.status, alpha.lesson.topic, alpha.lesson.moved_from) == (
        "scheduled",
        "Первый робот",
        None,
    )
