from celery import shared_task

from kruzhok.accounts.models import Organization
from kruzhok.billing.services import renewals_scan
from kruzhok.lib.tenancy import tenant_context


@shared_task
def billing_renewals_task() -> dict[str, int]:
    """Daily (to be added to CELERY_BEAT_SCHEDULE): publishes renewal due / missed events.
    The same work as `manage.py billing_renewals`."""
    totals = {"due": 0, "missed": 0}
    for org in Organization.objects.order_by("pk"):
        with tenant_context(org.pk):
            counts = renewals_scan(org=org)
        totals["due"] += counts["due"]
        totals["missed"] += counts["missed"]
    return totals
