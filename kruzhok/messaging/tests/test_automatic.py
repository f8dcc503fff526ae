"""Automatic messages: lesson reminders, lesson changes from the school app's events, renewal reminders
from billing's events, and the teacher's line in the weekly digest."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from kruzhok.lib import events
from kruzhok.messaging import automatic, services
from kruzhok.messaging.models import Message, MessageKind
from kruzhok.school.services.lesson_changes import lesson_cancel, lesson_move

pytestmark = pytest.mark.django_db


def lesson_in(world, hours: float):
    world.lesson.starts_at = timezone.now() + dt.timedelta(hours=hours)
    world.lesson.ends_at = world.lesson.starts_at + dt.timedelta(hours=1)
    world.lesson.save()
    return world.lesson


def test_a_family_is_reminded_the_day_before_once(alpha, beta):
    lesson_in(alpha, 20)
    lesson_in(beta, 30)  # beyond the 24-hour window
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 1
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 0
    assert automatic.lesson_reminders_enqueue(org=beta.org) == 0
    (message,) = Message.objects.filter(kind=MessageKind.LESSON_REMINDER)
    assert message.guardian == alpha.guardian
    assert message.body.startswith("Напоминаем: Маша, занятие по робототехнике в ")
    assert "(группа «Роботы-1 (alpha)»)" in message.body


def test_the_centre_sets_the_window_or_switches_reminders_off(alpha):
    lesson_in(alpha, 2)
    services.messaging_settings_update(org=alpha.org, reminder_hours=0)
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 0
    services.messaging_settings_update(org=alpha.org, reminder_hours=1)
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 0
    services.messaging_settings_update(org=alpha.org, reminder_hours=3)
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 1


def test_a_cancelled_lesson_is_not_reminded_and_the_family_is_told(alpha, django_capture_on_commit_callbacks):
    lesson = lesson_in(alpha, 20)
    with django_capture_on_commit_callbacks(execute=True):
        lesson_cancel(lesson=lesson, actor=alpha.manager, reason="Преподаватель заболел")
    (notice,) = Message.objects.filter(kind=MessageKind.LESSON_CHANGE)
    assert notice.guardian == alpha.guardian and "отменено" in notice.body
    assert "Причина: Преподаватель заболел" in notice.body
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 0


def test_a_moved_lesson_tells_the_family_both_times_and_is_reminded_again(
    alpha, django_capture_on_commit_callbacks
):
    lesson = lesson_in(alpha, 20)
    automatic.lesson_reminders_enqueue(org=alpha.org)
    with django_capture_on_commit_callbacks(execute=True):
        lesson_move(
            lesson=lesson,
            actor=alpha.manager,
            starts_at=lesson.starts_at + dt.timedelta(hours=2),
            reason="Ремонт",
        )
    (notice,) = Message.objects.filter(kind=MessageKind.LESSON_CHANGE)
    assert "перенесено с " in notice.body and " на " in notice.body and "Причина: Ремонт" in notice.body
    # The new time gets its own reminder; the old one is not repeated.
    assert automatic.lesson_reminders_enqueue(org=alpha.org) == 1
    assert Message.objects.filter(kind=MessageKind.LESSON_REMINDER).count() == 2


def test_a_change_to_a_past_lesson_alarms_nobody(alpha):
    lesson_in(alpha, -30)
    assert (
        automatic.lesson_change_notify(
            org=alpha.org,
            lesson_id=alpha.lesson.pk,
            change="cancelled",
            old_starts_at=alpha.lesson.starts_at.isoformat(),
        )
        == 0
    )


def test_a_malformed_lesson_event_sends_nothing(alpha):
    assert automatic.lesson_change_notify(org=alpha.org, lesson_id=alpha.lesson.pk, change="exploded") == 0
    assert automatic.lesson_change_notify(org=alpha.org, lesson_id=10**9, change="cancelled") == 0


def test_billings_renewal_event_reminds_each_guardian_once(alpha, django_capture_on_commit_callbacks):
    valid_to = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    for _ in range(2):  # billing's daily scan publishes it every day until renewed
        with django_capture_on_commit_callbacks(execute=True):
            events.publish(
                "billing.renewal_due",
                organization_id=alpha.org.pk,
                subscription_id=41,
                student_id=alpha.student.pk,
                valid_to=valid_to,
                lessons_left=2,
            )
    (message,) = Message.objects.filter(kind=MessageKind.RENEWAL)
    assert message.subject == "Маша: пора продлить абонемент"
    assert "осталось занятий: 2" in message.body


def test_a_renewal_event_with_a_bad_date_sends_nothing(alpha):
    assert (
        automatic.renewal_reminder_enqueue(
            org=alpha.org, subscription_id=1, student_id=alpha.student.pk, valid_to="завтра", lessons_left=1
        )
        == 0
    )


def test_the_reminder_command_runs_for_every_organisation(alpha, beta, capsys):
    lesson_in(alpha, 5)
    lesson_in(beta, -5)
    call_command("send_lesson_reminders")
    assert "organizations: 2, messages: 1" in capsys.readouterr().out


def test_the_digest_carries_the_teachers_word(alpha):
    from kruzhok.feedback.engagement import teacher_pulse_set

    lesson_in(alpha, -2)
    teacher_pulse_set(
        lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher, score=5, note="Собрала робота сама!"
    )
    services.weekly_digest_enqueue(org=alpha.org)
    digest = Message.objects.get(kind=MessageKind.DIGEST)
    assert "Учитель: «Собрала робота сама!»" in digest.body
