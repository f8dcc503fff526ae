import pytest

from kruzhok.messaging.tests.fake_servers import (
    FakePushService,
    FakeSmsGateway,
    FakeSMTP,
    FakeTelegram,
    vapid_keys,
)

BOT_TOKEN = "123456:TEST-token"


@pytest.fixture
def fake_smtp(settings):
    server = FakeSMTP().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def fake_telegram(settings):
    server = FakeTelegram(BOT_TOKEN).start()
    settings.TELEGRAM_API_BASE = server.base_url
    yield server
    server.stop()


SMS_TOKEN = "sms-secret"


@pytest.fixture
def fake_sms(settings):
    server = FakeSmsGateway(SMS_TOKEN).start()
    settings.SMS_GATEWAY_URL = server.base_url
    settings.SMS_GATEWAY_TOKEN = SMS_TOKEN
    yield server
    server.stop()


@pytest.fixture
def fake_push(settings):
    server = FakePushService().start()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = vapid_keys()
    settings.MESSAGING_PUSH_ALLOW_HTTP = True
    yield server
    server.stop()
