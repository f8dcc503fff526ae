"""Event handlers: each takes ids only and is idempotent in effect (a spare bump only costs a recompute)."""

from django.db.models import F

from kruzhok.analytics.models import DataVersion
from kruzhok.lib.tenancy import unscoped

TOPICS = (
    "attendance.marked",
    "enrollment.changed",
    "billing.debt_opened",
    "billing.subscription_frozen",
    "billing.renewal_due",
    "billing.renewal_missed",
    "lesson.changed",
)


def data_version_bump(*, organization_id: int) -> None:
    with unscoped():
        updated = DataVersion.objects.filter(organization_id=organization_id).update(version=F("version") + 1)
        if not updated:
            DataVersion.objects.get_or_create(organization_id=organization_id, defaults={"version": 1})


def on_data_changed(*, organization_id=None, **_payload) -> None:
    if organization_id:
        data_version_bump(organization_id=int(organization_id))
