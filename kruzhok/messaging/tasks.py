from celery import shared_task

from kruzhok.messaging.services import deliveries_unconfirmed_cascade, outbox_drain


@shared_task
def outbox_drain_task(limit: int = 200) -> dict[str, int]:
    """Periodic (see CELERY_BEAT_SCHEDULE): one pass over due deliveries; parallel runs are safe."""
    return outbox_drain(limit=limit)


@shared_task
def deliveries_unconfirmed_task() -> int:
    """Periodic: deliveries not confirmed within their channel's window move on to the next channel."""
    return deliveries_unconfirmed_cascade()


@shared_task
def lesson_reminders_task() -> dict[str, int]:
    """Periodic: reminders of lessons within each centre's `reminder_hours`; once per lesson and family."""
    from kruzhok.messaging.automatic import lesson_reminders_all

    return lesson_reminders_all()


@shared_task
def weekly_digest_task() -> dict[str, int]:
    """Weekly (see CELERY_BEAT_SCHEDULE): a digest per child to each guardian; once per ISO week."""
    from django.conf import settings
    from django.utils import timezone

    from kruzhok.messaging.services import weekly_digest_all

    if timezone.localdate().weekday() != getattr(settings, "MESSAGING_DIGEST_WEEKDAY", 6):
        return {"organizations": 0, "messages": 0}
    return weekly_digest_all()
