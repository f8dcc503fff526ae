import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.messaging import services
from kruzhok.messaging.models import AttemptOutcome, Channel, Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


def enqueue(world):
    return services.message_enqueue(
        org=world.org, guardian=world.guardian, user=world.parent, subject="Пропуск", body="Маша не пришла"
    )


def test_when_email_is_refused_the_sms_gateway_carries_it(alpha, fake_smtp, fake_sms):
    fake_smtp.refuse.add(alpha.guardian.email)
    message = enqueue(alpha)
    services.outbox_drain()
    services.outbox_drain()
    email, sms = Delivery.objects.filter(message=message).order_by("position")
    assert email.status == DeliveryStatus.FAILED and sms.channel == Channel.SMS
    assert sms.status == DeliveryStatus.SENT
    (sent,) = fake_sms.received
    assert sent["to"] == alpha.guardian.phone and "Маша не пришла" in sent["text"]
    assert sent["idempotency_key"] == f"delivery-{sms.pk}"


def test_the_gateways_retry_after_is_honoured(alpha, fake_sms, settings):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    alpha.guardian.email = ""
    alpha.guardian.save()
    fake_sms.script.append((429, {"status": "error", "error": "slow down"}, {"Retry-After": "12"}))
    message = enqueue(alpha)
    services.outbox_drain()
    delivery = Delivery.objects.get(message=message)
    assert delivery.channel == Channel.SMS and delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at >= timezone.now() + dt.timedelta(seconds=10)
    services.outbox_drain(now=timezone.now() + dt.timedelta(seconds=13))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == [
        AttemptOutcome.RATE_LIMITED,
        AttemptOutcome.SENT,
    ]


def test_without_a_gateway_sms_is_not_in_the_plan(alpha, settings):
    settings.SMS_GATEWAY_URL = ""
    assert Channel.SMS not in [c for c, _ in services.channel_plan(message=enqueue(alpha))]
