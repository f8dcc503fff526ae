from celery import shared_task


@shared_task
def dataquality_daily_task() -> dict[str, int]:
    """Daily (see CELERY_BEAT_SCHEDULE): the snapshot, reminders about unmarked lessons and the digest
    to owners and managers. The same work as `manage.py dataquality_daily`."""
    from kruzhok.dataquality.services import daily_run_all

    return daily_run_all()


@shared_task
def dataquality_snapshot_task(organization_id: int) -> int:
    """A manager's «пересчитать»: today's snapshot for one organisation, without messages."""
    from kruzhok.accounts.models import Organization
    from kruzhok.dataquality.services import snapshot_take
    from kruzhok.lib.tenancy import tenant_context, unscoped

    with unscoped():
        org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return 0
    with tenant_context(org.pk):
        return snapshot_take(org=org).pk
