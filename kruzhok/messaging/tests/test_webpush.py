import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.messaging import services
from kruzhok.messaging.models import Channel, Delivery, DeliveryStatus, PushSubscription

pytestmark = pytest.mark.django_db


def subscribe(world, push):
    return services.push_subscription_save(
        org=world.org, user=world.parent, endpoint=push.endpoint, p256dh=push.p256dh, auth=push.auth
    )


def enqueue(world):
    return services.message_enqueue(
        org=world.org, guardian=world.guardian, user=world.parent, subject="Пропуск", body="Маша не пришла"
    )


def test_a_push_is_encrypted_signed_and_read_by_the_browser(alpha, fake_push):
    subscribe(alpha, fake_push)
    message = enqueue(alpha)
    services.outbox_drain()
    (delivery,) = Delivery.objects.filter(message=message)
    assert delivery.channel == Channel.WEBPUSH and delivery.status == DeliveryStatus.SENT
    (push,) = fake_push.received
    assert push["title"] == "Пропуск" and push["body"] == "Маша не пришла"
    assert push["url"] == f"/messaging/{message.pk}/" and push["ack"].startswith("/messaging/push/ack/")


def test_a_gone_subscription_is_deleted_and_the_cascade_moves_on(alpha, fake_push, fake_smtp):
    subscribe(alpha, fake_push)
    fake_push.script.append((410, {}))
    message = enqueue(alpha)
    services.outbox_drain()
    services.outbox_drain()
    push, email = Delivery.objects.filter(message=message).order_by("position")
    assert push.status == DeliveryStatus.FAILED and email.status == DeliveryStatus.SENT
    assert not PushSubscription.objects.exists()


def test_the_browser_registers_its_subscription(alpha, client_as, fake_push):
    client = client_as(alpha.parent)
    body = {"endpoint": fake_push.endpoint, "keys": {"p256dh": fake_push.p256dh, "auth": fake_push.auth}}
    response = client.post(
        reverse("messaging:push_subscribe"), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201
    assert PushSubscription.objects.get().user == alpha.parent


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        {"endpoint": "javascript:alert(1)", "keys": {"p256dh": "x", "auth": "y"}},
        {"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
        {"endpoint": "https://push.example/x"},
        [],
    ],
)
def test_a_malformed_subscription_is_refused(alpha, client_as, body):
    client = client_as(alpha.parent)
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post(reverse("messaging:push_subscribe"), data, content_type="application/json")
    assert response.status_code == 400 and not PushSubscription.objects.exists()


def test_plain_http_push_services_are_refused_in_production_settings(alpha, fake_push, settings):
    settings.MESSAGING_PUSH_ALLOW_HTTP = False
    with pytest.raises(ValidationError):
        subscribe(alpha, fake_push)
