"""Online payments through a provider with the shape of a Russian acquirer's API (ЮKassa-like):

1. `online_payment_start` records a pending Payment and asks the provider for a payment link:
   POST {BILLING_PROVIDER_URL}/v3/payments with Basic auth (shop id : secret key) and an
   `Idempotence-Key` header equal to our payment's key, so a retried request never opens a second
   payment at the provider.
2. The family pays on the provider's page; the provider calls our webhook
   (POST /billing/webhooks/online/) with the event, a timestamp and an HMAC-SHA256 signature of
   "<timestamp>.<body>" in `X-Signature`. `online_webhook_handle` refuses a bad signature or a stale
   timestamp, records the event id once (a replay hits the unique constraint and changes nothing),
   asks the provider for the payment's real status, and only then credits the family.

Settings (environment variables): BILLING_PROVIDER_URL, BILLING_PROVIDER_SHOP_ID,
BILLING_PROVIDER_SECRET, BILLING_WEBHOOK_SECRET.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kruzhok.billing import services
from kruzhok.billing.models import Account, Payment, PaymentMethod, PaymentStatus, WebhookEvent
from kruzhok.lib.env import env_str
from kruzhok.lib.tenancy import unscoped

PROVIDER = "acquirer"
TIMEOUT_S = 10
MAX_SKEW_S = 300


def _setting(name: str) -> str:
    return getattr(settings, name, None) or env_str(name, "")


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: str
    amount: Decimal
    confirmation_url: str
    metadata: dict


class ProviderError(Exception):
    pass


class ProviderClient:
    def __init__(self, base_url: str | None = None, shop_id: str | None = None, secret: str | None = None):
        self.base_url = (base_url or _setting("BILLING_PROVIDER_URL")).rstrip("/")
        self.shop_id = shop_id or _setting("BILLING_PROVIDER_SHOP_ID")
        self.secret = secret or _setting("BILLING_PROVIDER_SECRET")

    def _request(self, method: str, path: str, body: dict | None = None, idempotence_key: str = "") -> dict:
        if not self.base_url.startswith(("https://", "http://")):
            raise ProviderError("BILLING_PROVIDER_URL must be an http(s) URL")
        token = base64.b64encode(f"{self.shop_id}:{self.secret}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        if idempotence_key:
            headers["Idempotence-Key"] = idempotence_key
        data = json.dumps(body).encode() if body is not None else None
        # The scheme was checked above: only http(s), never file: or a custom one.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 — our configured URL
                return json.loads(response.read().decode())
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise ProviderError(str(exc)) from exc

    @staticmethod
    def _parse(data: dict) -> ProviderPayment:
        return ProviderPayment(
            id=str(data["id"]),
            status=str(data["status"]),
            amount=Decimal(str(data["amount"]["value"])),
            confirmation_url=str((data.get("confirmation") or {}).get("confirmation_url", "")),
            metadata=dict(data.get("metadata") or {}),
        )

    def create(self, *, amount: Decimal, description: str, return_url: str, key: str, metadata: dict):
        body = {
            "amount": {"value": f"{amount:.2f}", "currency": "RUB"},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description[:128],
            "metadata": metadata,
        }
        return self._parse(self._request("POST", "/v3/payments", body, idempotence_key=key))

    def get(self, provider_id: str) -> ProviderPayment:
        return self._parse(self._request("GET", f"/v3/payments/{provider_id}"))


def sign(body: bytes, timestamp: str, secret: str | None = None) -> str:
    secret = secret or _setting("BILLING_WEBHOOK_SECRET")
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def online_payment_start(
    *, org, account: Account, amount, actor, return_url: str, idempotency_key: str, client=None
) -> tuple[Payment, str]:
    """A pending online payment and the provider's link to pay it."""
    payment = services.payment_take(
        org=org,
        account=account,
        amount=amount,
        method=PaymentMethod.ONLINE,
        actor=actor,
        idempotency_key=idempotency_key,
        status=PaymentStatus.PENDING,
    )
    client = client or ProviderClient()
    try:
        remote = client.create(
            amount=payment.amount,
            description=_("Оплата занятий: %(payer)s") % {"payer": account.guardian.full_name},
            return_url=return_url,
            key=payment.idempotency_key,
            metadata={"payment_id": payment.pk, "organization_id": org.pk},
        )
    except ProviderError:
        # Nothing was credited; the pending row is closed so no one waits for money that never comes.
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING, external_id="").update(
            status=PaymentStatus.FAILED
        )
        raise ValidationError(
            _("Платёжный сервис не отвечает. Попробуйте ещё раз через минуту."), code="provider_unavailable"
        ) from None
    if not payment.external_id:
        Payment.objects.filter(pk=payment.pk, external_id="").update(external_id=remote.id[:80])
        payment.external_id = remote.id[:80]
    return payment, remote.confirmation_url


@dataclass(frozen=True)
class WebhookResult:
    status: int
    code: str


def online_webhook_handle(*, body: bytes, timestamp: str, signature: str, client=None) -> WebhookResult:
    """Checks and applies one provider notification. Never trusts the payload's own status: the
    payment is re-read from the provider before any money is credited."""
    secret = _setting("BILLING_WEBHOOK_SECRET")
    if not secret or not signature or not hmac.compare_digest(sign(body, timestamp, secret), signature):
        return WebhookResult(403, "bad_signature")
    try:
        if abs(time.time() - int(timestamp)) > MAX_SKEW_S:
            return WebhookResult(403, "stale")
        event = json.loads(body.decode())
        event_id = str(event["id"])[:100]
        kind = str(event["event"])[:64]
        provider_id = str(event["object"]["id"])
    except (ValueError, KeyError, TypeError):
        return WebhookResult(400, "malformed")
    with unscoped():
        payment = (
            Payment.objects.select_related("account__organization").filter(external_id=provider_id).first()
        )
        if payment is None:
            return WebhookResult(404, "unknown_payment")
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(provider=PROVIDER, event_id=event_id, payment=payment, kind=kind)
        except IntegrityError:
            return WebhookResult(200, "replayed")
        if kind != "payment.succeeded":
            return WebhookResult(200, "ignored")
        client = client or ProviderClient()
        try:
            remote = client.get(provider_id)
        except ProviderError:
            # Not recorded as handled, so the provider's retry gets another chance.
            WebhookEvent.objects.filter(provider=PROVIDER, event_id=event_id).delete()
            return WebhookResult(503, "provider_unavailable")
        if remote.status != "succeeded" or remote.amount != payment.amount:
            return WebhookResult(200, "not_paid")
        services.payment_confirm(payment=payment, external_id=provider_id)
    return WebhookResult(200, "ok")
