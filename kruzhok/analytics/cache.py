"""Dashboard figures cached per organisation and data version.

The key holds the organisation's change counter (bumped by event handlers on every attendance mark,
enrollment change and billing event) and the newest ids of the tables that only grow (enrollments,
marks, ledger entries, risk scores, feedback), so bulk loads that publish no events invalidate too.
`KRUZHOK_ANALYTICS_CACHE=false` turns caching off: `analytics_bench` measures the pages both ways.
"""

import functools
import gc
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import get_language

from kruzhok.accounts.models import Organization
from kruzhok.analytics.models import DataVersion
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing.models import Account, EntryKind, LedgerEntry
from kruzhok.feedback.models import Feedback
from kruzhok.lib.env import env_bool
from kruzhok.risk.models import RiskAlert, RiskScore
from kruzhok.school.models import Enrollment, Lesson, Student

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
    "account": Account,
    "student": Student,
}


@functools.cache
def release() -> str:
    """What this deploy's code and templates are: cached page HTML of an earlier release must not be
    served after a deploy. KRUZHOK_RELEASE (set by the deploy) wins; otherwise a digest of the files
    that shape the figures and pages, the same on every host of one release (~60 ms, on the first cached
    figure of a process, not at start-up: commands that never read a dashboard do not pay it)."""
    configured = os.environ.get("KRUZHOK_RELEASE", "").strip()
    if configured:
        return configured
    digest = hashlib.sha256()
    base = settings.BASE_DIR
    for folder, pattern in (("kruzhok", "*.py"), ("templates", "*.html"), ("locale", "*.mo")):
        for path in sorted((base / folder).rglob(pattern)):
            digest.update(str(path.relative_to(base)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


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
    billing events and payments, `revenue` only with money received, `lessons` with cancelled, moved
    or new lessons, `alerts` with new alerts, `feedback` with new feedback (both with enrollments too).
    Revenue at risk and the children at risk are summed under `all` from latest-score rows read per
    `enrollments` and patched with the day's scores written since (`selectors.risk_rows`). Marks,
    lessons and enrollment flows are read from MonthlyFact, kept exact by the handlers. `mark_id`/`lesson_id`/`enrollment_id`
    and the `seen_*` ids tell whether rows arrived without events and the facts must catch up."""

    all: str
    enrollments: str
    money: str
    revenue: str  # money received only (payments, refunds, their reversals) + enrollments
    lessons: str  # lessons cancelled or moved (lesson.changed) + the newest lesson id
    alerts: str = ""  # new alerts + enrollments: a mark's rescore that opens no alert leaves it
    feedback: str = ""  # new feedback + enrollments
    mark_id: int = 0
    lesson_id: int = 0
    enrollment_id: int = 0
    account_id: int = 0
    student_id: int = 0
    seen_mark_id: int | None = None
    seen_lesson_id: int | None = None
    seen_enrollment_id: int | None = None

    def facts_behind(self) -> bool:
        """Marks, lessons or enrollments arrived without events (or the facts were never built)."""
        pairs = (
            (self.mark_id, self.seen_mark_id),
            (self.lesson_id, self.seen_lesson_id),
            (self.enrollment_id, self.seen_enrollment_id),
        )
        return any(seen is None or newest > seen for newest, seen in pairs)

    def part(self, name: str) -> str:
        return getattr(self, name)


def versions(org_id: int) -> Versions:
    """One query: the change counters and the newest id of every growing table of the organisation."""
    state = DataVersion.all_objects.filter(organization_id=OuterRef("pk"))
    counters = {
        f"c_{name}": Subquery(state.values(name)[:1])
        for name in (
            "version",
            "enrollments",
            "money",
            "lessons",
            "facts_mark_id",
            "facts_lesson_id",
            "facts_enrollment_id",
        )
    }
    # Money received moves with payments and refunds (and their reversals), not with the lesson charges
    # a mark writes to the ledger.
    received = LedgerEntry.all_objects.filter(
        organization_id=org_id, kind__in=[EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.CORRECTION]
    )
    # Revenue counts only payments, refunds and the corrections that reverse them: a mark toggled back
    # reverses its lesson charge with a correction, which must not recompute the revenue.
    money = [EntryKind.PAYMENT, EntryKind.REFUND]
    revenue = LedgerEntry.all_objects.filter(organization_id=org_id).filter(
        Q(kind__in=money) | Q(kind=EntryKind.CORRECTION, reverses__kind__in=money)
    )
    row = (
        Organization.objects.filter(pk=org_id)
        .annotate(
            **counters,
            **{name: _max_id(model, org_id) for name, model in _GROWING.items()},
            received=Subquery(received.order_by("-id").values("id")[:1]),
            revenue=Subquery(revenue.order_by("-id").values("id")[:1]),
        )
        .values(*counters, *_GROWING, "received", "revenue")
        .first()
    )
    if row is None:
        return Versions("none", "none", "none", "none", "none", "none", "none")
    v = {k: row[k] or 0 for k in row}
    enrollments = f"{v['c_enrollments']}:{v['enr']}"
    return Versions(
        all=":".join(str(v[k]) for k in ("c_version", *_GROWING)),
        enrollments=enrollments,
        money=f"{v['c_money']}:{v['received']}:{enrollments}",
        revenue=f"{v['revenue']}:{enrollments}",
        lessons=f"{v['c_lessons']}:{v['lesson']}",
        alerts=f"{v['alert']}:{enrollments}",
        feedback=f"{v['fb']}:{enrollments}",
        mark_id=v["mark"],
        lesson_id=v["lesson"],
        enrollment_id=v["enr"],
        account_id=v["account"],
        student_id=v["student"],
        seen_mark_id=row["c_facts_mark_id"],
        seen_lesson_id=row["c_facts_lesson_id"],
        seen_enrollment_id=row["c_facts_enrollment_id"],
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
    fresh: bool = False,
) -> T:
    """compute() once per (organisation, data version, name, params); `version` saves a query when known.

    `memo=True` also keeps the value in this process while the shared cache still holds its key:
    unpickling the 30 000-row enrollment list cost 0.23 s, and a mark does not change it. `fresh=True`
    computes again and replaces what the key holds (a value its caller found too far behind)."""
    if not cache_enabled():
        return compute()
    version = version or data_version(org_id)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
    # Per language too: cached rows carry worded labels and verdicts («Что помогает», action kinds).
    key = f"analytics:{release()}:{org_id}:{version}:{get_language()}:{name}:{digest}"
    if memo and not fresh:
        kept = _MEMO.get((org_id, name))
        # has_key reads no value: a cleared or expired entry drops the process copy with it.
        if kept is not None and kept[0] == key and cache.has_key(key):
            return kept[1]
    value = None if fresh else cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TTL_SECONDS)
    if memo:
        _MEMO[(org_id, name)] = (key, value)
        # The kept value (30 000 enrollments, 25 000 score rows) lives until its version moves, and is
        # freed by reference counting then (it holds no cycles). Left in the collector's generations,
        # every full collection walked it and everything imported before it: a 150–290 ms pause on one
        # request in ten after a mark. Frozen, the collector skips it.
        gc.freeze()
    return value
