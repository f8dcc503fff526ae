"""Management figures: what the owner, a branch manager and a teacher see on their dashboards.

Everything is scoped the same way: the owner sees the whole organisation, a manager the groups of the
branches they manage, a teacher their own groups (`scope_for`). Filters (branch, course, teacher) narrow
the scope further and never widen it.

Definitions (docs/analytics.md repeats them for the people reading the numbers):
- an enrollment is *open on a day* when it started on or before it and has not ended by then;
- *active students*: distinct children with an open enrollment on the month's last day (today for the
  current month); *new*: enrollments started in the month that are not transfers; *dropped*: enrollments
  that ended in the month with the status "dropped" (a transfer or a completed course is not a loss);
- *churn rate*: dropped ÷ (open at the month's start + new in the month), the children who could leave;
- *attendance rate*: (present + late) ÷ all marks of the month's lessons, as the journal counts it;
- *revenue*: money received in the month (payments less refunds, net of reversals), from the ledger;
- *revenue at risk*: Σ over open enrollments of the course's monthly price × the latest dropout risk.
"""

import datetime as dt
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from django.db import connections
from django.db.models import Case, CharField, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.analytics import facts as monthly
from kruzhok.analytics.cache import Versions, cached, versions
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.billing.models import Account, EntryKind, LedgerEntry
from kruzhok.lib.dates import org_timezone, org_today
from kruzhok.lib.env import env_bool
from kruzhok.risk.models import RiskScore
from kruzhok.risk.services import alert_threshold
from kruzhok.school.models import (
    Enrollment,
    EnrollmentStatus,
    Group,
    Lesson,
    LessonStatus,
    Student,
    StudentGuardian,
)

ZERO = Decimal("0.00")
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
CLOSED_STATUSES = (EnrollmentStatus.DROPPED, EnrollmentStatus.COMPLETED, EnrollmentStatus.TRANSFERRED)


# ---------------------------------------------------------------- contract (reports build on these)


@dataclass(frozen=True)
class GroupRow:
    group_id: int
    group_name: str
    course_name: str
    teacher_name: str
    enrolled: int
    capacity: int
    attendance_rate: float | None
    dropped: int


@dataclass(frozen=True)
class MonthSummary:
    month: dt.date
    active_students: int
    new_enrollments: int
    dropped: int
    churn_rate: float | None
    attendance_rate: float | None
    lessons_held: int
    lessons_cancelled: int
    revenue: Decimal
    revenue_at_risk: Decimal
    at_risk_children: int
    by_group: list[GroupRow] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """What a membership may see: None means no limit of that kind."""

    organization_id: int
    branch_ids: frozenset[int] | None = None
    teacher_id: int | None = None
    nothing: bool = False


def scope_for(membership: Membership) -> Scope:
    org_id = membership.organization_id
    if membership.role == Role.OWNER:
        return Scope(org_id)
    if membership.role == Role.MANAGER:
        branch_ids = membership.user.managed_branches.filter(organization_id=org_id).values_list(
            "pk", flat=True
        )
        return Scope(org_id, branch_ids=frozenset(branch_ids))
    if membership.role == Role.TEACHER:
        return Scope(org_id, teacher_id=membership.user_id)
    return Scope(org_id, nothing=True)


def month_summary(
    org: Organization,
    *,
    month: dt.date,
    branch_ids=None,
    course_ids=None,
    teacher_ids=None,
    scope: Scope | None = None,
) -> MonthSummary:
    """The month's figures for the groups in scope and filters (see the module docstring)."""
    month = month.replace(day=1)
    facts = Facts.load(
        org, scope=scope, branch_ids=branch_ids, course_ids=course_ids, teacher_ids=teacher_ids
    )
    return facts.month_summary(month)


# ---------------------------------------------------------------- dates


def month_end(month: dt.date) -> dt.date:
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_back(last: dt.date, count: int) -> list[dt.date]:
    return [add_months(last.replace(day=1), -i) for i in range(count - 1, -1, -1)]


def is_open_on(started: dt.date, ended: dt.date | None, day: dt.date) -> bool:
    return started <= day and (ended is None or ended > day)


def open_on_q(day: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}started_on__lte": day}) & (
        Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gt": day})
    )


# ---------------------------------------------------------------- organisation-wide raw facts (cached)


@dataclass(frozen=True)
class GroupMeta:
    id: int
    name: str
    course_id: int
    course_title: str
    branch_id: int
    branch_name: str
    teacher_id: int | None
    teacher_name: str
    capacity: int
    is_active: bool
    price: Decimal


@dataclass(frozen=True)
class EnrollmentFact:
    id: int
    student_id: int
    group_id: int
    started_on: dt.date
    ended_on: dt.date | None
    status: str
    is_transfer: bool
    birth_date: dt.date


def _groups_meta(org_id: int) -> dict[int, GroupMeta]:
    rows = Group.all_objects.filter(organization_id=org_id).values_list(
        "pk",
        "name",
        "course_id",
        "course__title",
        "branch_id",
        "branch__name",
        "teacher_id",
        "teacher__last_name",
        "teacher__first_name",
        "teacher__username",
        "capacity",
        "is_active",
        "course__price_per_month",
    )
    out = {}
    for pk, name, cid, ctitle, bid, bname, tid, tlast, tfirst, tuser, cap, active, price in rows:
        teacher = f"{tlast or ''} {tfirst or ''}".strip() or (tuser or "")
        out[pk] = GroupMeta(pk, name, cid, ctitle, bid, bname, tid, teacher, cap, active, price or ZERO)
    return out


def _enrollment_facts(org_id: int) -> list[EnrollmentFact]:
    rows = Enrollment.all_objects.filter(organization_id=org_id).values_list(
        "pk",
        "student_id",
        "group_id",
        "started_on",
        "ended_on",
        "status",
        "transferred_from_id",
        "student__birth_date",
    )
    return [
        EnrollmentFact(r[0], r[1], r[2], r[3], r[4], r[5], r[6] is not None, r[7])
        for r in rows.iterator(2000)
    ]


def month_case(field_name: str, months: list[dt.date], tz=None) -> Case:
    """The month a row falls in, as plain range comparisons: TruncMonth with a time zone is a Python
    function per row on SQLite, which costs seconds over a year of marks."""

    def bound(day: dt.date):
        return dt.datetime.combine(day, dt.time.min, tzinfo=tz) if tz is not None else day

    whens = [
        When(
            **{f"{field_name}__gte": bound(m), f"{field_name}__lt": bound(add_months(m, 1))},
            then=Value(m.isoformat()),
        )
        for m in months
    ]
    return Case(*whens, default=Value(""), output_field=CharField())


def _mark_counts(org_id: int, since: dt.datetime, tz) -> dict[tuple[int, dt.date], dict[str, int]]:
    """(group, month) → marks by status, for lessons since `since`."""
    months = _months_since(since.date())
    rows = (
        AttendanceMark.all_objects.filter(organization_id=org_id, lesson__starts_at__gte=since)
        .annotate(month=month_case("lesson__starts_at", months, tz))
        .values_list("lesson__group_id", "month", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out: dict = defaultdict(lambda: dict.fromkeys(AttendanceStatus.values, 0))
    for group_id, month, status, n in rows:
        out[(group_id, _as_date(month))][status] += n
    return dict(out)


def _lesson_counts(
    org_id: int, since: dt.datetime, now: dt.datetime, tz
) -> dict[tuple[int, dt.date], list[int]]:
    """(group, month) → [held so far, cancelled]."""
    months = _months_since(since.date())
    rows = (
        Lesson.all_objects.filter(organization_id=org_id, starts_at__gte=since, starts_at__lt=now)
        .annotate(month=month_case("starts_at", months, tz))
        .values_list("group_id", "month", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out: dict = defaultdict(lambda: [0, 0])
    for group_id, month, status, n in rows:
        out[(group_id, _as_date(month))][0 if status == LessonStatus.SCHEDULED else 1] += n
    return dict(out)


def _received_entries_q() -> Q:
    money = [EntryKind.PAYMENT, EntryKind.REFUND]
    return Q(kind__in=money) | Q(kind=EntryKind.CORRECTION, reverses__kind__in=money)


def _revenue_by_account(org_id: int, since: dt.date) -> dict[tuple[int, dt.date], Decimal]:
    rows = (
        LedgerEntry.all_objects.filter(organization_id=org_id, occurred_on__gte=since)
        .filter(_received_entries_q())
        .annotate(month=month_case("occurred_on", _months_since(since)))
        .values_list("account_id", "month")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {(account_id, _as_date(month)): total for account_id, month, total in rows}


def _account_students(org_id: int) -> dict[int, set[int]]:
    """Account → the children of its guardian: whose groups a family's money is counted in."""
    guardian_account = dict(
        Account.all_objects.filter(organization_id=org_id).values_list("guardian_id", "pk")
    )
    out: dict[int, set[int]] = defaultdict(set)
    for student_id, guardian_id in StudentGuardian.all_objects.filter(organization_id=org_id).values_list(
        "student_id", "guardian_id"
    ):
        if guardian_id in guardian_account:
            out[guardian_account[guardian_id]].add(student_id)
    return dict(out)


def _latest_risk_rows(org_id: int, as_of: dt.date) -> list[tuple[int, int, int, float | None]]:
    """(enrollment, group, student, probability of its latest score on or before `as_of`, or None when
    it has none yet) for every enrollment open on that day."""
    latest = (
        RiskScore.all_objects.filter(enrollment_id=OuterRef("pk"), scored_on__lte=as_of)
        .order_by("-scored_on")
        .values("probability")[:1]
    )
    rows = (
        Enrollment.all_objects.filter(organization_id=org_id)
        .filter(open_on_q(as_of))
        .annotate(p=Subquery(latest))
        .values_list("pk", "group_id", "student_id", "p")
    )
    # 25 000 rows of ints and a float: read from the cursor, without the ORM's per-row conversion
    # (a third of the time on SQLite); the SQL is still the queryset's.
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Rows rescored since they were read are patched in from the scores written since; this much clock
# difference between the processes that write scores is allowed for.
RESCORE_MARGIN = dt.timedelta(minutes=1)
# More changed scores than this (the nightly run) and the rows are read again instead of patched.
REREAD_AFTER = 500


@dataclass(frozen=True)
class RiskRows:
    """The open enrollments' latest scores as columns, sorted by enrollment id: 25 000 rows summed with
    numpy in ~1 ms (a Python loop over them took 30–40 ms of every page after a mark), and four arrays
    are four objects for the garbage collector, not 25 000."""

    enrollment: np.ndarray
    group: np.ndarray
    student: np.ndarray
    probability: np.ndarray

    @classmethod
    def of(cls, rows) -> "RiskRows":
        rows = sorted(rows)
        columns = [np.fromiter((r[k] for r in rows), dtype=np.int64, count=len(rows)) for k in range(3)]
        p = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
        return cls(*columns, p)

    def patched(self, changed: list[tuple[int, float]], unscored: dict[int, tuple[int, int]]) -> "RiskRows":
        """These rows with `changed` (enrollment, probability) written over them; an enrollment scored
        for the first time (open, but unscored when the rows were read) is added."""
        p = self.probability.copy()
        added = []
        for pk, probability in changed:
            at = int(np.searchsorted(self.enrollment, pk))
            if at < len(self.enrollment) and self.enrollment[at] == pk:
                p[at] = probability
            elif pk in unscored:
                added.append((pk, *unscored[pk], probability))
        if not added:
            return RiskRows(self.enrollment, self.group, self.student, p)
        extra = RiskRows.of(added)
        return RiskRows(
            *(
                np.concatenate([mine, theirs])
                for mine, theirs in zip(
                    (self.enrollment, self.group, self.student, p),
                    (extra.enrollment, extra.group, extra.student, extra.probability),
                    strict=True,
                )
            )
        )


def risk_rows(org: Organization, as_of: dt.date, v: Versions) -> RiskRows:
    """Every open enrollment's latest score (`_latest_risk_rows`, scored ones only), read again only
    when enrollments change (kept unpickled in the process). Scores written on the day being scored —
    a rescore after a mark, new or rewritten in place — are patched in by the time they were written:
    re-reading 25 000 per-enrollment lookups after every mark cost 100–250 ms."""

    def compute():
        read_at = timezone.now()
        scored, unscored = [], {}
        for pk, gid, sid, p in _latest_risk_rows(org.pk, as_of):
            if p is None:
                unscored[pk] = (gid, sid)
            else:
                scored.append((pk, gid, sid, p))
        return read_at, RiskRows.of(scored), unscored

    def read(fresh: bool = False):
        key = {"as_of": as_of}
        return cached(org.pk, "risk_rows", key, compute, version=v.enrollments, memo=True, fresh=fresh)

    read_at, rows, unscored = read()
    if as_of < org_today(org):
        # Only the day being scored is written to; a re-run for a past day shows within the TTL.
        return rows
    changed = list(
        RiskScore.all_objects.filter(
            organization_id=org.pk, scored_on=as_of, updated_at__gte=read_at - RESCORE_MARGIN
        ).values_list("enrollment_id", "probability")[: REREAD_AFTER + 1]
    )
    if len(changed) > REREAD_AFTER:
        return read(fresh=True)[1]
    return rows.patched(changed, unscored) if changed else rows


def _latest_risk(org_id: int, as_of: dt.date) -> dict[int, float]:
    """Open enrollment (on `as_of`) → the probability of its latest score on or before that day."""
    return {pk: p for pk, _gid, _sid, p in _latest_risk_rows(org_id, as_of) if p is not None}


def _roubles(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def _as_date(value) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value) if value else dt.date.min
    return value.date() if isinstance(value, dt.datetime) else value


def _months_since(first: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while len(months) < HISTORY_MONTHS + 1:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass
class Raw:
    """The organisation's facts behind every dashboard, computed once per data version."""

    today: dt.date
    first_month: dt.date
    groups: dict[int, GroupMeta]
    enrollments: list[EnrollmentFact]
    marks: dict
    lessons: dict
    revenue: dict
    account_students: dict[int, set[int]]


HISTORY_MONTHS = 13


def raw_facts(org: Organization, *, version: str | None = None) -> Raw:
    today = org_today(org)
    first = add_months(today.replace(day=1), -(HISTORY_MONTHS - 1))
    tz = org_timezone(org)

    def compute() -> Raw:
        since = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
        now = dt.datetime.now(tz)
        return Raw(
            today=today,
            first_month=first,
            groups=_groups_meta(org.pk),
            enrollments=_enrollment_facts(org.pk),
            marks=_mark_counts(org.pk, since, tz),
            lessons=_lesson_counts(org.pk, since, now, tz),
            revenue=_revenue_by_account(org.pk, first),
            account_students=_account_students(org.pk),
        )

    return cached(org.pk, "raw", {"today": today}, compute, version=version)


@dataclass
class Money:
    revenue: dict[tuple[int, dt.date], Decimal]
    account_students: dict[int, set[int]]


def money_facts(org: Organization, v: Versions) -> Money:
    """Money received per account and month, and whose children each account pays for: moves with
    payments and billing events, not with marks."""
    first = add_months(org_today(org).replace(day=1), -(HISTORY_MONTHS - 1))

    def compute() -> Money:
        return Money(_revenue_by_account(org.pk, first), _account_students(org.pk))

    return cached(org.pk, "money", {"first": first}, compute, version=v.revenue)


def latest_risk(org: Organization, as_of: dt.date, *, version: str | None = None) -> dict[int, float]:
    return cached(org.pk, "risk", {"as_of": as_of}, lambda: _latest_risk(org.pk, as_of), version=version)


class AtRisk(NamedTuple):
    """An open enrollment at or over the alert threshold: what the «В зоне риска» figure counts."""

    id: int
    group_id: int
    student_id: int


# ---------------------------------------------------------------- figures for a scope and filters


def _ids(values) -> frozenset[int] | None:
    if not values:
        return None
    return frozenset(int(v) for v in values)


def groups_meta(org: Organization, *, version: str) -> dict[int, GroupMeta]:
    """Small and read on every page: cached apart from the big raw facts."""
    # Kept unpickled in the process too: 2 000 groups are 0.4 MB, ~20 ms to unpickle on every page.
    return cached(org.pk, "groups", {}, lambda: _groups_meta(org.pk), version=version, memo=True)


def facts_enabled() -> bool:
    """`KRUZHOK_ANALYTICS_FACTS=false` reads marks and lessons by scanning them (the bench's baseline)."""
    return env_bool("KRUZHOK_ANALYTICS_FACTS", True)


def enrollment_list(org: Organization, v: Versions) -> list[EnrollmentFact]:
    """Every enrollment of the organisation; only an enrollment change or a new one recomputes it."""
    return cached(
        org.pk, "enrollments", {}, lambda: _enrollment_facts(org.pk), version=v.enrollments, memo=True
    )


def _current_lessons(org_id: int, month: dt.date, group_q: Q, tz) -> tuple[int, int]:
    """This month's lessons up to now, counted live: "held so far" moves with the clock, not with events."""
    start = dt.datetime.combine(month, dt.time.min, tzinfo=tz)
    rows = (
        Lesson.all_objects.filter(
            group_q, organization_id=org_id, starts_at__gte=start, starts_at__lt=dt.datetime.now(tz)
        )
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    held = cancelled = 0
    for status, n in rows:
        if status == LessonStatus.SCHEDULED:
            held += n
        else:
            cancelled += n
    return held, cancelled


class Facts:
    """Raw facts narrowed to a scope and filters; every figure of the dashboards is a method here.

    A page whose figures are cached never loads the raw facts (tens of thousands of rows to unpickle):
    `raw` and `enrollments` are read on the first figure that has to be computed."""

    def __init__(
        self,
        org: Organization,
        all_groups: dict[int, GroupMeta],
        group_ids: frozenset[int],
        v: Versions,
        raw: Raw | None = None,
    ):
        self.org = org
        self.all_groups = all_groups
        self.today = org_today(org)
        self.versions = v
        self.version = v.all
        self.group_ids = group_ids
        self.groups = {gid: all_groups[gid] for gid in group_ids}
        self._raw = raw
        self._enrollments: list[EnrollmentFact] | None = None
        self._mark_rows: dict[dt.date, dict] = {}
        self.use_facts = facts_enabled()

    @classmethod
    def load(
        cls,
        org: Organization,
        *,
        scope: Scope | None = None,
        branch_ids=None,
        course_ids=None,
        teacher_ids=None,
        group_ids=None,
    ) -> "Facts":
        v = versions(org.pk)
        if facts_enabled() and v.facts_behind():
            # Marks, lessons or enrollments came in without events (a bulk load, an import): count them
            # in first.
            monthly.catch_up(
                org,
                mark_id=v.mark_id,
                lesson_id=v.lesson_id,
                enrollment_id=v.enrollment_id,
                seen_mark_id=v.seen_mark_id,
                seen_lesson_id=v.seen_lesson_id,
                seen_enrollment_id=v.seen_enrollment_id,
            )
        # Groups change without events; new groups get lessons, and the cache lives ten minutes.
        groups = groups_meta(org, version=f"{v.enrollments}:{v.lesson_id}")
        ids = select_groups(groups, scope, branch_ids, course_ids, teacher_ids, group_ids)
        return cls(org, groups, ids, v)

    @property
    def raw(self) -> Raw:
        """The organisation-wide scan of marks, lessons and money: only the baseline reads it now."""
        if self._raw is None:
            self._raw = raw_facts(self.org, version=self.version)
        return self._raw

    @property
    def enrollments(self) -> list[EnrollmentFact]:
        if self._enrollments is None:
            ids = self.group_ids
            every = enrollment_list(self.org, self.versions) if self.use_facts else self.raw.enrollments
            self._enrollments = [e for e in every if e.group_id in ids]
        return self._enrollments

    @property
    def key(self) -> str:
        """Names the set of groups in cache keys."""
        return hashlib.sha256(",".join(map(str, sorted(self.group_ids))).encode()).hexdigest()[:16]

    def cached(self, name: str, params: dict, compute, *, part: str = "all"):
        """compute() once per scope, day and version of `part` (all, enrollments, money, revenue, lessons,
        alerts or feedback)."""
        version = self.versions.part(part) if self.use_facts else self.version
        return cached(
            self.org.pk, name, {"g": self.key, "today": self.today, **params}, compute, version=version
        )

    @property
    def whole_org(self) -> bool:
        return self.group_ids == frozenset(self.all_groups)

    def group_q(self, field_name: str = "group_id") -> Q:
        """A filter on the scope's groups (none for the whole organisation: 2 000 ids are a long IN)."""
        return Q() if self.whole_org else Q(**{f"{field_name}__in": sorted(self.group_ids)})

    def narrow(
        self, *, scope=None, branch_ids=None, course_ids=None, teacher_ids=None, group_ids=None
    ) -> "Facts":
        """The same data version, fewer groups (no new queries)."""
        ids = select_groups(self.all_groups, scope, branch_ids, course_ids, teacher_ids, group_ids)
        return Facts(self.org, self.all_groups, ids, self.versions, raw=self._raw)

    # -- enrollments

    def open_on(self, day: dt.date) -> list[EnrollmentFact]:
        return [e for e in self.enrollments if is_open_on(e.started_on, e.ended_on, day)]

    def as_of(self, month: dt.date) -> dt.date:
        return min(month_end(month), self.today)

    def new_in(self, month: dt.date) -> list[EnrollmentFact]:
        last = month_end(month)
        return [e for e in self.enrollments if month <= e.started_on <= last and not e.is_transfer]

    def dropped_in(self, month: dt.date) -> list[EnrollmentFact]:
        last = month_end(month)
        return [
            e
            for e in self.enrollments
            if e.status == EnrollmentStatus.DROPPED and e.ended_on is not None and month <= e.ended_on <= last
        ]

    def churn(self, month: dt.date) -> tuple[float | None, int, int]:
        """(rate, dropped, exposed): exposed = open at the month's first day + new in the month."""
        at_start = sum(
            1
            for e in self.enrollments
            if e.started_on < month and (e.ended_on is None or e.ended_on >= month)
        )
        exposed = at_start + len(self.new_in(month))
        dropped = len(self.dropped_in(month))
        return (dropped / exposed if exposed else None), dropped, exposed

    # -- attendance and lessons

    def mark_rows(self, months: list[dt.date]) -> dict[tuple[int, dt.date], dict[str, int]]:
        """(group, month) → marks by status for the scope's groups."""
        self._load_marks(months)
        return {(gid, m): counts for m in months for gid, counts in self._mark_rows[m].items()}

    def _load_marks(self, months: list[dt.date]) -> None:
        """MonthlyFact rows of the months not read yet (one query), or the organisation-wide scan when
        facts are off."""
        missing = [m for m in months if m not in self._mark_rows]
        if missing:
            for m in missing:
                self._mark_rows[m] = {}
            if self.use_facts:
                ids = None if self.whole_org else self.group_ids
                for (gid, m), counts in monthly.read(self.org.pk, missing, ids, monthly.MARK_FIELDS).items():
                    self._mark_rows[m][gid] = counts
            else:
                wanted = set(missing)
                for (gid, m), counts in self.raw.marks.items():
                    if m in wanted and gid in self.group_ids:
                        self._mark_rows[m][gid] = counts

    def marks(self, month: dt.date, group_id: int | None = None) -> dict[str, int]:
        totals = dict.fromkeys(AttendanceStatus.values, 0)
        self._load_marks([month])
        by_group = self._mark_rows[month]
        for gid in [group_id] if group_id is not None else self.group_ids:
            counts = by_group.get(gid)
            if counts:
                for status, n in counts.items():
                    totals[status] += n
        return totals

    @staticmethod
    def rate(counts: dict[str, int]) -> float | None:
        total = sum(counts.values())
        return (counts[AttendanceStatus.PRESENT] + counts[AttendanceStatus.LATE]) / total if total else None

    def lessons(self, month: dt.date) -> tuple[int, int]:
        """(held so far, cancelled) in the month."""
        if self.use_facts:
            if month >= self.today.replace(day=1):
                # "Held so far" moves with the clock: kept a minute at most, and not recounted after
                # a mark (lesson changes and new lessons move the key).
                tz = org_timezone(self.org)
                minute = dt.datetime.now(tz).strftime("%Y-%m-%dT%H:%M")
                return self.cached(
                    "held",
                    {"m": month, "at": minute},
                    lambda: _current_lessons(self.org.pk, month, self.group_q(), tz),
                    part="lessons",
                )
            ids = None if self.whole_org else self.group_ids
            rows = monthly.read(self.org.pk, [month], ids).values()
            return sum(r["lessons_scheduled"] for r in rows), sum(r["lessons_cancelled"] for r in rows)
        held = cancelled = 0
        for gid in self.group_ids:
            counts = self.raw.lessons.get((gid, month))
            if counts:
                held += counts[0]
                cancelled += counts[1]
        return held, cancelled

    # -- money and risk

    def _accounts_in_scope(self) -> set[int] | None:
        if self.whole_org:
            return None  # the whole organisation: every account counts
        students = {e.student_id for e in self.enrollments}
        return {acc for acc, kids in self.money.account_students.items() if kids & students}

    @property
    def money(self) -> "Money":
        if not self.use_facts:
            return Money(self.raw.revenue, self.raw.account_students)
        return money_facts(self.org, self.versions)

    def revenue(self, month: dt.date) -> Decimal:
        return self.cached("revenue", {"m": month}, lambda: self._revenue(month), part="revenue")

    def _revenue(self, month: dt.date) -> Decimal:
        accounts = self._accounts_in_scope()
        total = ZERO
        for (account_id, m), amount in self.money.revenue.items():
            if m == month and (accounts is None or account_id in accounts):
                total += amount
        return total

    def risk(self, month: dt.date) -> tuple[Decimal, list[AtRisk]]:
        """(revenue at risk, open enrollments at or over the alert threshold) as of the month's end."""
        # Keyed on every change: a rescore after a mark overwrites the day's score in place (no new id).
        compute = self._risk if self.use_facts else self._risk_from_list
        return self.cached("risk", {"m": month}, lambda: compute(month))

    def _risk(self, month: dt.date) -> tuple[Decimal, list[AtRisk]]:
        """Each open enrollment's group, child and latest probability (`risk_rows`): no pass over the
        30 000-row enrollment list (the first page after a mark recomputes this)."""
        threshold = alert_threshold(self.org)
        rows = risk_rows(self.org, self.as_of(month), self.versions)
        # The scope's groups and their monthly prices, looked up by group id.
        size = max(max(self.all_groups, default=0), int(rows.group.max(initial=0))) + 1
        in_scope = np.zeros(size, dtype=bool)
        price = np.zeros(size, dtype=np.float64)
        for gid, meta in self.groups.items():
            in_scope[gid] = True
            price[gid] = float(meta.price)
        mine = in_scope[rows.group]
        # fsum, as the computation from the enrollment list does: the same products, summed exactly.
        money = math.fsum((price[rows.group] * rows.probability)[mine].tolist())
        risky = mine & (rows.probability >= threshold)
        at_risk = sorted(
            AtRisk(int(pk), int(gid), int(sid))
            for pk, gid, sid in zip(
                rows.enrollment[risky], rows.group[risky], rows.student[risky], strict=True
            )
        )
        return _roubles(money), at_risk

    def _risk_from_list(self, month: dt.date) -> tuple[Decimal, list[AtRisk]]:
        """The same from the enrollment list and the open enrollments' probabilities (the baseline, and
        the independent computation the tests compare with)."""
        as_of = self.as_of(month)
        probabilities = latest_risk(self.org, as_of, version=self.version)
        threshold = alert_threshold(self.org)
        parts, risky = [], []
        for e in self.open_on(as_of):
            p = probabilities.get(e.id)
            if p is None:
                continue
            parts.append(float(self.groups[e.group_id].price) * p)
            if p >= threshold:
                risky.append(AtRisk(e.id, e.group_id, e.student_id))
        risky.sort()
        return _roubles(math.fsum(parts)), risky

    # -- the contract

    def month_summary(self, month: dt.date) -> MonthSummary:
        return self.cached("summary", {"m": month}, lambda: self._month_summary(month))

    def people(self, month: dt.date) -> dict:
        """The month's enrollment figures; recomputed only when enrollments change (or the day turns)."""
        return self.cached("people", {"m": month}, lambda: self._people(month), part="enrollments")

    def _people(self, month: dt.date) -> dict:
        """From the enrollment flows of the fact rows; active children (distinct, so not a sum over
        groups) by one count of the open enrollments."""
        if not self.use_facts:
            return self._people_from_list(month)
        as_of = self.as_of(month)
        by_group = monthly.enrollment_figures(
            self.org.pk, month, as_of, None if self.whole_org else self.group_ids
        )
        by_group = {gid: row for gid, row in by_group.items() if gid in self.group_ids}
        new = sum(r["new"] for r in by_group.values())
        dropped = sum(r["dropped"] for r in by_group.values())
        exposed = sum(r["at_start"] for r in by_group.values()) + new
        active = (
            Enrollment.all_objects.filter(self.group_q(), open_on_q(as_of), organization_id=self.org.pk)
            .values("student_id")
            .distinct()
            .count()
        )
        return {
            "active": active,
            "new": new,
            "dropped": dropped,
            "exposed": exposed,
            "churn": dropped / exposed if exposed else None,
            "enrolled_by_group": {gid: r["open"] for gid, r in by_group.items() if r["open"]},
            "dropped_by_group": {gid: r["dropped"] for gid, r in by_group.items() if r["dropped"]},
        }

    def _people_from_list(self, month: dt.date) -> dict:
        """The same from the enrollment list (the baseline, and what the tests compare the facts with)."""
        open_now = self.open_on(self.as_of(month))
        churn_rate, dropped, exposed = self.churn(month)
        enrolled_by_group: dict[int, int] = defaultdict(int)
        for e in open_now:
            enrolled_by_group[e.group_id] += 1
        dropped_by_group: dict[int, int] = defaultdict(int)
        for e in self.dropped_in(month):
            dropped_by_group[e.group_id] += 1
        return {
            "active": len({e.student_id for e in open_now}),
            "new": len(self.new_in(month)),
            "dropped": dropped,
            "exposed": exposed,
            "churn": churn_rate,
            "enrolled_by_group": dict(enrolled_by_group),
            "dropped_by_group": dict(dropped_by_group),
        }

    def _month_summary(self, month: dt.date) -> MonthSummary:
        people = self.people(month)
        held, cancelled = self.lessons(month)
        at_risk_money, risky = self.risk(month)
        enrolled_by_group: dict[int, int] = defaultdict(int, people["enrolled_by_group"])
        dropped_by_group: dict[int, int] = defaultdict(int, people["dropped_by_group"])
        self._load_marks([month])
        by_group_marks, empty_marks = self._mark_rows[month], dict.fromkeys(AttendanceStatus.values, 0)
        rows = []
        for gid, meta in sorted(self.groups.items(), key=lambda kv: kv[1].name):
            if not meta.is_active and not enrolled_by_group[gid] and not dropped_by_group[gid]:
                continue
            rows.append(
                GroupRow(
                    group_id=gid,
                    group_name=meta.name,
                    course_name=meta.course_title,
                    teacher_name=meta.teacher_name,
                    enrolled=enrolled_by_group[gid],
                    capacity=meta.capacity,
                    attendance_rate=self.rate(by_group_marks.get(gid) or empty_marks),
                    dropped=dropped_by_group[gid],
                )
            )
        return MonthSummary(
            month=month,
            active_students=people["active"],
            new_enrollments=people["new"],
            dropped=people["dropped"],
            churn_rate=people["churn"],
            attendance_rate=self.rate(self.marks(month)),
            lessons_held=held,
            lessons_cancelled=cancelled,
            revenue=self.revenue(month),
            revenue_at_risk=at_risk_money,
            at_risk_children=len({e.student_id for e in risky}),
            by_group=rows,
        )

    def series(self, months: list[dt.date]) -> list[dict]:
        """Per month: active, new, dropped, churn, attendance rate, revenue (for the trend charts)."""
        return self.cached("series", {"m": months}, lambda: self._series(months))

    def _series(self, months: list[dt.date]) -> list[dict]:
        out = []
        self._load_marks(months)  # one query for all the months
        for month in months:
            people = self.people(month)
            out.append(
                {
                    "month": month,
                    "active": people["active"],
                    "new": people["new"],
                    "dropped": people["dropped"],
                    "exposed": people["exposed"],
                    "churn": people["churn"],
                    "attendance": self.rate(self.marks(month)),
                    "revenue": self.revenue(month),
                }
            )
        return out


def select_groups(
    groups: dict[int, GroupMeta], scope, branch_ids, course_ids, teacher_ids, group_ids
) -> frozenset[int]:
    if scope is not None and scope.nothing:
        return frozenset()
    branch_f, course_f, teacher_f, group_f = (
        _ids(branch_ids),
        _ids(course_ids),
        _ids(teacher_ids),
        _ids(group_ids),
    )
    out = []
    for gid, meta in groups.items():
        if scope is not None:
            if scope.branch_ids is not None and meta.branch_id not in scope.branch_ids:
                continue
            if scope.teacher_id is not None and meta.teacher_id != scope.teacher_id:
                continue
        if branch_f is not None and meta.branch_id not in branch_f:
            continue
        if course_f is not None and meta.course_id not in course_f:
            continue
        if teacher_f is not None and meta.teacher_id not in teacher_f:
            continue
        if group_f is not None and gid not in group_f:
            continue
        out.append(gid)
    return frozenset(out)


# ---------------------------------------------------------------- drill-down: the children behind a number

METRICS = ("active", "new", "dropped", "at_risk", "low_attendance")


def children_behind(
    facts: Facts, *, metric: str, month: dt.date, group_id: int | None = None
) -> QuerySet[Student]:
    """The children a dashboard figure counts, as a queryset of students (same rules as the figure)."""
    enrollments = enrollments_behind(facts, metric=metric, month=month, group_id=group_id)
    return Student.objects.filter(
        organization_id=facts.org.pk, pk__in=enrollments.values("student_id")
    ).order_by("last_name", "first_name", "pk")


def at_risk_children(
    facts: Facts, *, month: dt.date, group_id: int | None = None
) -> tuple[list[int], list[AtRisk]]:
    """The children behind «В зоне риска» as ordered student ids, and the enrollments they count.

    The enrollments are already in memory (`Facts.risk`): the list is paged in Python and only a
    page's children are read, instead of three queries each carrying an IN list of ~3 000 ids."""
    _money, risky = facts.risk(month)
    rows = [e for e in risky if group_id is None or e.group_id == group_id]
    student_ids = sorted({e.student_id for e in rows})
    ordered = list(
        Student.objects.filter(organization_id=facts.org.pk, pk__in=student_ids)
        .order_by("last_name", "first_name", "pk")
        .values_list("pk", flat=True)
    )
    return ordered, rows


def enrollments_behind(
    facts: Facts, *, metric: str, month: dt.date, group_id: int | None = None
) -> QuerySet[Enrollment]:
    """The enrollments a dashboard figure counts: a child who left two groups is two of «Ушли» but one
    child in the list, so the list shows both numbers and each child's groups."""
    org_id = facts.org.pk
    enrollments = Enrollment.objects.filter(facts.group_q(), organization_id=org_id)
    if group_id is not None:
        enrollments = enrollments.filter(group_id=group_id)
    last = month_end(month)
    if metric == "active":
        enrollments = enrollments.filter(open_on_q(facts.as_of(month)))
    elif metric == "new":
        enrollments = enrollments.filter(
            started_on__gte=month, started_on__lte=last, transferred_from__isnull=True
        )
    elif metric == "dropped":
        enrollments = enrollments.filter(
            status=EnrollmentStatus.DROPPED, ended_on__gte=month, ended_on__lte=last
        )
    elif metric == "at_risk":
        _money, risky = facts.risk(month)
        ids = [e.id for e in risky if group_id is None or e.group_id == group_id]
        enrollments = enrollments.filter(pk__in=ids)
    elif metric == "low_attendance":
        enrollments = enrollments.filter(pk__in=_low_attendance_enrollments(facts, month, group_id))
    else:
        return Enrollment.objects.none()
    return enrollments


LOW_ATTENDANCE = 0.6


def _low_attendance_enrollments(facts: Facts, month: dt.date, group_id: int | None) -> QuerySet:
    tz = org_timezone(facts.org)
    start = dt.datetime.combine(month, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(month_end(month) + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    marks = AttendanceMark.objects.filter(
        organization_id=facts.org.pk,
        lesson__starts_at__gte=start,
        lesson__starts_at__lt=end,
    ).filter(Q(lesson__group_id=group_id) if group_id is not None else facts.group_q("lesson__group_id"))
    rows = (
        marks.values("enrollment_id")
        .annotate(total=Count("pk"), attended=Count("pk", filter=Q(status__in=ATTENDED)))
        .order_by()
    )
    return [r["enrollment_id"] for r in rows if r["total"] and r["attended"] / r["total"] < LOW_ATTENDANCE]
