import pytest
from django.utils import timezone

from kruzhok.homework.services import record_homework
from kruzhok.messaging import services as messaging
from kruzhok.messaging.models import Message

pytestmark = pytest.mark.django_db


def test_the_weekly_digest_tells_parents_about_homework_and_points(alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_homework(lesson=alpha.lesson, student=alpha.student, status="submitted", grade=5)
    assert messaging.weekly_digest_enqueue(org=alpha.org, today=timezone.localdate()) == 1
    body = Message.objects.get(organization=alpha.org, subject__endswith="итоги недели").body
    assert "Домашние задания: сдано 1 из 1, оценки: 5." in body
    assert "Достижения: +" in body and "очков опыта за неделю" in body
