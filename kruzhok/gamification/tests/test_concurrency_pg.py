"""Two deliveries of the same event at the same moment, on PostgreSQL (SQLite serialises writers anyway).

Run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/kruzhok_gam."""

import threading

import pytest
from django.db import connection, connections

from kruzhok.attendance.models import AttendanceMark
from kruzhok.gamification import handlers, services
from kruzhok.gamification.models import StudentXp, XpAward
from kruzhok.lib.tenancy import unscoped

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def run_together(target, times: int = 2) -> list[BaseException]:
    barrier = threading.Barrier(times)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            with unscoped():
                target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_the_same_mark_delivered_twice_at_once_pays_once(alpha):
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    errors = run_together(
        lambda: handlers.on_attendance_marked(
            organization_id=alpha.org.pk, lesson_id=alpha.lesson.pk, student_id=alpha.student.pk
        ),
        times=4,
    )
    assert errors == []
    assert StudentXp.objects.get(student=alpha.student).xp == 15
    assert XpAward.objects.filter(student=alpha.student).count() == 2


def test_two_kudos_taps_at_once_give_one_kudos(alpha):
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    errors = run_together(
        lambda: services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher), times=3
    )
    assert errors == []
    assert XpAward.objects.filter(student=alpha.student, component="kudos").count() == 1
    assert StudentXp.objects.get(student=alpha.student).xp == 15
