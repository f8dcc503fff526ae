from celery import shared_task

from kruzhok.messaging.services import outbox_drain


@shared_task
def outbox_drain_task(limit: int = 200) -> dict[str, int]:
    """Periodic (see CELERY_BEAT_SCHEDULE): one pass over due deliveries; parallel runs are safe."""
    return outbox_drain(limit=limit)


@shared_task
def weekly_digest_task() -> dict[str, int]:
    """Weekly (see CELERY_BEAT_SCHEDULE): a digest per child to each guardian; once per ISO week."""
    from django.conf import settings
    from django.utils import timezone

    from kruzhok.messaging.services import weekly_digest_all

    if timezone.localdate().weekday() != getattr(settings, "MESSAGING_DIGEST_WEEKDAY", 6):
        return {"organizations": 0, "messages": 0}
    return weekly_digest_all()
