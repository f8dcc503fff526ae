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
# Up to this many rows, plain Python beats pandas' fixed cost per call (an event rescore's loads).
SMALL_LOAD = 500


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
    scored_on: set by a one-day load (`load_risk_data(one_day=True)`): the only day these frames may be
      scored as of, because loaders left out rows that no signal reads on that day.
    """

    org_id: int
    enrollments: pd.DataFrame
    marks: pd.DataFrame
    holidays: np.ndarray
    links: pd.DataFrame
    extra: dict = field(default_factory=dict)
    scored_on: int | None = None

    def until(self, as_of: int) -> "RiskData":
        """The world as it looked at the end of day `as_of`: nothing later survives.

        A frame with nothing after `as_of` is passed on as it is (the usual case of an event rescore,
        whose load already stops at today): filtering it would only copy it. Signals never write to
        these frames."""
        enr = self.enrollments
        started, ended = enr["started"].to_numpy(), enr["ended"].to_numpy(dtype=float)
        ended_later = ended > as_of
        if (started > as_of).any() or ended_later.any():
            enr = enr[started <= as_of].copy()
            ended_later = enr["ended"] > as_of
            enr.loc[ended_later, "ended"] = np.nan
            enr.loc[ended_later, "end_kind"] = OPEN
        # Every dated side table (events, subscriptions, …) is cut the same way: a row exists from its day.
        marks = _known_rows(self.marks, as_of)
        extra = {
            key: _known_rows(frame, as_of)
            if isinstance(frame, pd.DataFrame) and "day" in frame.columns
            else frame
            for key, frame in self.extra.items()
        }
        return RiskData(self.org_id, enr, marks, self.holidays, self.links, extra, self.scored_on)


def _known_rows(frame: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """The rows dated on or before `as_of` (NaN days are dropped, as the comparison drops them)."""
    known = frame["day"].to_numpy() <= as_of
    return frame if known.all() else frame[known]


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


# Loaders bring other apps' data in as canonical events (enrollment_id, day, kind, value, text: the
# backtest CSV kinds) or as dated side tables, so one set of providers serves the product and backtests.
# A loader: fn(*, org, enrollments: DataFrame, until: date | None) -> {"events": DataFrame or a list of
# (enrollment_id, day, kind, value, text) tuples, name: DataFrame}. A loader registered with one_day=True
# also gets `one_day`: True when the load is scored as of `until` alone (the nightly run, an event
# rescore), so it may leave out rows that no signal reads on that day.
_LOADERS: dict[str, Callable] = {}
_ONE_DAY_LOADERS: set[str] = set()
EVENT_COLUMNS = ["enrollment_id", "day", "kind", "value", "text"]


def _events_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "enrollment_id": np.array([r[0] for r in rows], dtype=np.int64),
            "day": np.array([r[1] for r in rows], dtype=np.int64),
            "kind": np.array([r[2] for r in rows], dtype=object),
            "value": np.array([r[3] for r in rows], dtype=float),
            "text": np.array([r[4] for r in rows], dtype=object),
        }
    )


def register_loader(name: str, *, one_day: bool = False):
    def decorator(fn):
        _LOADERS[name] = fn
        if one_day:
            _ONE_DAY_LOADERS.add(name)
        return fn

    return decorator


def feature_names() -> list[str]:
    return [name for provider in _REGISTRY.values() for name in provider.features]


def providers() -> list[Provider]:
    return list(_REGISTRY.values())


# ---------------------------------------------------------------------------------------------- loading


def _local_days(starts, tz_name: str) -> np.ndarray:
    """Day numbers of aware datetimes in a zone, vectorised (tens of thousands of lessons a night)."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    try:
        local = pd.DatetimeIndex(list(starts)).tz_convert(tz_name).tz_localize(None).normalize()
    except (TypeError, ValueError):  # mixed offsets: the slow, exact path
        zone = ZoneInfo(tz_name)
        return np.array([value.astimezone(zone).toordinal() for value in starts], dtype=np.int64)
    return (local - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=np.int64) + EPOCH_ORDINAL


def _raw_local_days(values: pd.Series, tz_name: str) -> np.ndarray:
    """Day numbers from raw cursor datetimes: UTC text on SQLite, aware datetimes on PostgreSQL."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    if len(values) <= SMALL_LOAD:
        # A one-child rescore has a few dozen lessons: plain datetime is ~20× cheaper than pandas' set-up.
        zone = ZoneInfo(tz_name)
        out = []
        for value in values.tolist():
            stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
            if stamp.tzinfo is None:  # SQLite: naive UTC text
                stamp = stamp.replace(tzinfo=dt.UTC)
            out.append(stamp.astimezone(zone).toordinal())
        return np.array(out, dtype=np.int64)
    stamps = pd.to_datetime(values, utc=True, format="mixed" if isinstance(values.iloc[0], str) else None)
    local = pd.DatetimeIndex(stamps).tz_convert(tz_name).tz_localize(None).normalize()
    return (local - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=np.int64) + EPOCH_ORDINAL


def iso_text(field: str, *, date: bool = False):
    """A date or datetime column as ISO text, for whole-organisation loads: pandas or numpy parse a column
    of them in one call, where the drivers build an object per row (SQLite's declared-type converters,
    Django's time-zone loader on psycopg) — ~170k lesson starts and as many XP days a night. PostgreSQL
    writes it with an explicit to_char format, whatever the server's DateStyle; `_raw_local_days` and
    `text_days` read both."""
    from django.db.models import CharField, F, Func

    class IsoText(Func):
        template = "CAST(%(expressions)s AS text)"
        output_field = CharField()

        def as_postgresql(self, compiler, connection, **extra):
            shape = "YYYY-MM-DD" if date else 'YYYY-MM-DD"T"HH24:MI:SS.USOF'
            return self.as_sql(compiler, connection, template=f"to_char(%(expressions)s, '{shape}')", **extra)

    return IsoText(F(field))


def text_days(values: list) -> np.ndarray:
    """Day numbers of ISO dates given as text ('2026-11-20')."""
    return np.array(values, dtype="datetime64[D]").astype(np.int64) + EPOCH_ORDINAL


def _fetch(queryset) -> list[tuple]:
    """values_list rows straight from the cursor: hundreds of thousands of marks skip Django's per-row
    iteration (the columns are plain ints and strings, nothing to convert)."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def org_rows(model, org_id: int, *, narrow: bool):
    """The organisation's rows of a tenant model. `narrow`: the caller picks a few rows by their own
    indexed keys (a one-child rescore), so the organisation is written as `organization_id + 0`: SQLite's
    planner has no statistics and would otherwise walk the organisation index, i.e. every row the
    organisation has (10 s instead of 10 ms on the 30,000-child network)."""
    from django.db.models import F

    if not narrow:
        return model.objects.filter(organization_id=org_id)
    return model.all_objects.alias(org_key=F("organization_id") + 0).filter(org_key=org_id)


ENROLLMENT_FIELDS = (
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
# No lesson starts after this: the "until" bound of a load that has none.
NO_LIMIT = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def lesson_limit(until: dt.date | None) -> dt.datetime:
    """Lessons starting before this may fall on or before `until` in some time zone. Only an
    optimisation (a day of slack for time zones): RiskData.until() is what guarantees nothing later is
    seen."""
    if until is None:
        return NO_LIMIT
    return dt.datetime.combine(until + dt.timedelta(days=2), dt.time.min, tzinfo=dt.UTC)


def _bulk_rows(org, until: dt.date | None):
    """The whole organisation: a handful of scans. Marks come as plain ints and strings (no datetime
    parsing per row) and take their day and group from the lesson table."""
    from kruzhok.attendance.models import AttendanceMark
    from kruzhok.school.models import Enrollment, Holiday, Lesson, LessonStatus, StudentGuardian

    lessons = Lesson.objects.filter(organization_id=org.id, status=LessonStatus.SCHEDULED)
    marks = AttendanceMark.objects.filter(organization_id=org.id)
    if until is not None:
        lessons = lessons.filter(starts_at__lt=lesson_limit(until))
        marks = marks.filter(lesson_id__in=lessons.values("id"))
    else:
        marks = marks.filter(lesson__status=LessonStatus.SCHEDULED)
    holidays = Holiday.objects.filter(organization_id=org.id).values_list("start_date", "end_date")
    return (
        list(Enrollment.objects.filter(organization_id=org.id).values_list(*ENROLLMENT_FIELDS)),
        _fetch(
            lessons.order_by().annotate(starts=iso_text("starts_at")).values_list("id", "group_id", "starts")
        ),
        _fetch(marks.order_by().values_list("enrollment_id", "lesson_id", "status")),
        list(StudentGuardian.objects.filter(organization_id=org.id).values_list("student_id", "guardian_id")),
        [(start.toordinal(), end.toordinal()) for start, end in holidays],
    )


# The one-child rescore's statements, written once with the ORM and compiled once per shape
# (prepared.rows). They read the tenant tables through all_objects with the organisation as a bound
# value (a tenant manager would bake the current organisation into the cached SQL), and write it as
# `organization_id + 0` (see org_rows) so the planner uses the ids' own indexes.


def _scope_query(org, ids):
    from kruzhok.school.models import Enrollment

    return org_rows(Enrollment, org, narrow=True).filter(pk__in=ids).values_list("group_id", "student_id")


def _guardians_query(org, students):
    from kruzhok.school.models import StudentGuardian

    return (
        org_rows(StudentGuardian, org, narrow=True).filter(student_id__in=students).values_list("guardian_id")
    )


def _links_query(org, guardians):
    from kruzhok.school.models import StudentGuardian

    return (
        org_rows(StudentGuardian, org, narrow=True)
        .filter(guardian_id__in=guardians)
        .values_list("student_id", "guardian_id")
    )


def _enrollments_query(org, groups, students):
    from django.db.models import Q

    from kruzhok.school.models import Enrollment

    # Explicit id lists, not subqueries: SQLite would otherwise scan the organisation's enrollments
    # through the OR.
    return (
        org_rows(Enrollment, org, narrow=True)
        .filter(Q(group_id__in=groups) | Q(student_id__in=students))
        .values_list(*ENROLLMENT_FIELDS)
    )


def _lessons_query(org, groups, limit):
    from kruzhok.school.models import Lesson, LessonStatus

    return (
        org_rows(Lesson, org, narrow=True)
        .filter(group_id__in=groups, status=LessonStatus.SCHEDULED, starts_at__lt=limit)
        .order_by()
        .values_list("id", "group_id", "starts_at")
    )


def _marks_query(org, groups, limit):
    from kruzhok.attendance.models import AttendanceMark
    from kruzhok.school.models import LessonStatus

    # Through the lesson join (its group index), not an IN list of lesson ids whose length would give
    # every group its own statement.
    return (
        org_rows(AttendanceMark, org, narrow=True)
        .filter(
            lesson__group_id__in=groups, lesson__status=LessonStatus.SCHEDULED, lesson__starts_at__lt=limit
        )
        .order_by()
        .values_list("enrollment_id", "lesson_id", "status")
    )


def _narrow_rows(org, enrollment_ids, until: dt.date | None):
    """The scored children's groups (group-mates, lessons, marks) and families (siblings), nothing else."""
    from kruzhok.lib import prepared
    from kruzhok.risk.orgcache import org_static

    ids = sorted({int(i) for i in enrollment_ids})
    scoped = prepared.rows(_scope_query, org=org.id, ids=ids)
    groups = sorted({g for g, _ in scoped if g is not None})
    students = sorted({s for _, s in scoped})
    guardians = sorted({g for (g,) in prepared.rows(_guardians_query, org=org.id, students=students)})
    link_rows = prepared.rows(_links_query, org=org.id, guardians=guardians) if guardians else []
    family = sorted(set(students) | {student for student, _ in link_rows})
    limit = lesson_limit(until)
    if groups:
        lesson_rows = prepared.rows(_lessons_query, org=org.id, groups=groups, limit=limit)
        mark_rows = prepared.rows(_marks_query, org=org.id, groups=groups, limit=limit)
    else:
        lesson_rows, mark_rows = [], []
    enr_rows = prepared.rows(_enrollments_query, org=org.id, groups=groups or [0], students=family or [0])
    static = org_static(org.id)
    holidays = list(static.holidays) if static is not None else []
    return enr_rows, lesson_rows, mark_rows, link_rows, holidays


OPEN_STATUSES = ("trial", "active", "paused")


def _marks_frame(mark_rows, lesson_ids, lesson_groups, lesson_days) -> pd.DataFrame:
    """enrollment_id, group_id, day, status of marks on the loaded lessons; a mark's day and group come
    from its lesson (looked up by sorted position, not a pandas reindex)."""
    # One pass per column with fromiter: zip(*rows) over the nightly run's ~400k marks cost 0.4 s of CPU.
    count = len(mark_rows)
    enrollment = np.fromiter((r[0] for r in mark_rows), dtype=np.int64, count=count)
    lesson = np.fromiter((r[1] for r in mark_rows), dtype=np.int64, count=count)
    status = np.fromiter((STATUS_CODES.get(r[2], ABSENT) for r in mark_rows), dtype=np.int8, count=count)
    order = np.argsort(lesson_ids, kind="stable")
    sorted_ids = lesson_ids[order]
    at = np.minimum(np.searchsorted(sorted_ids, lesson), max(len(sorted_ids) - 1, 0))
    known = sorted_ids[at] == lesson if len(sorted_ids) else np.zeros(len(lesson), dtype=bool)
    source = order[at[known]]
    return pd.DataFrame(
        {
            "enrollment_id": enrollment[known],
            "group_id": lesson_groups[source],
            "day": lesson_days[source],
            "status": status[known],
        }
    )


def load_risk_data(
    *, org, enrollment_ids=None, until: dt.date | None = None, one_day: bool = False
) -> RiskData:
    """Bulk-load what the signals need. With `enrollment_ids`, only their groups, group-mates and
    siblings are loaded (a one-child rescore: a few small prepared statements). `one_day`: the data will
    be scored as of `until` only (training and backtests score many days and load everything)."""
    from kruzhok.school.models import EnrollmentStatus

    if one_day and until is None:
        raise ValueError("a one-day load needs its day: until")

    if enrollment_ids is not None:
        enr_rows, lesson_rows, mark_rows, link_rows, holidays = _narrow_rows(org, enrollment_ids, until)
    else:
        enr_rows, lesson_rows, mark_rows, link_rows, holidays = _bulk_rows(org, until)
    # Frames are built once from whole columns: pandas' cost is per call, and a one-child rescore makes
    # many small frames (column-by-column assignment was several ms of it).
    lesson_ids = np.array([r[0] for r in lesson_rows], dtype=np.int64)
    lesson_groups = np.array([r[1] for r in lesson_rows], dtype=np.int64)
    lesson_days = _raw_local_days(pd.Series([r[2] for r in lesson_rows], dtype=object), org.timezone)

    status = [r[5] for r in enr_rows]
    ended = np.array([r[4].toordinal() if r[4] else np.nan for r in enr_rows], dtype=float)
    is_open = np.isin(np.array(status, dtype=object), OPEN_STATUSES) | np.isnan(ended)
    enr = pd.DataFrame(
        {
            "student_id": [r[1] for r in enr_rows],
            "group_id": [r[2] for r in enr_rows],
            "started": [r[3].toordinal() for r in enr_rows],
            "ended": ended,
            "birth": [r[6].toordinal() for r in enr_rows],
            "age_min": [r[7] for r in enr_rows],
            "age_max": [r[8] for r in enr_rows],
            "end_kind": np.where(
                is_open,
                OPEN,
                np.where(np.array(status, dtype=object) == EnrollmentStatus.DROPPED, DROPPED, OTHER_END),
            ),
        },
        index=pd.Index([r[0] for r in enr_rows], name="id", dtype=np.int64),
    )
    mk = _marks_frame(mark_rows, lesson_ids, lesson_groups, lesson_days)
    holidays = np.array(holidays, dtype=np.int64).reshape(-1, 2)
    lk = pd.DataFrame(link_rows, columns=["student_id", "guardian_id"])
    extra: dict = {}
    frames, rows, has_events = [], [], False
    for name, loader in _LOADERS.items():
        windowed = {"one_day": one_day} if name in _ONE_DAY_LOADERS else {}
        for key, found in loader(org=org, enrollments=enr, until=until, **windowed).items():
            if key != "events":
                extra[key] = found
                continue
            has_events = True
            if isinstance(found, pd.DataFrame):
                frames.append(found)
            else:  # plain (enrollment_id, day, kind, value, text) tuples: one frame for all of them
                rows.extend(found)
    if has_events:
        if rows or not frames:
            frames.append(_events_frame(rows))
        extra["events"] = (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))[
            EVENT_COLUMNS
        ]
    return RiskData(org.id, enr, mk, holidays, lk, extra, day_number(until) if one_day else None)


# ---------------------------------------------------------------------------------------------- compute


def open_enrollment_ids(data: RiskData, as_of: int) -> np.ndarray:
    """Enrollments that had started and not ended at the end of `as_of`."""
    enr = data.enrollments
    mask = (enr["started"] <= as_of) & (enr["ended"].isna() | (enr["ended"] > as_of))
    return enr.index[mask].to_numpy()


def compute_features(data: RiskData, *, as_of: dt.date | int, enrollment_ids=None) -> pd.DataFrame:
    """One row per enrollment (index: enrollment id), one column per registered signal."""
    as_of = as_of if isinstance(as_of, int) else day_number(as_of)
    if data.scored_on is not None and as_of != data.scored_on:
        # Older rows were left out of a one-day load: another day's signals would be wrong, not missing.
        raise ValueError(f"data loaded for day {data.scored_on} only, not {as_of}")
    known = data.until(as_of)
    if enrollment_ids is None:
        enrollment_ids = open_enrollment_ids(data, as_of)
    ids = pd.Index(enrollment_ids)
    rows = known.enrollments.loc[ids[ids.isin(known.enrollments.index)]]
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
    # Counted with numpy, not a pandas groupby: its set-up was most of this signal's time on one child.
    dropped = enr["end_kind"].to_numpy() == DROPPED
    ended = enr["ended"].to_numpy(dtype=float)
    left_groups = enr["group_id"].to_numpy(dtype=float)[dropped & (ended > ctx.as_of - 30)]
    left_groups, left_counts = np.unique(left_groups[~np.isnan(left_groups)], return_counts=True)
    at = np.minimum(np.searchsorted(left_groups, row_groups), max(len(left_groups) - 1, 0))
    found = left_groups[at] == row_groups if len(left_groups) else np.zeros(ctx.n, dtype=bool)
    peers_left = np.where(found, left_counts[at] if len(left_groups) else 0, 0).astype(float)

    dropped_students = set(enr["student_id"].to_numpy()[dropped & (ended > ctx.as_of - 60)].tolist())
    return {
        "group_att_4w": now,
        "group_trend": now - prev,
        "peers_left_30d": peers_left,
        "siblings_left_60d": _siblings_left(ctx, dropped_students),
    }


def _siblings_left(ctx: FeatureContext, dropped_students: set) -> np.ndarray:
    """Per scored row, how many other children sharing a guardian with the child are in
    `dropped_students`. Plain sets, not a pandas self-merge: only the few guardians of a dropped child
    are looked at, so a one-child rescore pays microseconds and the nightly run a short loop."""
    siblings = np.zeros(ctx.n)
    links = ctx.data.links
    if not dropped_students or not len(links):
        return siblings
    students = links["student_id"].to_numpy().tolist()
    guardians = links["guardian_id"].to_numpy().tolist()
    touched = {g for s, g in zip(students, guardians, strict=True) if s in dropped_students}
    if not touched:
        return siblings
    children_of: dict = {}
    for s, g in zip(students, guardians, strict=True):
        if g in touched:
            children_of.setdefault(g, set()).add(s)
    left_siblings: dict = {}
    for guardian_children in children_of.values():
        gone = guardian_children & dropped_students
        for s in guardian_children:
            left_siblings.setdefault(s, set()).update(gone - {s})
    counts = {s: len(sibs) for s, sibs in left_siblings.items()}
    return np.array([counts.get(s, 0) for s in ctx.rows["student_id"].tolist()], dtype=float)


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
    # Positions by index lookup and plain arrays: no pandas frame is built for the scored rows' events.
    position = ctx.rows.index.get_indexer(events["enrollment_id"].to_numpy())
    mine = position >= 0
    row = position[mine]
    kind = events["kind"].to_numpy()[mine]
    day = events["day"].to_numpy()[mine]
    value = events["value"].to_numpy(dtype=float)[mine]
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


def _event_rows(ctx: FeatureContext, kind: str) -> tuple[np.ndarray, pd.DataFrame] | None:
    """Positions (0..n-1) and rows of one kind of canonical event for the scored enrollments."""
    events = ctx.data.extra.get("events")
    if events is None:
        return None
    row = ctx.rows.index.get_indexer(events["enrollment_id"].to_numpy())
    wanted = (events["kind"].to_numpy() == kind) & (row >= 0)
    return row[wanted].astype(np.int64), events[wanted]


@register("feedback_last", "feedback_low_90d", group="feedback")
def feedback(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """The latest rating (1–5) and how many low or negative ones came in 90 days."""
    found = _event_rows(ctx, "feedback")
    if found is None:
        return {"feedback_last": np.full(ctx.n, np.nan), "feedback_low_90d": np.full(ctx.n, np.nan)}
    row, ev = found
    value, day = ev["value"].to_numpy(dtype=float), ev["day"].to_numpy()
    text = ev["text"].fillna("").to_numpy() if "text" in ev else np.full(len(ev), "")
    last = np.full(ctx.n, np.nan)
    rated = ~np.isnan(value)
    order = np.lexsort((day[rated], row[rated]))  # newest last, so the assignment keeps it
    last[row[rated][order]] = value[rated][order]
    low = ((rated & (value <= 2)) | (text == "negative")) & (ctx.as_of - day < 90)
    return {"feedback_last": last, "feedback_low_90d": np.bincount(row[low], minlength=ctx.n).astype(float)}


@register("xp_28d", "xp_pace_change", "xp_streak_broken", "shop_56d", "shop_quiet", group="gamification")
def xp(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Points earned in 4 weeks, against the 4 weeks before; a streak of 3 weeks with points, then a
    silent week; rewards asked for in the shop in 8 weeks, and a child who used to ask and has gone quiet."""
    found = _event_rows(ctx, "xp")
    if found is None:
        return {name: np.full(ctx.n, np.nan) for name in xp.__features__}
    asked = _event_rows(ctx, "shop")
    shop_row, shop_age = asked[0], ctx.as_of - asked[1]["day"].to_numpy()
    shop_now = np.bincount(shop_row[shop_age < 56], minlength=ctx.n).astype(float)
    shop_before = np.bincount(shop_row[(shop_age >= 56) & (shop_age < 112)], minlength=ctx.n)
    row, ev = found
    value, age = ev["value"].to_numpy(dtype=float), ctx.as_of - ev["day"].to_numpy()

    def points(lo: int, hi: int) -> np.ndarray:
        mask = (age >= lo) & (age < hi)
        return np.bincount(row[mask], weights=value[mask], minlength=ctx.n)

    now, before = points(0, 28), points(28, 56)
    streak = np.ones(ctx.n, dtype=bool)
    for week in (1, 2, 3):
        streak &= points(7 * week, 7 * week + 7) > 0
    return {
        "xp_28d": now,
        "xp_pace_change": now - before,
        "xp_streak_broken": (streak & (points(0, 7) == 0)).astype(float),
        "shop_56d": shop_now,
        "shop_quiet": ((shop_before > 0) & (shop_now == 0)).astype(float),
    }


xp.__features__ = _REGISTRY["xp"].features


# ---------------------------------------------------------------------------------------------- series


def weekly_attendance(
    data: RiskData, *, as_of: int, enrollment_ids, weeks: int = 26
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per enrollment, the attendance rate of each week up to `as_of`: (weeks before `as_of`, rates), oldest
    first (weeks without a counted lesson are left out). Plain arrays: the nightly run looks for change
    points in a few thousand series, and a pandas Series each was a tenth of its CPU."""
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
        out[int(cell_eid[lo])] = (cell_week[lo:hi], cell_rate[lo:hi])
    return out
