from kruzhok.messaging.models import ContactPreference, MessagingSettings
from kruzhok.messaging.tests.conftest import BOT_TOKEN

PARENT_CHAT = "4242"


def telegram_ready(world, *, chat_id: str = PARENT_CHAT, order=None, opted_out=()):
    """The organisation has a bot and A's parent linked their Telegram chat."""
    MessagingSettings.objects.update_or_create(
        organization=world.org, defaults={"telegram_bot_token": BOT_TOKEN}
    )
    ContactPreference.objects.update_or_create(
        organization=world.org,
        user=world.parent,
        defaults={
            "telegram_chat_id": chat_id,
            "channel_order": list(order or []),
            "opted_out": list(opted_out),
        },
    )
