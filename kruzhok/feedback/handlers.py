"""Reactions to other apps' events (subscribed in FeedbackConfig.ready)."""

from django.contrib.auth import get_user_model

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context


def on_telegram_text(*, organization_id: int, user_id: int, text: str, **_) -> None:
    """A parent's message to the centre's bot lands in the feedback inbox, where staff answer it (the
    answer goes back through the outbox, Telegram first)."""
    from kruzhok.feedback.selectors import guardian_of_user
    from kruzhok.feedback.services import TEXT_MAX, feedback_submit

    with tenant_context(organization_id):
        org = Organization.objects.filter(pk=organization_id).first()
        user = get_user_model().objects.filter(pk=user_id).first()
        guardian = guardian_of_user(user=user, org=org) if org and user else None
        if guardian is None:
            return
        # Telegram allows 4096 characters; the inbox keeps 2000, the rest is marked as cut, never silently.
        body = text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 12] + " […обрезано]"
        feedback_submit(org=org, actor=user, guardian=guardian, text=body)
