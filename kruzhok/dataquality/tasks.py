from celery import shared_task


@shared_task
def dataquality_daily_task() -> dict[str, int]:
    """Daily (see CELERY_BEAT_SCHEDULE): the snapshot, reminders about unmarked lessons and the digest
    to owners and managers. The same work as `manage.py dataquality_daily`."""
    from kruzhok.dataquality.services import daily_run_all

    return daily_run_all()
