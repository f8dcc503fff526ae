from django.db import models

from kruzhok.lib.tenancy import TenantOwned


class DataQualitySnapshot(TenantOwned):
    """How many problems each check found on one day, so the page can show the trend fall to zero.

    `counts` is {"all": {check: n}, "<branch id>": {check: n}}: a manager's trend is the sum over their
    branches. `details` keeps what is too slow to recompute on every page view (the ledger check)."""

    day = models.DateField()
    counts = models.JSONField(default=dict)
    details = models.JSONField(default=dict, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="dataquality_snapshot_one_per_day")
        ]
