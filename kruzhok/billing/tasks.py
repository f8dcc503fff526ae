from celery import shared_task

from kruzhok.billing.services import renewals_scan
from kruzhok.lib.tenancy import for_each_organisation


@shared_task
def billing_renewals_task() -> dict[str, int]:
    """Daily (to be added to CELERY_BEAT_SCHEDULE): publishes renewal due / missed events.
    The same work as `manage.py billing_renewals`."""
    return for_each_organisation(renewals_scan)
