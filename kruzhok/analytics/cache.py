"""Dashboard figures cached per organisation and data version.

The key holds the organisation's change counter (bumped by event handlers on every attendance mark,
enrollment change and billing event) and the newest ids of the tables that only grow (enrollments,
marks, ledger entries, risk scores, feedback), so bulk loads that publish no events invalidate too.
`KRUZHOK_ANALYTICS_CACHE=false` turns caching off: `analytics_bench` measures the pages both ways.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.utils.translation import get_language

from kruzhok.accounts.models import Organization
from kruzhok.analytics.models import DataVersion
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing.models import EntryKind, LedgerEntry
from kruzhok.feedback.models import Feedback
from kruzhok.lib.env import env_bool
from kruzhok.risk.models import RiskAlert, RiskScore
from kruzhok.school.models import Enrollment, Lesson

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
    "lesson": Lesson,
}


def cache_enabled() -> bool:
    return env_bool("KRUZHOK_ANALYTICS_CACHE", True)


def _max_id(model, org_id: int):
    # ORDER BY id DESC LIMIT 1 walks the (organization, id) index backwards on both engines; MAX() with a
    # GROUP BY made SQLite count its way through every row of the organisation.
    return Subquery(model.all_objects.filter(organization_id=org_id).order_by("-id").values("id")[:1])


@dataclass(frozen=True)
class Versions:
    """What each kind of cached figure depends on, all read in one query.

    `all` moves with any change (the page's HTML); `enrollments` only with enrollments, `money` with
    billing events and payments, `risk` with new scores, alerts and feedback. (Revenue at risk and the
    children at risk use `all`: a rescore the same day overwrites its row in place and moves no id,
    but the event that caused it moves the counter.) Marks and lessons are not
    cached at all: they are read from MonthlyFact, kept exact by the handlers. `mark_id`/`lesson_id` and
    the `seen_*` ids tell whether rows arrived without events and the facts must catch up."""

    all: str
    enrollments: str
    money: str
    risk: str
    mark_id: int = 0
    lesson_id: int = 0
    seen_mark_id: int | None = None
    seen_lesson_id: int | None = None

    def part(self, name: str) -> str:
        return getattr(self, name)


def versions(org_id: int) -> Versions:
    """One query: the change counters and the newest id of every growing table of the organisation."""
    state = DataVersion.all_objects.filter(organization_id=OuterRef("pk"))
    counters = {
        f"c_{name}": Subquery(state.values(name)[:1])
        for name in ("version", "enrollments", "money", "facts_mark_id", "facts_lesson_id")
    }
    # Money received moves with payments and refunds (and their reversals), not with the lesson charges
    # a mark writes to the ledger.
    received = LedgerEntry.all_objects.filter(
        organization_id=org_id, kind__in=[EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.CORRECTION]
    )
    row = (
        Organization.objects.filter(pk=org_id)
        .annotate(
            **counters,
            **{name: _max_id(model, org_id) for name, model in _GROWING.items()},
            received=Subquery(received.order_by("-id").values("id")[:1]),
        )
        .values(*counters, *_GROWING, "received")
        .first()
    )
    if row is None:
        return Versions("none", "none", "none", "none")
    v = {k: row[k] or 0 for k in row}
    enrollments = f"{v['c_enrollments']}:{v['enr']}"
    return Versions(
        all=":".join(str(v[k]) for k in ("c_version", *_GROWING)),
        enrollments=enrollments,
        money=f"{v['c_money']}:{v['received']}:{enrollments}",
        risk=f"{v['score']}:{v['alert']}:{v['fb']}:{enrollments}",
        mark_id=v["mark"],
        lesson_id=v["lesson"],
        seen_mark_id=row["c_facts_mark_id"],
        seen_lesson_id=row["c_facts_lesson_id"],
    )


def data_version(org_id: int) -> str:
    """The version every change moves (kept for callers that cache a whole page)."""
    return versions(org_id).all


# (organisation, name) → (cache key, value): the latest big value kept unpickled in this process.
_MEMO: dict[tuple[int, str], tuple[str, object]] = {}


def cached(
    org_id: int,
    name: str,
    params: dict,
    compute: Callable[[], T],
    *,
    version: str | None = None,
    memo: bool = False,
) -> T:
    """compute() once per (organisation, data version, name, params); `version` saves a query when known.

    `memo=True` also keeps the value in this process while the shared cache still holds its key:
    unpickling the 30 000-row enrollment list cost 0.23 s, and a mark does not change it."""
    if not cache_enabled():
        return compute()
    version = version or data_version(org_id)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
    # Per language too: cached rows carry worded labels and verdicts («Что помогает», action kinds).
    key = f"analytics:{org_id}:{version}:{get_language()}:{name}:{digest}"
    if memo:
        kept = _MEMO.get((org_id, name))
        # has_key reads no value: a cleared or expired entry drops the process copy with it.
        if kept is not None and kept[0] == key and cache.has_key(key):
            return kept[1]
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TTL_SECONDS)
    if memo:
        _MEMO[(org_id, name)] = (key, value)
    return value
