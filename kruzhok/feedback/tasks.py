from celery import shared_task


@shared_task
def surveys_send_task() -> dict[str, int]:
    """Periodic (see CELERY_BEAT_SCHEDULE): today's parent-survey invitations; idempotent per day."""
    from kruzhok.feedback.surveys import surveys_send_all

    return surveys_send_all()
