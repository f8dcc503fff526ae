import json

import pytest
from django.urls import reverse

from kruzhok.messaging import services
from kruzhok.messaging.models import Channel, ContactPreference, MessagingSettings

pytestmark = pytest.mark.django_db


def webhook(client, org, update, secret):
    return client.post(
        reverse("messaging:telegram_webhook", args=[org.pk]),
        data=json.dumps(update) if not isinstance(update, str) else update,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
    )


def start_update(code, chat_id=777):
    return {
        "update_id": 1,
        "message": {"message_id": 5, "chat": {"id": chat_id, "type": "private"}, "text": f"/start {code}"},
    }


@pytest.fixture
def bot(alpha):
    services.messaging_settings_update(
        org=alpha.org, telegram_bot_token="1:x", telegram_bot_username="kruzhok_alpha_bot"
    )
    return services.telegram_webhook_secret_ensure(org=alpha.org)


def test_a_parent_links_telegram_through_the_deep_link(alpha, bot, client_as):
    page = client_as(alpha.parent).post(reverse("messaging:telegram_link")).content.decode()
    code = ContactPreference.objects.get(user=alpha.parent).telegram_link_token
    assert f"https://t.me/kruzhok_alpha_bot?start={code}" in page

    response = webhook(client_as(alpha.parent), alpha.org, start_update(code), bot.telegram_webhook_secret)
    assert response.status_code == 200
    pref = ContactPreference.objects.get(user=alpha.parent)
    assert pref.telegram_chat_id == "777" and pref.telegram_link_token is None
    # Used once: the same code does nothing the second time.
    webhook(client_as(alpha.parent), alpha.org, start_update(code, chat_id=999), bot.telegram_webhook_secret)
    assert ContactPreference.objects.get(user=alpha.parent).telegram_chat_id == "777"


def test_a_forged_update_without_the_secret_is_refused(alpha, bot, client):
    ContactPreference.objects.create(organization=alpha.org, user=alpha.parent, telegram_link_token="abc")
    assert webhook(client, alpha.org, start_update("abc"), "wrong").status_code == 403
    assert webhook(client, alpha.org, start_update("abc"), "").status_code == 403
    assert ContactPreference.objects.get(user=alpha.parent).telegram_chat_id == ""


def test_another_organisations_secret_does_not_open_this_webhook(alpha, beta, bot, client):
    other = services.telegram_webhook_secret_ensure(org=beta.org)
    assert webhook(client, alpha.org, start_update("abc"), other.telegram_webhook_secret).status_code == 403


@pytest.mark.parametrize(
    "update",
    [
        "not json",
        "[]",
        {"message": "x"},
        {"message": {"chat": {"id": "1"}, "text": "/start a"}},
        {"message": {"text": "/start"}},
    ],
)
def test_malformed_updates_are_answered_without_errors(alpha, bot, client, update):
    assert webhook(client, alpha.org, update, bot.telegram_webhook_secret).status_code in (200, 400)


def test_a_parent_chooses_email_first_and_opts_out_of_telegram(alpha, client_as):
    client = client_as(alpha.parent)
    response = client.post(reverse("messaging:preferences"), {"primary": "email", "no_telegram": "on"})
    assert response.status_code == 302
    pref = ContactPreference.objects.get(user=alpha.parent)
    assert pref.channel_order[0] == Channel.EMAIL and pref.opted_out == [Channel.TELEGRAM]
    assert client.post(reverse("messaging:preferences"), {"primary": "pigeon"}).status_code == 400


def test_only_the_owner_sets_up_the_bot_and_quiet_hours(alpha, client_as):
    for user in (alpha.manager, alpha.teacher, alpha.parent):
        assert client_as(user).get(reverse("messaging:settings")).status_code == 403
    client = client_as(alpha.owner)
    response = client.post(
        reverse("messaging:settings"),
        {
            "telegram_bot_token": "1:abc",
            "telegram_bot_username": "bot",
            "quiet_start": "22:00",
            "quiet_end": "07:30",
            "daily_limit": "100",
            "reminder_hours": "24",
            "push_confirm_minutes": "30",
        },
    )
    assert response.status_code == 302
    row = MessagingSettings.objects.get(organization=alpha.org)
    assert row.telegram_bot_token == "1:abc" and str(row.quiet_end) == "07:30:00"
    bad = client.post(
        reverse("messaging:settings"), {"telegram_bot_username": "<script>", "quiet_start": "25:00"}
    )
    assert bad.status_code == 400


def test_a_linked_parents_question_to_the_bot_lands_in_their_conversation_not_in_feedback(
    alpha, bot, client, django_capture_on_commit_callbacks
):
    from kruzhok.feedback.models import Feedback
    from kruzhok.messaging.models import Conversation

    ContactPreference.objects.create(organization=alpha.org, user=alpha.parent, telegram_chat_id="777")
    update = {
        "update_id": 2,
        "message": {"chat": {"id": 777, "type": "private"}, "text": "Во сколько завтра занятие?"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook(client, alpha.org, update, bot.telegram_webhook_secret).status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.guardian == alpha.guardian
    assert conversation.posts.get().body == "Во сколько завтра занятие?"
    # A plain question is not a complaint: only negative texts are also filed as feedback.
    assert not Feedback.objects.exists()
    # An unknown chat is ignored.
    stranger = {"update_id": 3, "message": {"chat": {"id": 5, "type": "private"}, "text": "привет"}}
    with django_capture_on_commit_callbacks(execute=True):
        webhook(client, alpha.org, stranger, bot.telegram_webhook_secret)
    assert Conversation.objects.count() == 1
