"""Two people working on the same lesson at the same moment, on real PostgreSQL connections.

Marking: the unique constraint plus the upsert must leave exactly one row and raise nothing.
Marking while someone cancels: one of the two wins, never a mark on a cancelled lesson."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from kruzhok.attendance.models import AttendanceMark
from kruzhok.attendance.services import attendance_mark
from kruzhok.lib.tenancy import tenant_context
from kruzhok.school.models import Lesson, LessonStatus, Student
from kruzhok.school.services.lesson_changes import lesson_cancel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: parallel connections"),
]

ROUNDS = 5


def race(*, org_id, jobs):
    """Runs each job (a callable taking the fresh lesson and student) in its own thread, hence its
    own database connection, all released together by one barrier. Returns the exceptions raised."""
    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(job):
        try:
            # A new thread starts with no tenant; a request would have one.
            with tenant_context(org_id):
                job(barrier)
        except Exception as exc:  # noqa: BLE001 — every failure is reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return errors


def mark_job(world, user, status):
    def job(barrier):
        lesson = Lesson.objects.select_related("group", "organization").get(pk=world.lesson.pk)
        student = Student.objects.get(pk=world.student.pk)
        barrier.wait(timeout=10)
        attendance_mark(lesson=lesson, student=student, status=status, actor=user)

    return job


def cancel_job(world):
    def job(barrier):
        lesson = Lesson.objects.get(pk=world.lesson.pk)
        barrier.wait(timeout=10)
        lesson_cancel(lesson=lesson, actor=world.manager, reason="Карантин")

    return job


@pytest.mark.django_db(transaction=True)
def test_two_people_marking_at_once_leave_exactly_one_mark(alpha):
    for _ in range(ROUNDS):
        AttendanceMark.objects.filter(lesson=alpha.lesson).delete()
        errors = race(
            org_id=alpha.org.pk,
            jobs=[mark_job(alpha, alpha.teacher, "present"), mark_job(alpha, alpha.manager, "absent")],
        )
        assert errors == []
        marks = list(AttendanceMark.objects.filter(lesson=alpha.lesson, student=alpha.student))
        assert len(marks) == 1
        assert marks[0].status in ("present", "absent")
        assert marks[0].marked_by in (alpha.teacher, alpha.manager)


@pytest.mark.django_db(transaction=True)
def test_many_taps_at_once_still_leave_one_mark(alpha):
    statuses = ["present", "late", "absent", "excused", "present", "absent"]
    errors = race(org_id=alpha.org.pk, jobs=[mark_job(alpha, alpha.teacher, status) for status in statuses])
    assert errors == []
    assert AttendanceMark.objects.filter(lesson=alpha.lesson, student=alpha.student).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_mark_racing_a_cancel_never_lands_on_a_cancelled_lesson(alpha):
    for _ in range(ROUNDS):
        AttendanceMark.objects.filter(lesson=alpha.lesson).delete()
        Lesson.objects.filter(pk=alpha.lesson.pk).update(
            status=LessonStatus.SCHEDULED, cancel_reason="", attendance_taken_at=None
        )
        errors = race(
            org_id=alpha.org.pk, jobs=[mark_job(alpha, alpha.teacher, "present"), cancel_job(alpha)]
        )
        assert len(errors) == 1 and isinstance(errors[0], ValidationError)
        assert errors[0].code in ("lesson_cancelled", "attendance_taken")
        lesson = Lesson.objects.get(pk=alpha.lesson.pk)
        marks = AttendanceMark.objects.filter(lesson=alpha.lesson).count()
        if lesson.status == LessonStatus.CANCELLED:
            assert marks == 0 and errors[0].code == "lesson_cancelled"
        else:
            assert marks == 1 and errors[0].code == "attendance_taken"
