import pytest

from kruzhok.demo.messaging import seed_messaging
from kruzhok.feedback.models import Feedback
from kruzhok.messaging.models import Announcement, Conversation

pytestmark = pytest.mark.django_db


def test_the_demo_fills_messaging_and_feedback(alpha):
    totals = seed_messaging(org=alpha.org, families=5)
    assert totals["announcements"] == 1 and Announcement.objects.count() == 1
    assert totals["feedback"] == Feedback.objects.filter(source="parent").count() >= 1
    assert totals["conversations"] == Conversation.objects.count() >= 1
    assert totals["survey_answers"] == Feedback.objects.filter(source="survey").count()
