from celery import shared_task

from kruzhok.school.services.lessons import lessons_generate_all


@shared_task
def lessons_generate_all_task(horizon_days: int | None = None) -> dict[str, int]:
    """Periodic (see CELERY_BEAT_SCHEDULE): keeps every organisation's lessons a horizon ahead."""
    return lessons_generate_all(horizon_days=horizon_days)
