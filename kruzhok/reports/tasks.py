from celery import shared_task


@shared_task
def report_run_task(run_id: int) -> str:
    """Generates one queued report (enqueued after the run's row commits)."""
    from kruzhok.reports.services import report_run_execute

    run = report_run_execute(run_id=run_id)
    return run.status if run is not None else "missing"


@shared_task
def reports_schedules_task() -> dict[str, int]:
    """Daily (see CELERY_BEAT_SCHEDULE): generates and mails the monthly reports that are due.
    The same work as `manage.py reports_send_scheduled`."""
    from kruzhok.reports.services import schedules_run_all

    return schedules_run_all()
