"""Reactions to other apps' events (subscribed in FeedbackConfig.ready)."""

from django.contrib.auth import get_user_model

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context


def on_telegram_text(
    *, organization_id: int, user_id: int, text: str, conversation_id: int | None = None, **_
) -> None:
    """A parent's message to the centre's bot is already in their conversation (messaging put it
    there). A negative one is also filed in the feedback inbox, so the branch manager is alerted within
    the minute and the loop is closed by answering it (the answer continues the conversation)."""
    from kruzhok.feedback import sentiment as sentiment_model
    from kruzhok.feedback.selectors import guardian_of_user
    from kruzhok.feedback.services import TEXT_MAX, feedback_submit
    from kruzhok.messaging.models import Conversation
    from kruzhok.school.models import StudentGuardian

    if sentiment_model.analyse(text).label != sentiment_model.NEGATIVE:
        return
    with tenant_context(organization_id):
        org = Organization.objects.filter(pk=organization_id).first()
        user = get_user_model().objects.filter(pk=user_id).first()
        guardian = guardian_of_user(user=user, org=org) if org and user else None
        if guardian is None:
            return
        conversation = (
            Conversation.objects.filter(organization=org, pk=conversation_id).first()
            if conversation_id
            else None
        )
        student = conversation.student if conversation else None
        if student is None:
            # A family with one child writes about that child; with several we cannot tell.
            children = list(StudentGuardian.objects.filter(organization=org, guardian=guardian)[:2])
            student = children[0].student if len(children) == 1 else None
        # The full text stays in the conversation; the inbox keeps 2000 characters, marked as cut.
        body = text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 12] + " […обрезано]"
        feedback_submit(
            org=org,
            actor=user,
            guardian=guardian,
            student=student,
            text=body,
            conversation=conversation,
        )
