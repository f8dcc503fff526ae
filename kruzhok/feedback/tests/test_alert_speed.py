"""A negative response reaches the branch manager within a minute: the alert is queued by the event
itself (no nightly job), is due at once, and the outbox drains more often than once a minute."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from kruzhok.feedback import services
from kruzhok.messaging import services as messaging_services
from kruzhok.messaging.models import Delivery, DeliveryStatus, MessageKind

pytestmark = pytest.mark.django_db


def test_the_managers_alert_is_due_at_once_and_delivered_by_the_next_pass(alpha):
    before = timezone.now()
    services.feedback_submit(
        org=alpha.org, actor=alpha.parent, guardian=alpha.guardian, student=alpha.student,
        text="Ужасно, ребёнок плачет после занятий, мы очень недовольны",
    )  # fmt: skip
    (delivery,) = Delivery.objects.filter(
        message__kind=MessageKind.FEEDBACK_ALERT, message__user=alpha.manager
    )
    assert delivery.next_attempt_at <= timezone.now()
    messaging_services.outbox_drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.processed_at - before < dt.timedelta(minutes=1)
    assert settings.CELERY_BEAT_SCHEDULE["messaging-send-outbox"]["schedule"] <= 60
