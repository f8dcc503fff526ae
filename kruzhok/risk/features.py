"""Signals for many enrollments at once, as of a date, from what was known on that date only.

Data is loaded in bulk (`load_risk_data`: a handful of `values_list` queries into pandas frames), then
`compute_features` cuts everything at the as-of date (`RiskData.until`) BEFORE any signal sees it: marks
of later lessons vanish, and an enrollment that ended later is still open. Signals are vectorised numpy
over all rows (np.bincount per enrollment), never a query per enrollment.

Signals plug in through the registry: a provider is a function `fn(ctx) -> dict[name, np.ndarray]`
decorated with `@register("name_a", "name_b", group="billing")`. The model reads `feature_names()` and
stores the list with each ModelVersion, so a later app (billing, feedback, gamification) adds a provider
in its own module, imported from its AppConfig.ready(), without touching the model code. A provider that
needs its own data does one bulk query for `ctx.enrollment_ids` (it must filter by date <= ctx.as_of).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

# Attendance statuses as small ints (order matters: attended statuses first).
PRESENT, LATE, ABSENT, EXCUSED = 0, 1, 2, 3
STATUS_CODES = {"present": PRESENT, "late": LATE, "absent": ABSENT, "excused": EXCUSED}
OPEN, DROPPED, OTHER_END = 0, 1, 2
FIRST_MONTHS_DAYS = 61


def day_number(value: dt.date) -> int:
    return value.toordinal()


def day_date(number: int) -> dt.date:
    return dt.date.fromordinal(int(number))


@dataclass
class RiskData:
    """Everything the signals read, as plain frames.

    enrollments: index enrollment id; student_id, group_id, started, ended (day number or NaN),
      end_kind (OPEN/DROPPED/OTHER_END: what the enrollment became on `ended`), birth, age_min, age_max.
    marks: enrollment_id, group_id, day, status (PRESENT..EXCUSED).
    holidays: (n, 2) array of [start, end] day numbers. links: student_id, guardian_id.
    """

    org_id: int
    enrollments: pd.DataFrame
    marks: pd.DataFrame
    holidays: np.ndarray
    links: pd.DataFrame
    extra: dict = field(default_factory=dict)

    def until(self, as_of: int) -> "RiskData":
        """The world as it looked at the end of day `as_of`: nothing later survives."""
        enr = self.enrollments[self.enrollments["started"] <= as_of].copy()
        ended_later = enr["ended"] > as_of
        enr.loc[ended_later, "ended"] = np.nan
        enr.loc[ended_later, "end_kind"] = OPEN
        marks = self.marks[self.marks["day"] <= as_of]
        extra = dict(self.extra)
        if "events" in extra:
            extra["events"] = extra["events"][extra["events"]["day"] <= as_of]
        return RiskData(self.org_id, enr, marks, self.holidays, self.links, extra)


@dataclass
class FeatureContext:
    as_of: int
    rows: pd.DataFrame  # the enrollments being scored, positions 0..n-1
    data: RiskData  # already cut at as_of
    row_marks: pd.DataFrame  # data.marks of the scored rows, with a `row` position column

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def enrollment_ids(self) -> np.ndarray:
        return self.rows.index.to_numpy()


@dataclass(frozen=True)
class Provider:
    name: str
    group: str
    features: tuple[str, ...]
    fn: Callable[[FeatureContext], dict[str, np.ndarray]]


_REGISTRY: dict[str, Provider] = {}


def register(*names: str, group: str):
    def decorator(fn):
        _REGISTRY[fn.__name__] = Provider(fn.__name__, group, tuple(names), fn)
        return fn

    return decorator


def feature_names() -> list[str]:
    return [name for provider in _REGISTRY.values() for name in provider.features]


def providers() -> list[Provider]:
    return list(_REGISTRY.values())


# ---------------------------------------------------------------------------------------------- loading


def _local_days(starts, tz_name: str) -> np.ndarray:
    zone = ZoneInfo(tz_name)
    return np.array([value.astimezone(zone).toordinal() for value in starts], dtype=np.int64)


def load_risk_data(*, org, enrollment_ids=None, until: dt.date | None = None) -> RiskData:
    """Bulk-load what the signals need. With `enrollment_ids`, only their groups, group-mates and
    siblings are loaded (a one-child rescore stays a few small queries)."""
    from django.db.models import Q

    from kruzhok.attendance.models import AttendanceMark
    from kruzhok.school.models import (
        Enrollment,
        EnrollmentStatus,
        Holiday,
        Lesson,
        LessonStatus,
        StudentGuardian,
    )

    enrollments = Enrollment.objects.filter(organization_id=org.id)
    lessons = Lesson.objects.filter(organization_id=org.id, status=LessonStatus.SCHEDULED)
    links = StudentGuardian.objects.filter(organization_id=org.id)
    if enrollment_ids is not None:
        scoped = list(
            Enrollment.objects.filter(organization_id=org.id, pk__in=list(enrollment_ids)).values_list(
                "group_id", "student_id"
            )
        )
        group_ids = [g for g, _ in scoped]
        student_ids = [s for _, s in scoped]
        # Siblings: children sharing a guardian with a scored child (subqueries, one round trip).
        guardians = links.filter(student_id__in=student_ids).values("guardian_id")
        links = links.filter(guardian_id__in=guardians)
        enrollments = enrollments.filter(
            Q(group_id__in=group_ids)
            | Q(student_id__in=student_ids)
            | Q(student_id__in=links.values("student_id"))
        )
        lessons = lessons.filter(group_id__in=group_ids)
    if until is not None:
        # Only an optimisation (a day of slack for time zones): RiskData.until() is what guarantees
        # nothing later is seen.
        limit = dt.datetime.combine(until + dt.timedelta(days=2), dt.time.min, tzinfo=dt.UTC)
        lessons = lessons.filter(starts_at__lt=limit)
    # Lessons are few; marks are many. Marks come as plain ints and strings (no datetime parsing per
    # row) and take their day and group from the lesson table.
    lesson_rows = list(lessons.values_list("id", "group_id", "starts_at"))
    lesson_ids = [row[0] for row in lesson_rows]
    lesson_day = pd.Series(_local_days([row[2] for row in lesson_rows], org.timezone), index=lesson_ids)
    lesson_group = pd.Series([row[1] for row in lesson_rows], index=lesson_ids, dtype=np.int64)
    marks = AttendanceMark.objects.filter(organization_id=org.id)
    if enrollment_ids is not None or until is not None:
        marks = marks.filter(lesson_id__in=lessons.values("id"))
    else:
        marks = marks.filter(lesson__status=LessonStatus.SCHEDULED)

    enr_rows = list(
        enrollments.values_list(
            "id",
            "student_id",
            "group_id",
            "started_on",
            "ended_on",
            "status",
            "student__birth_date",
            "group__course__age_min",
            "group__course__age_max",
        )
    )
    enr = pd.DataFrame(
        enr_rows,
        columns=["id", "student_id", "group_id", "started", "ended", "status", "birth", "age_min", "age_max"],
    ).set_index("id")
    enr["started"] = [d.toordinal() for d in enr["started"]]
    enr["ended"] = np.array([d.toordinal() if d else np.nan for d in enr["ended"]], dtype=float)
    enr["birth"] = [d.toordinal() for d in enr["birth"]]
    status = enr.pop("status")
    enr["end_kind"] = np.where(
        status.isin(["trial", "active", "paused"]) | enr["ended"].isna(),
        OPEN,
        np.where(status == EnrollmentStatus.DROPPED, DROPPED, OTHER_END),
    )

    mk = pd.DataFrame(
        list(marks.values_list("enrollment_id", "lesson_id", "status")),
        columns=["enrollment_id", "lesson_id", "status"],
    )
    mk = mk[mk["lesson_id"].isin(lesson_day.index)]
    mk["group_id"] = lesson_group.reindex(mk["lesson_id"]).to_numpy()
    mk["day"] = lesson_day.reindex(mk.pop("lesson_id")).to_numpy()
    mk["status"] = mk["status"].map(STATUS_CODES).fillna(ABSENT).astype(np.int8)
    mk = mk[["enrollment_id", "group_id", "day", "status"]]

    holidays = np.array(
        [
            (s.toordinal(), e.toordinal())
            for s, e in Holiday.objects.filter(organization_id=org.id).values_list("start_date", "end_date")
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    lk = pd.DataFrame(
        list(links.values_list("student_id", "guardian_id")), columns=["student_id", "guardian_id"]
    )
    return RiskData(org.id, enr, mk, holidays, lk)


# ---------------------------------------------------------------------------------------------- compute


def open_enrollment_ids(data: RiskData, as_of: int) -> np.ndarray:
    """Enrollments that had started and not ended at the end of `as_of`."""
    enr = data.enrollments
    mask = (enr["started"] <= as_of) & (enr["ended"].isna() | (enr["ended"] > as_of))
    return enr.index[mask].to_numpy()


def compute_features(data: RiskData, *, as_of: dt.date | int, enrollment_ids=None) -> pd.DataFrame:
    """One row per enrollment (index: enrollment id), one column per registered signal."""
    as_of = as_of if isinstance(as_of, int) else day_number(as_of)
    known = data.until(as_of)
    if enrollment_ids is None:
        enrollment_ids = open_enrollment_ids(data, as_of)
    ids = [i for i in enrollment_ids if i in known.enrollments.index]
    rows = known.enrollments.loc[ids]
    position = pd.Series(np.arange(len(rows)), index=rows.index)
    row_marks = known.marks[known.marks["enrollment_id"].isin(rows.index)].copy()
    row_marks["row"] = position.reindex(row_marks["enrollment_id"]).to_numpy()
    ctx = FeatureContext(as_of=as_of, rows=rows, data=known, row_marks=row_marks)
    columns: dict[str, np.ndarray] = {}
    for provider in _REGISTRY.values():
        values = provider.fn(ctx)
        for name in provider.features:
            columns[name] = np.asarray(values[name], dtype=float)
    return pd.DataFrame(columns, index=rows.index, columns=feature_names())


def _share(done: np.ndarray, missed: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(done + missed > 0, done / np.maximum(done + missed, 1), np.nan)


def _rate(row, attended, counted, mask, n) -> np.ndarray:
    num = np.bincount(row[mask], weights=attended[mask].astype(float), minlength=n)
    den = np.bincount(row[mask & counted], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


@register(
    "att_rate_2w",
    "att_rate_4w",
    "att_rate_8w",
    "att_baseline",
    "att_drop",
    "missed_last4",
    "lessons_last4",
    "late_last4",
    "absent_run",
    "unexcused_4w",
    "days_since_attended",
    group="attendance",
)
def attendance(ctx: FeatureContext) -> dict[str, np.ndarray]:
    n, m = ctx.n, ctx.row_marks
    row = m["row"].to_numpy(dtype=np.int64)
    day = m["day"].to_numpy(dtype=np.int64)
    st = m["status"].to_numpy()
    attended = st <= LATE
    counted = st != EXCUSED
    age = ctx.as_of - day
    rate_4w = _rate(row, attended, counted, age < 28, n)
    baseline = _rate(row, attended, counted, age >= 28, n)

    # Rank of each mark from the newest within its enrollment: 0 = the latest lesson.
    order = np.lexsort((-day, row))
    sorted_rows = row[order]
    rank = np.empty(len(row), dtype=np.int64)
    if len(row):
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_rows)) + 1]
        sizes = np.diff(np.r_[starts, len(row)])
        rank[order] = np.arange(len(row)) - np.repeat(starts, sizes)
    last4 = rank < 4
    missed = ~attended

    last_attended = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_attended, row[attended], day[attended])
    tenure = ctx.as_of - ctx.rows["started"].to_numpy(dtype=np.int64)
    since = np.where(last_attended >= 0, ctx.as_of - last_attended, tenure)
    after_last = missed & (day > last_attended[row])
    return {
        "att_rate_2w": _rate(row, attended, counted, age < 14, n),
        "att_rate_4w": rate_4w,
        "att_rate_8w": _rate(row, attended, counted, age < 56, n),
        "att_baseline": baseline,
        "att_drop": baseline - rate_4w,
        "missed_last4": np.bincount(row[last4 & missed], minlength=n),
        "lessons_last4": np.bincount(row[last4], minlength=n),
        "late_last4": np.bincount(row[last4 & (st == LATE)], minlength=n),
        "absent_run": np.bincount(row[after_last], minlength=n),
        "unexcused_4w": np.bincount(row[(st == ABSENT) & (age < 28)], minlength=n),
        "days_since_attended": since,
    }


@register("tenure_days", "first_two_months", group="tenure")
def tenure(ctx: FeatureContext) -> dict[str, np.ndarray]:
    days = ctx.as_of - ctx.rows["started"].to_numpy(dtype=np.int64)
    return {"tenure_days": days, "first_two_months": (days < FIRST_MONTHS_DAYS).astype(float)}


@register("group_att_4w", "group_trend", "peers_left_30d", "siblings_left_60d", group="group")
def group_signals(ctx: FeatureContext) -> dict[str, np.ndarray]:
    marks, enr = ctx.data.marks, ctx.data.enrollments
    # Group-mates only: the child's own marks are left out, or the group signal would echo the child's.
    row_groups = ctx.rows["group_id"].to_numpy(dtype=np.int64)
    mark_groups = marks["group_id"].to_numpy(dtype=np.int64)
    codes, inverse = np.unique(np.r_[row_groups, mark_groups], return_inverse=True)
    row_code, mark_code = inverse[: ctx.n], inverse[ctx.n :]
    k = len(codes)

    def sums(code, minlength, day, status):
        age = ctx.as_of - day
        attended = (status <= LATE).astype(float)
        counted = (status != EXCUSED).astype(float)
        now_w, prev_w = (age < 28) * counted, ((age >= 28) & (age < 56)) * counted
        return [
            np.bincount(code, weights=w, minlength=minlength)
            for w in (attended * now_w, now_w, attended * prev_w, prev_w)
        ]

    group_sums = sums(mark_code, k, marks["day"].to_numpy(), marks["status"].to_numpy())
    own_marks = ctx.row_marks
    own = sums(
        own_marks["row"].to_numpy(dtype=np.int64),
        ctx.n,
        own_marks["day"].to_numpy(),
        own_marks["status"].to_numpy(),
    )
    num_now, den_now, num_prev, den_prev = (g[row_code] - o for g, o in zip(group_sums, own, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        now = np.where(den_now > 0, num_now / np.maximum(den_now, 1e-9), np.nan)
        prev = np.where(den_prev > 0, num_prev / np.maximum(den_prev, 1e-9), np.nan)
    groups = ctx.rows["group_id"]

    recent = (enr["end_kind"] == DROPPED) & (enr["ended"] > ctx.as_of - 30)
    left_per_group = enr[recent].groupby("group_id").size()
    peers_left = left_per_group.reindex(groups).fillna(0).to_numpy()

    dropped_students = set(enr[(enr["end_kind"] == DROPPED) & (enr["ended"] > ctx.as_of - 60)]["student_id"])
    siblings = np.zeros(ctx.n)
    if dropped_students and len(ctx.data.links):
        pairs = ctx.data.links.merge(ctx.data.links, on="guardian_id", suffixes=("", "_sib"))
        pairs = pairs[(pairs["student_id"] != pairs["student_id_sib"])]
        pairs = pairs[pairs["student_id_sib"].isin(dropped_students)].drop_duplicates(
            ["student_id", "student_id_sib"]
        )
        per_student = pairs.groupby("student_id").size()
        siblings = per_student.reindex(ctx.rows["student_id"]).fillna(0).to_numpy()
    return {
        "group_att_4w": now,
        "group_trend": now - prev,
        "peers_left_30d": peers_left,
        "siblings_left_60d": siblings,
    }


@register("age_years", "age_outside_range", group="profile")
def age(ctx: FeatureContext) -> dict[str, np.ndarray]:
    years = (ctx.as_of - ctx.rows["birth"].to_numpy(dtype=float)) / 365.25
    low = ctx.rows["age_min"].to_numpy(dtype=float)
    high = ctx.rows["age_max"].to_numpy(dtype=float) + 1
    outside = np.maximum(np.maximum(low - years, years - high), 0)
    return {"age_years": years, "age_outside_range": outside}


@register("holiday_days_next_14", "holiday_days_last_14", group="calendar")
def calendar(ctx: FeatureContext) -> dict[str, np.ndarray]:
    # Holidays are announced in advance, so the coming fortnight is known on the as-of date.
    def covered(lo: int, hi: int) -> int:
        total = 0
        for start, end in ctx.data.holidays:
            total += max(0, min(end, hi) - max(start, lo) + 1)
        return total

    nxt = covered(ctx.as_of + 1, ctx.as_of + 14)
    last = covered(ctx.as_of - 13, ctx.as_of)
    return {"holiday_days_next_14": np.full(ctx.n, nxt), "holiday_days_last_14": np.full(ctx.n, last)}


# Engagement events other than attendance (homework, grades, app activity) arrive as
# extra["events"]: enrollment_id, day, kind, value. The backtest fills it from CSV; apps that land
# homework or gamification fill it in the loader. Without it these signals are missing (NaN).
POSITIVE_KINDS = ("lesson_attended", "lesson_late", "homework_submitted", "activity", "xp")


@register(
    "hw_submitted",
    "hw_missed",
    "hw_missed_28d",
    "hw_done_share",
    "hw_score_mean",
    "hw_score_last",
    "hw_score_trend",
    "hw_late_days_mean",
    "activity_28d",
    "days_since_activity",
    group="homework",
)
def homework(ctx: FeatureContext) -> dict[str, np.ndarray]:
    names = homework.__features__
    events = ctx.data.extra.get("events")
    if events is None:
        return {name: np.full(ctx.n, np.nan) for name in names}
    position = pd.Series(np.arange(ctx.n), index=ctx.rows.index)
    ev = events[events["enrollment_id"].isin(ctx.rows.index)]
    row = position.reindex(ev["enrollment_id"]).to_numpy()
    kind = ev["kind"].to_numpy()
    day = ev["day"].to_numpy()
    value = ev["value"].to_numpy(dtype=float)
    age = ctx.as_of - day
    n = ctx.n

    def count(mask):
        return np.bincount(row[mask], minlength=n).astype(float)

    def mean(mask):
        total = np.bincount(row[mask], weights=value[mask], minlength=n)
        k = np.bincount(row[mask], minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(k > 0, total / np.maximum(k, 1), np.nan)

    submitted = kind == "homework_submitted"
    grades = (kind == "grade") & ~np.isnan(value)
    # Newest two grades against the ones before them.
    order = np.lexsort((-day, row))
    rank = np.empty(len(row), dtype=np.int64)
    grade_rows = row[order][grades[order]]
    if len(grade_rows):
        starts = np.r_[0, np.flatnonzero(np.diff(grade_rows)) + 1]
        sizes = np.diff(np.r_[starts, len(grade_rows)])
        ranks = np.arange(len(grade_rows)) - np.repeat(starts, sizes)
        rank[order[grades[order]]] = ranks
    recent = grades & (rank < 2)
    earlier = grades & (rank >= 2)
    latest = grades & (rank == 0)
    positive = np.isin(kind, POSITIVE_KINDS)
    last_positive = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_positive, row[positive], day[positive])
    started = ctx.rows["started"].to_numpy(dtype=np.int64)
    return {
        "hw_submitted": count(submitted),
        "hw_missed": count(kind == "homework_missed"),
        "hw_missed_28d": count((kind == "homework_missed") & (age < 28)),
        "hw_done_share": _share(count(submitted), count(kind == "homework_missed")),
        "hw_score_mean": mean(grades),
        "hw_score_last": mean(latest),
        "hw_score_trend": mean(recent) - mean(earlier),
        "hw_late_days_mean": mean(submitted & ~np.isnan(value)),
        "activity_28d": count(positive & (age < 28)),
        "days_since_activity": np.where(last_positive >= 0, ctx.as_of - last_positive, ctx.as_of - started),
    }


homework.__features__ = _REGISTRY["homework"].features


# ---------------------------------------------------------------------------------------------- series


def weekly_attendance(data: RiskData, *, as_of: int, enrollment_ids, weeks: int = 26) -> dict[int, pd.Series]:
    """Per enrollment, the attendance rate of each week up to `as_of`: a Series indexed by weeks
    before `as_of`, oldest first (weeks without a counted lesson are left out)."""
    wanted = np.asarray(list(enrollment_ids), dtype=np.int64)
    if not len(wanted):
        return {}
    marks = data.marks
    marks = marks[
        (marks["day"] <= as_of) & (marks["status"] != EXCUSED) & marks["enrollment_id"].isin(wanted)
    ]
    week = (as_of - marks["day"].to_numpy()) // 7
    keep = week < weeks
    eid = marks["enrollment_id"].to_numpy()[keep]
    week = week[keep]
    att = (marks["status"].to_numpy()[keep] <= LATE).astype(float)
    # Sort by enrollment, oldest week first, then average per (enrollment, week) with reduceat.
    order = np.lexsort((-week, eid))
    eid, week, att = eid[order], week[order], att[order]
    if not len(eid):
        return {}
    key_change = np.r_[True, (np.diff(eid) != 0) | (np.diff(week) != 0)]
    starts = np.flatnonzero(key_change)
    sums = np.add.reduceat(att, starts)
    counts = np.diff(np.r_[starts, len(att)])
    cell_eid, cell_week, cell_rate = eid[starts], week[starts], sums / counts
    bounds = np.flatnonzero(np.r_[True, np.diff(cell_eid) != 0])
    out = {}
    for lo, hi in zip(bounds, np.r_[bounds[1:], len(cell_eid)], strict=True):
        out[int(cell_eid[lo])] = pd.Series(cell_rate[lo:hi], index=cell_week[lo:hi])
    return out
