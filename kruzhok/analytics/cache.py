"""Dashboard figures cached per organisation and data version.

The key holds the organisation's change counter (bumped by event handlers on every attendance mark,
enrollment change and billing event) and the newest ids of the tables that only grow (enrollments,
marks, ledger entries, risk scores, feedback), so bulk loads that publish no events invalidate too.
`KRUZHOK_ANALYTICS_CACHE=false` turns caching off: `analytics_bench` measures the pages both ways.
"""

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db.models import OuterRef, Subquery

from kruzhok.accounts.models import Organization
from kruzhok.analytics.models import DataVersion
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing.models import LedgerEntry
from kruzhok.feedback.models import Feedback
from kruzhok.lib.env import env_bool
from kruzhok.risk.models import RiskAlert, RiskScore
from kruzhok.school.models import Enrollment

T = TypeVar("T")
# Risk scores are rewritten in place during the nightly run; ten minutes bounds how stale they can look.
TTL_SECONDS = 600
_GROWING = {
    "enr": Enrollment,
    "mark": AttendanceMark,
    "ledger": LedgerEntry,
    "score": RiskScore,
    "alert": RiskAlert,
    "fb": Feedback,
}


def cache_enabled() -> bool:
    return env_bool("KRUZHOK_ANALYTICS_CACHE", True)


def _max_id(model, org_id: int):
    # ORDER BY id DESC LIMIT 1 walks the (organization, id) index backwards on both engines; MAX() with a
    # GROUP BY made SQLite count its way through every row of the organisation.
    return Subquery(model.all_objects.filter(organization_id=org_id).order_by("-id").values("id")[:1])


def data_version(org_id: int) -> str:
    """One query: the change counter and the newest id of every growing table of the organisation."""
    counter = DataVersion.all_objects.filter(organization_id=OuterRef("pk")).values("version")[:1]
    row = (
        Organization.objects.filter(pk=org_id)
        .annotate(
            counter=Subquery(counter), **{name: _max_id(model, org_id) for name, model in _GROWING.items()}
        )
        .values("counter", *_GROWING)
        .first()
    )
    if row is None:
        return "none"
    return ":".join(str(row[k] or 0) for k in ("counter", *_GROWING))


def cached(
    org_id: int, name: str, params: dict, compute: Callable[[], T], *, version: str | None = None
) -> T:
    """compute() once per (organisation, data version, name, params); `version` saves a query when known."""
    if not cache_enabled():
        return compute()
    version = version or data_version(org_id)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
    key = f"analytics:{org_id}:{version}:{name}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TTL_SECONDS)
    return value
