"""The online-payment adapter against a fake acquirer on loopback, with webhooks sent to the live
server: a paid payment is credited once; a bad signature, a stale or a replayed webhook change nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kruzhok.billing import online, selectors, services
from kruzhok.billing.models import Payment
from kruzhok.billing.tests.fake_provider import FakeProvider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider(settings):
    with FakeProvider(shop_id="shop-1", secret="s3cret", webhook_secret="hook-secret") as fake:
        settings.BILLING_PROVIDER_URL = fake.url
        settings.BILLING_PROVIDER_SHOP_ID = "shop-1"
        settings.BILLING_PROVIDER_SECRET = "s3cret"
        settings.BILLING_WEBHOOK_SECRET = "hook-secret"
        yield fake


@pytest.fixture
def started(alpha, provider):
    account = services.account_for_guardian(guardian=alpha.guardian)
    payment, link = online.online_payment_start(
        org=alpha.org,
        account=account,
        amount="4800",
        actor=alpha.manager,
        return_url="http://x/",
        idempotency_key="o1",
    )
    return account, payment, link


def test_a_retried_start_opens_one_payment_at_the_provider(alpha, provider, started):
    account, payment, link = started
    again, link2 = online.online_payment_start(
        org=alpha.org,
        account=account,
        amount="4800",
        actor=alpha.manager,
        return_url="http://x/",
        idempotency_key="o1",
    )
    assert again.pk == payment.pk and link == link2 and link.startswith(provider.url)
    assert len(provider.payments) == 1
    assert payment.status == "pending"
    assert selectors.account_balance(account=account) == 0


def test_a_paid_payment_is_credited_once_and_a_replay_changes_nothing(live_server, alpha, provider, started):
    account, payment, _ = started
    url = live_server.url + reverse("billing:webhook_online")
    assert provider.pay(url, payment.external_id) == (200, {"result": "ok"})
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert selectors.account_balance(account=account) == Decimal("4800.00")
    assert provider.send(url, *provider.last_webhook) == (200, {"result": "replayed"})
    assert provider.webhook(url, payment.external_id)[0] == 200  # a new event id for the same payment
    assert selectors.account_balance(account=account) == Decimal("4800.00")


def test_a_bad_signature_is_refused(live_server, alpha, provider, started):
    account, payment, _ = started
    provider.payments[payment.external_id]["status"] = "succeeded"
    url = live_server.url + reverse("billing:webhook_online")
    status, body = provider.webhook(url, payment.external_id, secret="wrong")
    assert (status, body) == (403, {"result": "bad_signature"})
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert selectors.account_balance(account=account) == 0


def test_a_stale_webhook_is_refused(live_server, alpha, provider, started):
    account, payment, _ = started
    provider.payments[payment.external_id]["status"] = "succeeded"
    url = live_server.url + reverse("billing:webhook_online")
    assert provider.webhook(url, payment.external_id, timestamp="1000")[0] == 403
    assert selectors.account_balance(account=account) == 0


def test_a_webhook_claiming_success_for_an_unpaid_payment_is_not_believed(
    live_server, alpha, provider, started
):
    account, payment, _ = started
    url = live_server.url + reverse("billing:webhook_online")
    # Correctly signed, but the provider itself still says "pending".
    assert provider.webhook(url, payment.external_id) == (200, {"result": "not_paid"})
    assert selectors.account_balance(account=account) == 0


def test_a_manager_gets_a_payment_link_from_the_account_page(client_as, alpha, provider):
    account = services.account_for_guardian(guardian=alpha.guardian)
    client = client_as(alpha.manager)
    data = {"amount": "2500", "idempotency_key": "link-1"}
    response = client.post(reverse("billing:online_link", args=[account.pk]), data, follow=True)
    assert f"{provider.url}/pay/" in response.content.decode()
    client.post(reverse("billing:online_link", args=[account.pk]), data)
    assert Payment.objects.filter(status="pending").count() == 1 and len(provider.payments) == 1


def test_an_unreachable_provider_gives_a_clear_message(client_as, alpha, settings):
    settings.BILLING_PROVIDER_URL = "http://127.0.0.1:9"
    account = services.account_for_guardian(guardian=alpha.guardian)
    response = client_as(alpha.manager).post(
        reverse("billing:online_link", args=[account.pk]),
        {"amount": "100", "idempotency_key": "x"},
        follow=True,
    )
    assert "Платёжный сервис не отвечает" in response.content.decode()
    assert Payment.objects.get().status == "failed"
    assert selectors.account_balance(account=account) == 0
