import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kruzhok.school.models import Lesson, LessonStatus
from kruzhok.school.services.lesson_changes import (
    lesson_attendance_taken,
    lesson_cancel,
    lesson_move,
    lesson_update_content,
)
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def test_it_sets_topic_and_homework(alpha):
    lesson = lesson_update_content(
        lesson=alpha.lesson, actor=alpha.teacher, topic="  Датчики  ", homework="Собрать модель"
    )
    assert (lesson.topic, lesson.homework) == ("Датчики", "Собрать модель")
    stored = Lesson.objects.get(pk=alpha.lesson.pk)
    assert (stored.topic, stored.homework) == ("Датчики", "Собрать модель")


def test_none_leaves_a_field_as_it_was(alpha):
    lesson_update_content(lesson=alpha.lesson, actor=alpha.teacher, homework="Стр. 5")
    assert Lesson.objects.get(pk=alpha.lesson.pk).topic == "Первый робот"


def test_it_refuses_a_topic_too_long(alpha):
    with pytest.raises(ValidationError) as error:
        lesson_update_content(lesson=alpha.lesson, actor=alpha.teacher, topic="т" * 301)
    assert error.value.code == "topic_too_long"


def test_it_cancels_with_a_reason(alpha):
    lesson = lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason="Преподаватель заболел")
    assert lesson.is_cancelled
    stored = Lesson.objects.get(pk=alpha.lesson.pk)
    assert (stored.status, stored.cancel_reason) == (LessonStatus.CANCELLED, "Преподаватель заболел")


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_cancel_needs_a_reason(alpha, reason):
    with pytest.raises(ValidationError) as error:
        lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason=reason)
    assert error.value.code == "reason_required"
    assert Lesson.objects.get(pk=alpha.lesson.pk).status == LessonStatus.SCHEDULED


def test_it_refuses_to_cancel_twice(alpha):
    lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason="Карантин")
    with pytest.raises(ValidationError) as error:
        lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason="Карантин")
    assert error.value.code == "already_cancelled"


def test_it_refuses_to_cancel_a_lesson_with_attendance(alpha):
    lesson_attendance_taken(lesson=alpha.lesson)
    with pytest.raises(ValidationError) as error:
        lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason="Ошибка")
    assert error.value.code == "attendance_taken"


def test_it_moves_a_lesson_keeping_its_length_and_first_time(alpha):
    original = alpha.lesson.starts_at
    new_start = original + dt.timedelta(days=2, hours=1)
    other_room = f.RoomFactory(organization=alpha.org, branch=alpha.branch, name="Кабинет 2")
    lesson = lesson_move(
        lesson=alpha.lesson, actor=alpha.teacher, starts_at=new_start, reason="Олимпиада", room=other_room
    )
    assert (lesson.starts_at, lesson.ends_at - lesson.starts_at) == (new_start, dt.timedelta(hours=1))
    assert (lesson.moved_from, lesson.move_reason, lesson.room) == (original, "Олимпиада", other_room)

    lesson_move(
        lesson=lesson, actor=alpha.teacher, starts_at=new_start + dt.timedelta(days=1), reason="Ещё раз"
    )
    stored = Lesson.objects.get(pk=alpha.lesson.pk)
    assert stored.moved_from == original
    assert stored.room == other_room


def test_move_needs_a_reason_and_a_new_time(alpha):
    with pytest.raises(ValidationError) as error:
        lesson_move(lesson=alpha.lesson, actor=alpha.teacher, starts_at=alpha.lesson.starts_at, reason="")
    assert error.value.code == "reason_required"
    with pytest.raises(ValidationError) as error:
        lesson_move(lesson=alpha.lesson, actor=alpha.teacher, starts_at=alpha.lesson.starts_at, reason="Так")
    assert error.value.code == "same_time"
    with pytest.raises(ValidationError) as error:
        lesson_move(
            lesson=alpha.lesson, actor=alpha.teacher, starts_at=dt.datetime(2026, 12, 1, 10), reason="Так"
        )
    assert error.value.code == "invalid_time"


def test_move_refuses_a_room_of_another_organisation(alpha, beta):
    with pytest.raises(ValidationError) as error:
        lesson_move(
            lesson=alpha.lesson,
            actor=alpha.teacher,
            starts_at=alpha.lesson.starts_at + dt.timedelta(days=1),
            reason="Так",
            room=beta.room,
        )
    assert error.value.code == "invalid_room"


def test_a_cancelled_lesson_cannot_be_moved_or_edited(alpha):
    lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason="Карантин")
    with pytest.raises(ValidationError) as error:
        lesson_move(
            lesson=alpha.lesson,
            actor=alpha.teacher,
            starts_at=timezone.now() + dt.timedelta(days=1),
            reason="Так",
        )
    assert error.value.code == "lesson_cancelled"
    with pytest.raises(ValidationError) as error:
        lesson_update_content(lesson=alpha.lesson, actor=alpha.teacher, topic="Новая")
    assert error.value.code == "lesson_cancelled"


def test_attendance_taken_is_set_once_and_kept(alpha):
    lesson_attendance_taken(lesson=alpha.lesson)
    first = Lesson.objects.get(pk=alpha.lesson.pk).attendance_taken_at
    assert first is not None
    lesson_attendance_taken(lesson=alpha.lesson)
    assert Lesson.objects.get(pk=alpha.lesson.pk).attendance_taken_at == first


def test_attendance_cannot_be_taken_on_a_cancelled_lesson(alpha):
    lesson_cancel(lesson=alpha.lesson, actor=alpha.manager, reason="Карантин")
    with pytest.raises(ValidationError) as error:
        lesson_attendance_taken(lesson=alpha.lesson)
    assert error.value.code == "lesson_cancelled"
