"""Messages and their outbox.

A Message is what a person receives (it is also their in-app inbox row). A Delivery is one try to carry a
message over one channel; the drain worker claims deliveries with a conditional UPDATE, logs every
attempt as a DeliveryAttempt, and on a permanent failure creates the next channel's delivery (cascade).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class Channel(models.TextChoices):
    INAPP = "inapp", _("В приложении")
    EMAIL = "email", _("Эл. почта")
    TELEGRAM = "telegram", _("Telegram")
    SMS = "sms", _("SMS")
    WEBPUSH = "webpush", _("Уведомление в браузере")


class MessagingSettings(TenantOwned):
    """Per-organisation delivery settings: its own Telegram bot and the children's quiet hours."""

    telegram_bot_token = models.CharField(_("токен Telegram-бота"), max_length=100, blank=True)
    telegram_bot_username = models.CharField(_("имя Telegram-бота"), max_length=64, blank=True)
    # Telegram echoes it in X-Telegram-Bot-Api-Secret-Token: an update without it is forged.
    telegram_webhook_secret = models.CharField(max_length=64, blank=True)
    quiet_start = models.TimeField(_("тихие часы с"), default="21:00")
    quiet_end = models.TimeField(_("тихие часы до"), default="08:00")
    # Messages per local day over paid or rate-limited channels (email, Telegram, SMS, push); 0 = no limit.
    daily_limit = models.PositiveIntegerField(_("лимит внешних сообщений в день"), default=0)
    # Lesson reminders go this many hours before the lesson (24 = the day before); 0 switches them off.
    reminder_hours = models.PositiveSmallIntegerField(_("напоминать о занятии за, часов"), default=24)
    # A browser notification must be acknowledged (shown or opened) within this window, else the next
    # channel is tried; see docs/messaging.md "What confirmed means".
    push_confirm_minutes = models.PositiveSmallIntegerField(_("ждать подтверждения push, минут"), default=30)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="messaging_settings_one_per_org")
        ]


class ContactPreference(TenantOwned):
    """How one person wants to be reached: channel order, opt-outs and the linked Telegram chat."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    guardian = models.ForeignKey(
        "school.Guardian", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    channel_order = models.JSONField(default=list, blank=True)
    opted_out = models.JSONField(default=list, blank=True)
    telegram_chat_id = models.CharField(max_length=32, blank=True)
    # One-time code of the deep link t.me/<bot>?start=<code> that binds a chat to this person.
    telegram_link_token = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=Q(user__isnull=False),
                name="contactpref_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["organization", "guardian"],
                condition=Q(guardian__isnull=False),
                name="contactpref_one_per_guardian",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(guardian__isnull=False), name="contactpref_has_owner"
            ),
        ]


class Audience(models.TextChoices):
    GROUP = "group", _("Группа")
    FAMILY = "family", _("Одна семья")


class Announcement(TenantOwned):
    title = models.CharField(_("тема"), max_length=200)
    body_template = models.TextField(_("текст"))
    audience = models.CharField(_("кому"), max_length=16, choices=Audience.choices)
    group = models.ForeignKey(
        "school.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    guardian = models.ForeignKey(
        "school.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class MessageKind(models.TextChoices):
    ABSENCE = "absence", _("Пропуск занятия")
    ANNOUNCEMENT = "announcement", _("Объявление")
    FEEDBACK_ALERT = "feedback_alert", _("Негативный отзыв")
    FEEDBACK_REPLY = "feedback_reply", _("Ответ на отзыв")
    CONVERSATION = "conversation", _("Переписка")
    LESSON_REMINDER = "lesson_reminder", _("Напоминание о занятии")
    LESSON_CHANGE = "lesson_change", _("Изменение занятия")
    RENEWAL = "renewal", _("Продление абонемента")
    DIGEST = "digest", _("Итоги недели")
    SURVEY = "survey", _("Опрос")
    OTHER = "other", _("Сообщение")


class Message(TenantOwned):
    # A parent may have no account (reached by email/Telegram only), so the guardian is a recipient too.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    guardian = models.ForeignKey(
        "school.Guardian", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    student = models.ForeignKey(
        "school.Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient_is_child = models.BooleanField(default=False)
    kind = models.CharField(max_length=32, choices=MessageKind.choices, default=MessageKind.OTHER)
    subject = models.CharField(_("тема"), max_length=200)
    body = models.TextField(_("текст"))
    link = models.CharField(max_length=300, blank=True)
    # Makes automatic messages idempotent: the same absence is announced once, however often it is marked.
    dedupe_key = models.CharField(max_length=200, blank=True)
    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    # A notice about a new reply in a conversation: a Telegram reply to it lands in that conversation.
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "user", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], condition=~Q(dedupe_key=""), name="message_dedupe_once"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(guardian__isnull=False), name="message_has_recipient"
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("В очереди")
    SENDING = "sending", _("Отправляется")
    SENT = "sent", _("Доставлено")
    FAILED = "failed", _("Не удалось")
    # The worker died after handing the message to the channel: it may have arrived, so it is not resent.
    UNKNOWN = "unknown", _("Не подтверждено")
    # Handed over, but not confirmed within the channel's window: the next channel was tried.
    EXPIRED = "expired", _("Не подтверждено вовремя")


class Delivery(TenantOwned):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=254, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # The channel's own id of what it carried (Telegram message_id): maps a reply back to its message.
    external_id = models.CharField(max_length=64, blank=True)
    # Sent but awaiting confirmation (push shown/opened) until `confirm_by`; then the cascade moves on.
    confirm_by = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["message_id", "position"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(
                fields=["confirm_by"], name="delivery_awaiting_confirm", condition=Q(confirm_by__isnull=False)
            ),
            models.Index(fields=["organization", "channel", "external_id"], name="delivery_external_id"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="delivery_one_per_channel"),
        ]


class AttemptOutcome(models.TextChoices):
    STARTED = "", _("Начата")
    SENT = "sent", _("Доставлено")
    RATE_LIMITED = "rate_limited", _("Ограничение частоты (429)")
    RETRY = "retry", _("Временная ошибка")
    FAILED = "failed", _("Ошибка")
    UNKNOWN = "unknown", _("Исполнитель прерван")


class DeliveryAttempt(TenantOwned):
    """Append-only log: one row per try, written before the network call so a crash leaves a trace."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_once")]


class PushSubscription(TenantOwned):
    """A browser's Web Push subscription (the PushSubscription JSON the browser gives us)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=1000)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "endpoint"], name="push_endpoint_once")
        ]


class Side(models.TextChoices):
    STAFF = "staff", _("Центр")
    FAMILY = "family", _("Семья")


class Conversation(TenantOwned):
    """A two-way thread between the centre's staff and one family (optionally about one child).

    Read state is kept per side: the family's and the staff's last read moment; unread = the other
    side's posts after it."""

    guardian = models.ForeignKey("school.Guardian", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(
        "school.Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    branch = models.ForeignKey(
        "school.Branch", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(_("тема"), max_length=200)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_post_at = models.DateTimeField()
    family_read_at = models.DateTimeField(null=True, blank=True)
    staff_read_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-last_post_at", "-id"]
        indexes = [models.Index(fields=["organization", "guardian", "-last_post_at"])]

    def __str__(self) -> str:
        return self.subject


class ConversationPost(TenantOwned):
    """One message in a conversation; append-only."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="posts")
    side = models.CharField(max_length=8, choices=Side.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("текст"))
    # "inapp" or "telegram": where the family's words came from.
    via = models.CharField(max_length=16, default="inapp")
    # Telegram's update_id/message_id of an incoming post, so a redelivered update adds nothing twice.
    external_ref = models.CharField(max_length=64, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_ref"],
                condition=~Q(external_ref=""),
                name="conversation_post_once",
            )
        ]
