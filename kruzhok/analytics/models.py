"""Analytics reads other apps' tables; the one row it owns is a per-organisation counter of changes."""

from django.db import models

from kruzhok.lib.tenancy import TenantOwned


class DataVersion(TenantOwned):
    """Bumped by event handlers whenever attendance, enrollments or billing change in an organisation.

    Cached dashboard figures are keyed by it (together with the newest ids of the append-only tables),
    so a cached figure can never outlive the data it was computed from."""

    version = models.PositiveBigIntegerField(default=0)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="analytics_data_version_one_per_org")
        ]
