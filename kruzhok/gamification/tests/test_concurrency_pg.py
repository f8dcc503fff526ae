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


def test_the_same_homework_grade_delivered_at_once_pays_once(alpha):
    from kruzhok.homework.models import HomeworkResult

    result = HomeworkResult.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="submitted",
        grade=5,
    )
    errors = run_together(
        lambda: handlers.on_homework_recorded(organization_id=alpha.org.pk, result_id=result.pk), times=4
    )
    assert errors == []
    assert StudentXp.objects.get(student=alpha.student).xp == 20
    assert XpAward.objects.filter(student=alpha.student).count() == 2


def test_two_children_finishing_a_team_quest_at_once_complete_it_once(alpha):
    import datetime as dt

    from kruzhok.gamification.models import QuestCompletion
    from kruzhok.testing import factories as f

    friend = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
    f.EnrollmentFactory(
        organization=alpha.org, student=friend, group=alpha.group, started_on=alpha.enrollment.started_on
    )
    day = alpha.lesson.starts_at.date()
    with unscoped():
        quest = services.quest_save(
            org=alpha.org,
            title="Вместе",
            kind="team",
            group=alpha.group,
            starts_on=day - dt.timedelta(days=1),
            ends_on=day + dt.timedelta(days=1),
            steps=[("visits", 2)],
            reward_xp=10,
        )
        for child in (alpha.student, friend):
            AttendanceMark.objects.create(
                organization=alpha.org,
                lesson=alpha.lesson,
                student=child,
                status="present",
                enrollment=child.enrollments.first(),
            )

    def mark_both_and_settle():
        # Each delivery pays its own child and then tries the group's quest: three at once.
        for child in (alpha.student, friend):
            services.xp_apply_mark(org_id=alpha.org.pk, lesson_id=alpha.lesson.pk, student_id=child.pk)
        services.team_quest_settle(org_id=alpha.org.pk, quest_id=quest.pk, group_id=alpha.group.pk, day=day)

    errors = run_together(mark_both_and_settle, times=3)
    assert errors == []
    assert QuestCompletion.objects.filter(quest=quest).count() == 1
    assert XpAward.objects.filter(component="quest").count() == 2
