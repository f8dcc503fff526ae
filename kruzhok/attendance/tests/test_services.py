import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kruzhok.attendance.models import AttendanceMark
from kruzhok.attendance.services import attendance_mark
from kruzhok.school.models import EnrollmentStatus, Lesson, LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def lesson_day(world):
    return world.lesson.starts_at.date()


def test_it_creates_a_mark_and_flags_the_lesson_as_taken(alpha):
    mark = attendance_mark(
        lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher, comment=" пришла "
    )
    assert (mark.status, mark.comment, mark.marked_by) == ("present", "пришла", alpha.teacher)
    assert mark.enrollment == alpha.enrollment
    assert mark.organization == alpha.org
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.attendance_taken_at is not None


def test_marking_again_changes_the_mark_and_never_duplicates_it(alpha):
    first = attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    second = attendance_mark(
        lesson=alpha.lesson, student=alpha.student, status="late", actor=alpha.manager, comment="на 10 минут"
    )
    assert second.pk == first.pk
    assert AttendanceMark.objects.filter(lesson=alpha.lesson, student=alpha.student).count() == 1
    stored = AttendanceMark.objects.get(pk=first.pk)
    assert (stored.status, stored.comment, stored.marked_by) == ("late", "на 10 минут", alpha.manager)
    assert stored.created_at == first.created_at
    assert stored.updated_at >= first.updated_at


def test_it_refuses_a_cancelled_lesson(alpha):
    Lesson.objects.filter(pk=alpha.lesson.pk).update(status=LessonStatus.CANCELLED)
    # The caller's copy still says "scheduled": the service must read the lesson again.
    with pytest.raises(ValidationError) as error:
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    assert error.value.code == "lesson_cancelled"
    assert "отменено" in error.value.messages[0]
    assert not AttendanceMark.objects.exists()


def test_it_refuses_a_child_not_in_the_group(alpha):
    stranger = f.StudentFactory(organization=alpha.org, first_name="Вася", last_name="Чужой")
    with pytest.raises(ValidationError) as error:
        attendance_mark(lesson=alpha.lesson, student=stranger, status="present", actor=alpha.teacher)
    assert error.value.code == "not_in_group"
    assert "Чужой Вася" in error.value.messages[0]
    assert not AttendanceMark.objects.exists()


def test_it_refuses_a_child_of_another_organisation(alpha, beta):
    with pytest.raises(ValidationError) as error:
        attendance_mark(lesson=alpha.lesson, student=beta.student, status="present", actor=alpha.teacher)
    assert error.value.code == "not_in_group"


def test_it_refuses_a_child_who_left_before_the_lesson_date(alpha):
    day = lesson_day(alpha)
    alpha.enrollment.status = EnrollmentStatus.DROPPED
    alpha.enrollment.ended_on = day - dt.timedelta(days=1)
    alpha.enrollment.save()
    with pytest.raises(ValidationError) as error:
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="absent", actor=alpha.teacher)
    assert error.value.code == "not_in_group"


def test_it_accepts_a_child_who_left_after_the_lesson_date(alpha):
    day = lesson_day(alpha)
    alpha.enrollment.status = EnrollmentStatus.DROPPED
    alpha.enrollment.ended_on = day + dt.timedelta(days=3)
    alpha.enrollment.save()
    mark = attendance_mark(lesson=alpha.lesson, student=alpha.student, status="absent", actor=alpha.teacher)
    assert mark.enrollment == alpha.enrollment


def test_the_day_a_child_leaves_is_still_their_day_in_the_group(alpha):
    # ended_on is the last day in the group (school's enrolled_students_on rule).
    alpha.enrollment.status = EnrollmentStatus.DROPPED
    alpha.enrollment.ended_on = lesson_day(alpha)
    alpha.enrollment.save()
    assert attendance_mark(
        lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher
    ).pk


def test_it_refuses_a_child_who_joined_after_the_lesson_date(alpha):
    newcomer = f.StudentFactory(organization=alpha.org)
    f.EnrollmentFactory(
        organization=alpha.org,
        student=newcomer,
        group=alpha.group,
        started_on=lesson_day(alpha) + dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError) as error:
        attendance_mark(lesson=alpha.lesson, student=newcomer, status="present", actor=alpha.teacher)
    assert error.value.code == "not_in_group"


def test_a_child_on_trial_or_pause_can_be_marked(alpha):
    for status in (EnrollmentStatus.TRIAL, EnrollmentStatus.PAUSED):
        child = f.StudentFactory(organization=alpha.org)
        f.EnrollmentFactory(
            organization=alpha.org,
            student=child,
            group=alpha.group,
            status=status,
            started_on=lesson_day(alpha),
        )
        assert attendance_mark(lesson=alpha.lesson, student=child, status="excused", actor=alpha.teacher).pk


@pytest.mark.parametrize("status", ["", "here", "PRESENT", "<script>alert(1)</script>", None])
def test_it_refuses_an_unknown_status(alpha, status):
    with pytest.raises(ValidationError) as error:
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status=status, actor=alpha.teacher)
    assert error.value.code == "invalid_status"
    assert not AttendanceMark.objects.exists()


def test_it_refuses_a_comment_longer_than_300_characters(alpha):
    with pytest.raises(ValidationError) as error:
        attendance_mark(
            lesson=alpha.lesson, student=alpha.student, status="late", actor=alpha.teacher, comment="я" * 301
        )
    assert error.value.code == "comment_too_long"
    assert "300" in error.value.messages[0]
    mark = attendance_mark(
        lesson=alpha.lesson, student=alpha.student, status="late", actor=alpha.teacher, comment="я" * 300
    )
    assert len(mark.comment) == 300


def test_a_hostile_comment_is_stored_as_plain_text(alpha):
    mark = attendance_mark(
        lesson=alpha.lesson,
        student=alpha.student,
        status="late",
        actor=alpha.teacher,
        comment="<script>x</script>",
    )
    assert mark.comment == "<script>x</script>"
