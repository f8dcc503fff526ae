import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from kruzhok.messaging import services
from kruzhok.messaging.channels import ADAPTERS
from kruzhok.messaging.models import (
    AttemptOutcome,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Message,
)
from kruzhok.messaging.tests.helpers import PARENT_CHAT, telegram_ready

pytestmark = pytest.mark.django_db


def enqueue_to_parent(world, **kwargs):
    defaults = {"subject": "Собрание", "body": "В субботу родительское собрание."}
    defaults.update(kwargs)
    return services.message_enqueue(org=world.org, guardian=world.guardian, user=world.parent, **defaults)


def deliveries(message):
    return list(Delivery.objects.filter(message=message).order_by("position"))


def later(seconds):
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_it_sends_by_telegram_first_and_logs_the_attempt(alpha, fake_telegram, fake_smtp):
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    message = enqueue_to_parent(alpha)

    services.outbox_drain()

    assert [m["chat_id"] for m in fake_telegram.received] == [PARENT_CHAT]
    assert "родительское собрание" in fake_telegram.received[0]["text"]
    assert fake_smtp.received == []
    (delivery,) = deliveries(message)
    assert delivery.channel == Channel.TELEGRAM and delivery.status == DeliveryStatus.SENT
    assert delivery.processed_at is not None and delivery.attempts == 1
    (attempt,) = delivery.attempt_log.all()
    assert attempt.outcome == AttemptOutcome.SENT and attempt.finished_at is not None


def test_a_second_pass_never_sends_the_same_message_again(alpha, fake_telegram):
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    enqueue_to_parent(alpha)
    services.outbox_drain()
    services.outbox_drain(now=later(3600))
    assert len(fake_telegram.received) == 1


def test_of_two_workers_claiming_the_same_row_only_one_wins(alpha):
    message = enqueue_to_parent(alpha)
    seen_by_a = Delivery.objects.get(message=message)
    seen_by_b = Delivery.objects.get(message=message)
    now = timezone.now()
    assert services.delivery_claim(delivery=seen_by_a, now=now) is True
    assert services.delivery_claim(delivery=seen_by_b, now=now) is False
    # And the winner's claim is not stolen by a later pass before the timeout.
    assert services.outbox_drain(now=later(60))["claimed"] == 0


def test_a_worker_that_died_after_claiming_is_replaced_after_the_timeout(alpha, fake_telegram, settings):
    settings.MESSAGING_CLAIM_TIMEOUT = 300
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    message = enqueue_to_parent(alpha)
    crashed = Delivery.objects.get(message=message)
    assert services.delivery_claim(delivery=crashed, now=timezone.now())  # …and the worker dies here

    assert services.outbox_drain(now=later(10))["claimed"] == 0
    services.outbox_drain(now=later(301))

    assert len(fake_telegram.received) == 1
    assert Delivery.objects.get(message=message).status == DeliveryStatus.SENT


def test_a_worker_that_died_mid_send_is_never_resent(alpha, fake_telegram, monkeypatch):
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    message = enqueue_to_parent(alpha)
    real = ADAPTERS[Channel.TELEGRAM]

    class DiesAfterSending:
        channel = Channel.TELEGRAM

        def send(self, **kwargs):
            real.send(**kwargs)
            raise SystemExit("worker killed")  # the process is gone before it records anything

    monkeypatch.setitem(ADAPTERS, Channel.TELEGRAM, DiesAfterSending())
    with pytest.raises(SystemExit):
        services.outbox_drain()
    monkeypatch.setitem(ADAPTERS, Channel.TELEGRAM, real)

    services.outbox_drain(now=later(301))
    services.outbox_drain(now=later(3600))

    assert len(fake_telegram.received) == 1
    delivery = Delivery.objects.get(message=message)
    assert delivery.status == DeliveryStatus.UNKNOWN
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == [AttemptOutcome.UNKNOWN]
    # The family still has it in the app.
    assert Message.objects.filter(pk=message.pk).exists()


def test_when_telegram_refuses_the_chat_it_cascades_to_email(alpha, fake_telegram, fake_smtp):
    telegram_ready(alpha)  # the chat is unknown to the bot: 400 chat not found
    message = enqueue_to_parent(alpha)

    services.outbox_drain()
    services.outbox_drain()

    telegram, email = deliveries(message)
    assert telegram.status == DeliveryStatus.FAILED and "chat not found" in telegram.last_error
    assert email.channel == Channel.EMAIL and email.status == DeliveryStatus.SENT
    assert [m["to"] for m in fake_smtp.received] == [[alpha.guardian.email]]
    assert fake_smtp.received[0]["subject"] == "Собрание"
    assert fake_smtp.received[0]["message_id"] == f"<delivery-{email.pk}@kruzhok>"


def test_when_every_outside_channel_fails_the_inbox_still_gets_it(alpha, fake_telegram, fake_smtp):
    telegram_ready(alpha)
    fake_smtp.refuse.add(alpha.guardian.email)
    message = enqueue_to_parent(alpha)
    for _ in range(3):
        services.outbox_drain()
    assert [(d.channel, d.status) for d in deliveries(message)] == [
        (Channel.TELEGRAM, DeliveryStatus.FAILED),
        (Channel.EMAIL, DeliveryStatus.FAILED),
        (Channel.INAPP, DeliveryStatus.SENT),
    ]


def test_a_429_waits_exactly_retry_after_and_never_drops(alpha, fake_telegram):
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    for _ in range(8):  # more 429s than the retry limit for ordinary errors
        fake_telegram.too_many_requests(7)
    message = enqueue_to_parent(alpha)

    before = timezone.now()
    services.outbox_drain()
    delivery = Delivery.objects.get(message=message)
    assert delivery.status == DeliveryStatus.PENDING
    assert (
        before + dt.timedelta(seconds=6)
        <= delivery.next_attempt_at
        <= timezone.now() + dt.timedelta(seconds=8)
    )
    assert services.outbox_drain(now=before + dt.timedelta(seconds=5))["claimed"] == 0

    for step in range(1, 9):
        services.outbox_drain(now=timezone.now() + dt.timedelta(seconds=8 * step))

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.channel == Channel.TELEGRAM
    outcomes = list(delivery.attempt_log.values_list("outcome", flat=True))
    assert outcomes == [AttemptOutcome.RATE_LIMITED] * 8 + [AttemptOutcome.SENT]
    assert len(fake_telegram.received) == 1


def test_an_unreachable_smtp_server_is_retried_then_cascades(alpha, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    settings.MESSAGING_MAX_RETRIES = 2
    message = enqueue_to_parent(alpha)
    for step in range(4):
        services.outbox_drain(now=timezone.now() + dt.timedelta(hours=step))
    email, inapp = deliveries(message)
    assert email.status == DeliveryStatus.FAILED
    assert list(email.attempt_log.values_list("outcome", flat=True)) == [AttemptOutcome.RETRY] * 2
    assert inapp.status == DeliveryStatus.SENT


def test_quiet_hours_hold_a_childs_message_until_morning(alpha, fake_smtp):
    alpha.student_user.email = "masha@example.ru"
    alpha.student_user.save()
    night = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    message = services.message_enqueue(
        org=alpha.org, user=alpha.student_user, subject="Задание", body="Собери робота", now=night
    )
    assert message.recipient_is_child
    (delivery,) = deliveries(message)
    assert delivery.channel == Channel.EMAIL
    morning = dt.datetime(2026, 3, 11, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert delivery.next_attempt_at == morning

    assert services.outbox_drain(now=night + dt.timedelta(hours=2))["claimed"] == 0
    services.outbox_drain(now=morning + dt.timedelta(minutes=1))
    assert len(fake_smtp.received) == 1


def test_quiet_hours_do_not_hold_a_parents_message(alpha):
    night = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    message = enqueue_to_parent(alpha, now=night)
    assert deliveries(message)[0].next_attempt_at == night


def test_an_opted_out_channel_is_skipped(alpha):
    telegram_ready(alpha, opted_out=[Channel.TELEGRAM, Channel.INAPP])
    message = enqueue_to_parent(alpha)
    assert services.channel_plan(message=message) == [
        (Channel.EMAIL, alpha.guardian.email),
        (Channel.INAPP, "inbox"),
    ]


def test_the_parents_channel_order_is_followed(alpha):
    telegram_ready(alpha, order=[Channel.EMAIL, Channel.TELEGRAM])
    message = enqueue_to_parent(alpha)
    assert [c for c, _ in services.channel_plan(message=message)] == ["email", "telegram", "inapp"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"body": "   "}, "empty"),
        ({"subject": ""}, "empty"),
        ({"body": "х" * 4001}, "too_long"),
        ({"subject": "т" * 201}, "too_long"),
    ],
)
def test_bad_messages_are_refused_with_a_clear_error(alpha, fields, code):
    with pytest.raises(ValidationError) as error:
        enqueue_to_parent(alpha, **fields)
    assert error.value.code == code
    assert not Message.objects.exists()


def test_a_recipient_from_another_organisation_is_refused(alpha, beta):
    with pytest.raises(ValidationError) as error:
        services.message_enqueue(org=alpha.org, user=beta.parent, subject="a", body="b")
    assert error.value.code == "unknown_recipient"
    with pytest.raises(ValidationError):
        services.message_enqueue(org=alpha.org, guardian=beta.guardian, subject="a", body="b")


def test_the_same_automatic_message_is_stored_once(alpha):
    first = enqueue_to_parent(alpha, dedupe_key="k1")
    second = enqueue_to_parent(alpha, dedupe_key="k1")
    assert first.pk == second.pk
    assert Delivery.objects.count() == 1


def test_the_send_outbox_command_makes_one_pass(alpha, capsys):
    enqueue_to_parent(alpha)
    call_command("send_outbox", "--once")
    assert "claimed: 1" in capsys.readouterr().out
    assert DeliveryAttempt.objects.count() == 1


def test_past_the_daily_limit_messages_wait_for_tomorrow(alpha, fake_smtp):
    services.messaging_settings_update(org=alpha.org, daily_limit=2)
    messages = [enqueue_to_parent(alpha, subject=f"Тема {n}") for n in range(3)]
    totals = services.outbox_drain()
    assert totals["sent"] == 2 and totals["deferred"] == 1
    assert len(fake_smtp.received) == 2
    waiting = Delivery.objects.get(message=messages[2])
    assert waiting.status == DeliveryStatus.PENDING and waiting.next_attempt_at > timezone.now()
    services.outbox_drain(now=waiting.next_attempt_at + dt.timedelta(minutes=1))
    assert len(fake_smtp.received) == 3
