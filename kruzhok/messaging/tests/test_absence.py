import datetime as dt

import pytest
from django.urls import reverse

from kruzhok.attendance.services import attendance_mark
from kruzhok.messaging import services
from kruzhok.messaging.models import Message, MessageKind
from kruzhok.school.models import Subject

pytestmark = pytest.mark.django_db


def mark(world, status, capture):
    with capture(execute=True):
        attendance_mark(lesson=world.lesson, student=world.student, status=status, actor=world.teacher)


def test_an_absence_tells_the_parent_the_same_day(alpha, django_capture_on_commit_callbacks):
    mark(alpha, "absent", django_capture_on_commit_callbacks)
    (message,) = Message.objects.filter(organization=alpha.org, kind=MessageKind.ABSENCE)
    assert message.kind == MessageKind.ABSENCE
    assert message.guardian == alpha.guardian and message.user == alpha.parent
    assert message.body.startswith("Маша не пришла на занятие по робототехнике сегодня в 16:00")


def test_marking_absent_again_does_not_repeat_the_notice(alpha, django_capture_on_commit_callbacks):
    mark(alpha, "absent", django_capture_on_commit_callbacks)
    mark(alpha, "present", django_capture_on_commit_callbacks)
    mark(alpha, "absent", django_capture_on_commit_callbacks)
    assert Message.objects.filter(kind=MessageKind.ABSENCE).count() == 1


def test_presence_sends_nothing(alpha, django_capture_on_commit_callbacks):
    mark(alpha, "present", django_capture_on_commit_callbacks)
    mark(alpha, "late", django_capture_on_commit_callbacks)
    assert not Message.objects.exists()


def test_a_past_lesson_corrected_later_sends_nothing(alpha):
    alpha.lesson.starts_at -= dt.timedelta(days=7)
    alpha.lesson.ends_at -= dt.timedelta(days=7)
    alpha.lesson.save()
    assert (
        services.absence_notice_enqueue(org=alpha.org, lesson_id=alpha.lesson.pk, student_id=alpha.student.pk)
        == []
    )


def test_a_course_without_a_known_subject_is_named_by_title(alpha):
    alpha.course.subject = Subject.OTHER
    alpha.course.save()
    (message,) = services.absence_notice_enqueue(
        org=alpha.org, lesson_id=alpha.lesson.pk, student_id=alpha.student.pk
    )
    assert "не пришла на занятие «Робототехника (alpha)»" in message.body


def test_the_teachers_tap_reaches_the_parents_email_and_inbox(
    alpha, client, fake_smtp, django_capture_on_commit_callbacks
):
    client.force_login(alpha.teacher)
    url = reverse("attendance:mark", args=[alpha.lesson.pk, alpha.student.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"status": "absent"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200

    services.outbox_drain()
    # Only the family's email counts here (staff may get their own early-warning alerts).
    to_parent = [m for m in fake_smtp.received if m["to"] == [alpha.guardian.email]]
    assert len(to_parent) == 1
    assert "Маша не пришла на занятие по робототехнике" in to_parent[0]["body"]

    client.force_login(alpha.parent)
    page = client.get(reverse("messaging:inbox"))
    assert "Маша: пропуск занятия" in page.content.decode()
