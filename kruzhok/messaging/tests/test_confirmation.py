"""A delivery that is not confirmed in time moves on to the next channel (docs/messaging.md "What
confirmed means"): a push must be acknowledged by the service worker or opened; Telegram, email and
SMS confirm on acceptance."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from kruzhok.messaging import services
from kruzhok.messaging.models import Channel, Delivery, DeliveryStatus
from kruzhok.messaging.tests.helpers import PARENT_CHAT, telegram_ready

pytestmark = pytest.mark.django_db


def subscribe(world, push):
    return services.push_subscription_save(
        org=world.org, user=world.parent, endpoint=push.endpoint, p256dh=push.p256dh, auth=push.auth
    )


def enqueue(world):
    return services.message_enqueue(
        org=world.org,
        guardian=world.guardian,
        user=world.parent,
        subject="Собрание",
        body="В субботу в 12:00",
    )


def by_channel(message):
    return {d.channel: d for d in Delivery.objects.filter(message=message)}


def test_an_unacknowledged_push_moves_on_to_email_after_its_window(alpha, fake_push, fake_smtp):
    subscribe(alpha, fake_push)
    message = enqueue(alpha)
    services.outbox_drain()
    push = by_channel(message)[Channel.WEBPUSH]
    assert push.status == DeliveryStatus.SENT and push.confirmed_at is None
    assert push.confirm_by is not None

    # Inside the window nothing happens; the family may still see the notification.
    assert services.deliveries_unconfirmed_cascade(now=timezone.now() + dt.timedelta(minutes=29)) == 0
    assert fake_smtp.received == []

    later = timezone.now() + dt.timedelta(minutes=31)
    assert services.deliveries_unconfirmed_cascade(now=later) == 1
    services.outbox_drain(now=later)
    deliveries = by_channel(message)
    assert deliveries[Channel.WEBPUSH].status == DeliveryStatus.EXPIRED
    assert deliveries[Channel.EMAIL].status == DeliveryStatus.SENT
    assert [m["to"] for m in fake_smtp.received] == [[alpha.guardian.email]]
    # A second check later never cascades twice.
    assert services.deliveries_unconfirmed_cascade(now=timezone.now() + dt.timedelta(hours=5)) == 0


def test_the_service_workers_acknowledgement_confirms_the_push(alpha, fake_push, fake_smtp, client):
    subscribe(alpha, fake_push)
    message = enqueue(alpha)
    services.outbox_drain()
    (payload,) = fake_push.received
    # What kruzhok-sw.js does after showing the notification: POST the ack URL, with no session.
    assert client.post(payload["ack"]).status_code == 204
    push = by_channel(message)[Channel.WEBPUSH]
    assert push.confirmed_at is not None and push.confirm_by is None
    assert services.deliveries_unconfirmed_cascade(now=timezone.now() + dt.timedelta(hours=2)) == 0
    assert fake_smtp.received == []


def test_opening_the_message_in_the_app_confirms_it(alpha, fake_push, fake_smtp, client_as):
    subscribe(alpha, fake_push)
    message = enqueue(alpha)
    services.outbox_drain()
    client_as(alpha.parent).get(reverse("messaging:message", args=[message.pk]))
    assert by_channel(message)[Channel.WEBPUSH].confirmed_at is not None
    assert services.deliveries_unconfirmed_cascade(now=timezone.now() + dt.timedelta(hours=2)) == 0
    services.outbox_drain()
    assert fake_smtp.received == []


def test_a_forged_or_foreign_acknowledgement_changes_nothing(alpha, beta, fake_push, client):
    subscribe(alpha, fake_push)
    message = enqueue(alpha)
    services.outbox_drain()
    (payload,) = fake_push.received
    forged = payload["ack"].rstrip("/") + "x/"
    assert client.post(forged).status_code == 404
    assert client.post(reverse("messaging:push_ack", args=["not-a-token"])).status_code == 404
    assert client.get(payload["ack"]).status_code == 405
    assert by_channel(message)[Channel.WEBPUSH].confirmed_at is None


def test_telegram_is_confirmed_on_acceptance_and_keeps_its_message_id(alpha, fake_telegram):
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    message = enqueue(alpha)
    services.outbox_drain()
    telegram = by_channel(message)[Channel.TELEGRAM]
    assert telegram.confirmed_at is not None and telegram.confirm_by is None
    assert telegram.external_id == "1"


def test_a_centre_may_switch_the_wait_off(alpha, fake_push):
    services.messaging_settings_update(org=alpha.org, push_confirm_minutes=0)
    subscribe(alpha, fake_push)
    message = enqueue(alpha)
    services.outbox_drain()
    push = by_channel(message)[Channel.WEBPUSH]
    assert push.confirmed_at is not None and push.confirm_by is None


def test_the_check_runs_in_beat_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["messaging-unconfirmed"]
    assert entry["task"] == "kruzhok.messaging.tasks.deliveries_unconfirmed_task"
    assert entry["schedule"] <= 60
