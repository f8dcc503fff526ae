"""Channel adapters behind one interface: `send(delivery=..., settings_row=...) -> str`.

An adapter returns a short note on success, raises RetryLater for a temporary failure (the outbox will
try the same channel again later) and PermanentFailure when this channel cannot carry the message (the
outbox then cascades to the recipient's next channel).
"""

import json
import smtplib
import threading
import time
import urllib.error
import urllib.request
from collections import deque

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from kruzhok.messaging.models import Channel, Delivery, MessagingSettings, PushSubscription


class RetryLater(Exception):
    def __init__(self, detail: str, *, seconds: int, rate_limited: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.seconds = max(1, int(seconds))
        self.rate_limited = rate_limited


class PermanentFailure(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class InAppAdapter:
    channel = Channel.INAPP

    def send(self, *, delivery: Delivery, settings_row: MessagingSettings | None) -> str:
        # The Message row is the inbox entry; nothing travels.
        return "в приложении"


class EmailAdapter:
    channel = Channel.EMAIL

    def send(self, *, delivery: Delivery, settings_row: MessagingSettings | None) -> str:
        message = delivery.message
        email = EmailMessage(
            subject=message.subject,
            body=message.body + (f"\n\n{settings.SITE_URL}{message.link}" if message.link else ""),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[delivery.address],
            # A stable id lets a receiving server or a person spot a duplicate.
            headers={"Message-ID": f"<delivery-{delivery.pk}@kruzhok>"},
            connection=get_connection(timeout=settings.MESSAGING_SEND_TIMEOUT),
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"SMTP: адрес отклонён ({_short(error)})") from error
        except smtplib.SMTPResponseException as error:
            if 400 <= error.smtp_code < 500:
                raise RetryLater(f"SMTP {error.smtp_code}", seconds=60) from error
            raise PermanentFailure(f"SMTP {error.smtp_code}: {_short(error.smtp_error)}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise RetryLater(f"SMTP недоступен: {_short(error)}", seconds=60) from error
        return "email принят сервером"


class _Pacer:
    """Keeps one bot under Telegram's ~30 messages per second (per process)."""

    def __init__(self, per_second: int):
        self.per_second = per_second
        self.sent: dict[str, deque] = {}
        self.lock = threading.Lock()

    def wait(self, key: str) -> None:
        with self.lock:
            window = self.sent.setdefault(key, deque())
            while True:
                now = time.monotonic()
                # Sends a full second ago or earlier no longer count against this second.
                while window and now - window[0] >= 1.0:
                    window.popleft()
                if len(window) < self.per_second:
                    break
                time.sleep(1.0 - (now - window[0]))
            window.append(time.monotonic())


_bot_pacer = _Pacer(per_second=30)


class TelegramAdapter:
    channel = Channel.TELEGRAM

    def send(self, *, delivery: Delivery, settings_row: MessagingSettings | None) -> str:
        token = settings_row.telegram_bot_token if settings_row else ""
        if not token:
            raise PermanentFailure("у организации не настроен Telegram-бот")
        message = delivery.message
        text = f"{message.subject}\n\n{message.body}"[:4096]
        url = f"{settings.TELEGRAM_API_BASE.rstrip('/')}/bot{token}/sendMessage"
        body = json.dumps({"chat_id": delivery.address, "text": text}).encode()
        request = urllib.request.Request(  # noqa: S310 — the base URL is our own setting
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        _bot_pacer.wait(token)
        try:
            with urllib.request.urlopen(request, timeout=settings.MESSAGING_SEND_TIMEOUT) as response:  # noqa: S310
                answer = _json(response.read())
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            answer = _json(error.read())
        except (urllib.error.URLError, OSError) as error:
            raise RetryLater(f"Telegram недоступен: {_short(error)}", seconds=30) from error
        if status == 200 and answer.get("ok"):
            result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
            # Kept on the delivery: a parent's reply to this message names it in reply_to_message.
            delivery.external_id = str(result.get("message_id", ""))[:64]
            return f"telegram message_id={result.get('message_id', '?')}"
        description = _short(answer.get("description") or f"HTTP {status}")
        if status == 429:
            retry_after = (answer.get("parameters") or {}).get("retry_after") or 5
            raise RetryLater(f"Telegram 429: {description}", seconds=int(retry_after), rate_limited=True)
        if status >= 500:
            raise RetryLater(f"Telegram {status}: {description}", seconds=30)
        raise PermanentFailure(f"Telegram {status}: {description}")


class SmsAdapter:
    """A generic HTTP SMS gateway: POST {SMS_GATEWAY_URL}/send with JSON {to, text, sender} and a bearer
    token; answers {"status": "ok", "id": …}. 429 carries Retry-After; other 4xx are permanent."""

    channel = Channel.SMS

    def send(self, *, delivery: Delivery, settings_row: MessagingSettings | None) -> str:
        base = getattr(settings, "SMS_GATEWAY_URL", "")
        if not base:
            raise PermanentFailure("SMS-шлюз не настроен")
        message = delivery.message
        # One SMS segment in Cyrillic is 70 characters; long texts go as a short notice with the subject.
        text = f"{message.subject}. {message.body}"
        if len(text) > 335:
            text = text[:330] + "…"
        body = json.dumps(
            {"to": delivery.address, "text": text, "sender": getattr(settings, "SMS_SENDER", "Kruzhok")}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 — the gateway URL is our own setting
            f"{base.rstrip('/')}/send",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {getattr(settings, 'SMS_GATEWAY_TOKEN', '')}",
                "Idempotency-Key": f"delivery-{delivery.pk}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.MESSAGING_SEND_TIMEOUT) as response:  # noqa: S310
                status, answer, retry_after = response.status, _json(response.read()), None
        except urllib.error.HTTPError as error:
            status, answer, retry_after = error.code, _json(error.read()), error.headers.get("Retry-After")
        except (urllib.error.URLError, OSError) as error:
            raise RetryLater(f"SMS-шлюз недоступен: {_short(error)}", seconds=60) from error
        if 200 <= status < 300 and answer.get("status") == "ok":
            return f"sms id={answer.get('id', '?')}"
        detail = _short(answer.get("error") or f"HTTP {status}")
        if status == 429:
            seconds = int(retry_after) if (retry_after or "").isdigit() else 30
            raise RetryLater(f"SMS 429: {detail}", seconds=seconds, rate_limited=True)
        if status >= 500:
            raise RetryLater(f"SMS {status}: {detail}", seconds=60)
        raise PermanentFailure(f"SMS {status}: {detail}")


class WebPushAdapter:
    """Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), via pywebpush."""

    channel = Channel.WEBPUSH

    def send(self, *, delivery: Delivery, settings_row: MessagingSettings | None) -> str:
        from pywebpush import WebPushException, webpush

        private_key = getattr(settings, "VAPID_PRIVATE_KEY", "")
        if not private_key:
            raise PermanentFailure("ключи VAPID не настроены")
        subscription = PushSubscription.all_objects.filter(
            organization_id=delivery.organization_id, pk=int(delivery.address or 0)
        ).first()
        if subscription is None:
            raise PermanentFailure("подписка браузера удалена")
        message = delivery.message
        data = json.dumps(
            {
                "title": message.subject,
                "body": message.body[:300],
                "url": message.link or f"/messaging/{message.pk}/",
                # The service worker posts here once the notification is shown (the confirmation).
                "ack": push_ack_path(delivery),
            },
            ensure_ascii=False,
        )
        try:
            response = webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=data,
                vapid_private_key=private_key,
                vapid_claims={"sub": getattr(settings, "VAPID_SUBJECT", "mailto:admin@kruzhok.local")},
                timeout=settings.MESSAGING_SEND_TIMEOUT,
                ttl=24 * 3600,
            )
        except WebPushException as error:
            response = error.response
            if response is None:
                raise RetryLater(f"сервис push недоступен: {_short(error)}", seconds=60) from error
        except OSError as error:
            raise RetryLater(f"сервис push недоступен: {_short(error)}", seconds=60) from error
        status = response.status_code
        if status in (200, 201, 202):
            return f"push принят ({status})"
        if status in (404, 410):
            # The browser unsubscribed: the subscription will never work again.
            PushSubscription.all_objects.filter(pk=subscription.pk).delete()
            raise PermanentFailure(f"push {status}: подписка больше не действует")
        if status == 429:
            retry_after = response.headers.get("Retry-After", "")
            raise RetryLater(
                "push 429", seconds=int(retry_after) if retry_after.isdigit() else 60, rate_limited=True
            )
        if status >= 500:
            raise RetryLater(f"push {status}", seconds=60)
        raise PermanentFailure(f"push {status}: {_short(response.text)}")


PUSH_ACK_SALT = "kruzhok.messaging.push-ack"


def push_ack_path(delivery: Delivery) -> str:
    """A signed, delivery-specific URL: the service worker has no session to prove who it is."""
    from django.core import signing
    from django.urls import reverse

    token = signing.dumps({"d": delivery.pk, "o": delivery.organization_id}, salt=PUSH_ACK_SALT)
    return reverse("messaging:push_ack", args=[token])


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _short(value) -> str:
    return str(value)[:300]


ADAPTERS = {
    adapter.channel: adapter
    for adapter in (InAppAdapter(), EmailAdapter(), TelegramAdapter(), SmsAdapter(), WebPushAdapter())
}
