"""Telegram's limits: about one message a second to one chat, about 30 a second per bot."""

import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.messaging import channels, services
from kruzhok.messaging.models import Delivery, DeliveryStatus
from kruzhok.messaging.tests.helpers import PARENT_CHAT, telegram_ready

pytestmark = pytest.mark.django_db


def test_a_second_message_to_the_same_chat_waits_a_second_and_is_not_dropped(alpha, fake_telegram):
    telegram_ready(alpha)
    fake_telegram.known_chats.add(PARENT_CHAT)
    first, second = (
        services.message_enqueue(
            org=alpha.org, guardian=alpha.guardian, user=alpha.parent, subject=f"Новость {n}", body="Текст"
        )
        for n in (1, 2)
    )
    moment = timezone.now()
    totals = services.outbox_drain(now=moment)
    assert totals["sent"] == 1 and totals["deferred"] == 1
    waiting = Delivery.objects.get(message=second)
    assert waiting.status == DeliveryStatus.PENDING
    assert waiting.next_attempt_at == moment + dt.timedelta(seconds=1)
    assert services.outbox_drain(now=moment + dt.timedelta(milliseconds=500))["claimed"] == 0
    services.outbox_drain(now=moment + dt.timedelta(seconds=1))
    assert [m["text"].split("\n")[0] for m in fake_telegram.received] == ["Новость 1", "Новость 2"]
    assert Delivery.objects.get(message=first).status == DeliveryStatus.SENT


class FakeClock:
    """time.monotonic/time.sleep for the pacer: sleeping moves the clock, nothing really waits."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_one_bot_never_sends_more_than_30_messages_in_a_second(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(channels, "time", clock)
    pacer = channels._Pacer(per_second=30)
    stamps = []
    for _ in range(75):
        pacer.wait("bot-token")
        stamps.append(clock.now)
        clock.now += 0.001  # each send takes a millisecond
    # In any one-second window at most 30 sends.
    for i, start in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s - start < 1.0) <= 30
    # 75 messages need three seconds: the 31st and the 61st waited.
    assert len(clock.slept) == 2 and all(0 < s <= 1.0 for s in clock.slept)
    # Another bot is paced separately: its first message does not wait.
    pacer.wait("other-bot")
    assert len(clock.slept) == 2
