"""Monthly facts: marks, lessons and enrollment flows per (group, month), kept exact incrementally.

A change touches few rows: a mark recounts its lesson's (group, month), a cancelled or moved lesson the
month it left and the month it went to, an enrollment change its group's enrollment columns. Rows
inserted without an event (bulk loads, factories, imports) are caught up from the newest mark, lesson
and enrollment ids the facts have seen (`catch_up`). `rebuild` counts everything from scratch and
`differences` compares the stored rows with such a count (`manage.py analytics_facts --check`).

Enrollments are stored as flows (started, new, ended, dropped in the month), because dates are in
order (ended_on >= started_on): enrollments open on a day d = started on or before d − ended on or
before d, so "open on the 1st" and "open at the month's end" are running sums of the flows.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum

from kruzhok.accounts.models import Organization
from kruzhok.analytics.models import DataVersion, MonthlyFact
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.lib.dates import org_timezone
from kruzhok.school.models import Enrollment, EnrollmentStatus, Lesson, LessonStatus

MARK_FIELDS = tuple(AttendanceStatus.values)  # present, late, absent, excused
LESSON_FIELDS = (*MARK_FIELDS, "lessons_scheduled", "lessons_cancelled")
# started: every start in the month; new: starts that are not transfers; ended: every end; dropped: ends
# with the status «ушёл».
ENROLLMENT_FIELDS = ("enrollments_started", "enrollments_new", "enrollments_ended", "enrollments_dropped")
FIELDS = (*LESSON_FIELDS, *ENROLLMENT_FIELDS)
Counts = dict[str, int]
# Above this many (group, month) rows to recount, a catch-up rebuilds everything instead.
REBUILD_OVER = 300


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_bounds(month: dt.date, tz) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(month, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(_add_months(month, 1), dt.time.min, tzinfo=tz)


def local_month(moment: dt.datetime, tz) -> dt.date:
    return moment.astimezone(tz).date().replace(day=1)


def empty() -> Counts:
    return dict.fromkeys(FIELDS, 0)


def _lesson_field(status: str) -> str:
    return "lessons_scheduled" if status == LessonStatus.SCHEDULED else "lessons_cancelled"


# ---------------------------------------------------------------- counting from the source tables


def _month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def count_enrollments(org_id: int, group_ids=None) -> dict[tuple[int, dt.date], Counts]:
    """(group, month) → enrollment flows, for the given groups (or all), counted from the enrollments."""
    qs = Enrollment.all_objects.filter(organization_id=org_id)
    if group_ids is not None:
        qs = qs.filter(group_id__in=sorted(group_ids))
    out: dict[tuple[int, dt.date], Counts] = defaultdict(lambda: dict.fromkeys(ENROLLMENT_FIELDS, 0))
    for group_id, started, ended, status, transferred_from in qs.values_list(
        "group_id", "started_on", "ended_on", "status", "transferred_from_id"
    ).iterator(5000):
        row = out[(group_id, _month_of(started))]
        row["enrollments_started"] += 1
        if transferred_from is None:
            row["enrollments_new"] += 1
        if ended is not None:
            row = out[(group_id, _month_of(ended))]
            row["enrollments_ended"] += 1
            if status == EnrollmentStatus.DROPPED:
                row["enrollments_dropped"] += 1
    return dict(out)


def count_group_month(org_id: int, group_id: int, month: dt.date, tz) -> Counts:
    """The marks and lessons of one row (two small indexed queries); enrollment columns are not read."""
    start, end = month_bounds(month, tz)
    out = dict.fromkeys(LESSON_FIELDS, 0)
    marks = (
        AttendanceMark.all_objects.filter(
            organization_id=org_id,
            lesson__group_id=group_id,
            lesson__starts_at__gte=start,
            lesson__starts_at__lt=end,
        )
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status, n in marks:
        out[status] += n
    lessons = (
        Lesson.all_objects.filter(
            organization_id=org_id, group_id=group_id, starts_at__gte=start, starts_at__lt=end
        )
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status, n in lessons:
        out[_lesson_field(status)] += n
    return out


def count_everything(org: Organization) -> dict[tuple[int, dt.date], Counts]:
    """Every (group, month) of the organisation counted from scratch: the reference for --check."""
    from kruzhok.analytics.selectors import month_case  # selectors reads facts; keep the import one-way

    tz = org_timezone(org)
    out: dict[tuple[int, dt.date], Counts] = defaultdict(empty)
    for key, counts in count_enrollments(org.pk).items():
        out[key].update(counts)
    span = Lesson.all_objects.filter(organization_id=org.pk).aggregate(
        first=Min("starts_at"), last=Max("starts_at")
    )
    if span["first"] is None:
        return dict(out)
    months, month = [], local_month(span["first"], tz)
    last = local_month(span["last"], tz)
    while month <= last:
        months.append(month)
        month = _add_months(month, 1)
    marks = (
        AttendanceMark.all_objects.filter(organization_id=org.pk)
        .annotate(month=month_case("lesson__starts_at", months, tz))
        .values_list("lesson__group_id", "month", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for group_id, month_text, status, n in marks:
        out[(group_id, dt.date.fromisoformat(month_text))][status] += n
    lessons = (
        Lesson.all_objects.filter(organization_id=org.pk)
        .annotate(month=month_case("starts_at", months, tz))
        .values_list("group_id", "month", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for group_id, month_text, status, n in lessons:
        out[(group_id, dt.date.fromisoformat(month_text))][_lesson_field(status)] += n
    return dict(out)


def stored(org_id: int) -> dict[tuple[int, dt.date], Counts]:
    rows = MonthlyFact.all_objects.filter(organization_id=org_id).values_list("group_id", "month", *FIELDS)
    return {(r[0], r[1]): dict(zip(FIELDS, r[2:], strict=True)) for r in rows}


def differences(org: Organization) -> list[tuple[int, dt.date, Counts, Counts]]:
    """(group, month, stored, counted) for every row that disagrees with a count from scratch."""
    counted, kept = count_everything(org), stored(org.pk)
    out = []
    for key in sorted(set(counted) | set(kept)):
        a, b = kept.get(key, empty()), counted.get(key, empty())
        if a != b:
            out.append((key[0], key[1], a, b))
    return out


# ---------------------------------------------------------------- keeping the rows


def _locked_state(org_id: int) -> DataVersion:
    """The organisation's DataVersion row, locked: rebuilds and catch-ups of one organisation take turns."""
    state, _created = DataVersion.all_objects.get_or_create(organization_id=org_id)
    return DataVersion.all_objects.select_for_update().get(pk=state.pk)


def _newest_ids(org_id: int) -> tuple[int, int, int]:
    def newest(model) -> int:
        ids = model.all_objects.filter(organization_id=org_id).order_by("-id").values_list("id", flat=True)
        return ids.first() or 0

    return newest(AttendanceMark), newest(Lesson), newest(Enrollment)


def _nothing_left() -> dict:
    return dict.fromkeys(FIELDS, 0)


def refresh(org: Organization, pairs: Iterable[tuple[int, dt.date]]) -> int:
    """Recount the marks and lessons of the given (group, month) rows (their enrollment columns stay);
    a row with nothing left is deleted. Returns rows touched."""
    tz = org_timezone(org)
    touched = 0
    with transaction.atomic():
        _locked_state(org.pk)  # one writer per organisation: a recount never overwrites a newer one
        for group_id, month in sorted(set(pairs)):
            counts = count_group_month(org.pk, group_id, month, tz)
            row = MonthlyFact.all_objects.filter(organization_id=org.pk, group_id=group_id, month=month)
            if any(counts.values()):
                MonthlyFact.all_objects.update_or_create(
                    organization_id=org.pk, group_id=group_id, month=month, defaults=counts
                )
            else:
                row.update(**counts)
                row.filter(**_nothing_left()).delete()
            touched += 1
    return touched


def refresh_enrollments(org: Organization, group_ids: Iterable[int]) -> int:
    """Recount the enrollment columns of every month of the given groups (a group holds a few dozen
    enrollments; an end date may have moved from any month). Returns rows touched."""
    ids = sorted(set(group_ids))
    if not ids:
        return 0
    touched = 0
    with transaction.atomic():
        _locked_state(org.pk)
        counted = count_enrollments(org.pk, ids)
        kept = {
            (r[0], r[1]): dict(zip(ENROLLMENT_FIELDS, r[2:], strict=True))
            for r in MonthlyFact.all_objects.filter(organization_id=org.pk, group_id__in=ids).values_list(
                "group_id", "month", *ENROLLMENT_FIELDS
            )
        }
        zero = dict.fromkeys(ENROLLMENT_FIELDS, 0)
        for group_id, month in sorted(set(counted) | set(kept)):
            counts = counted.get((group_id, month), zero)
            if kept.get((group_id, month), zero) == counts:
                continue
            if (group_id, month) in kept:
                row = MonthlyFact.all_objects.filter(organization_id=org.pk, group_id=group_id, month=month)
                row.update(**counts)
                row.filter(**_nothing_left()).delete()
            else:
                MonthlyFact.all_objects.create(
                    organization_id=org.pk, group_id=group_id, month=month, **counts
                )
            touched += 1
    return touched


def rebuild(org: Organization) -> int:
    """Every row from scratch; the newest ids are read first, so rows arriving meanwhile are caught up."""
    with transaction.atomic():
        state = _locked_state(org.pk)
        mark_id, lesson_id, enrollment_id = _newest_ids(org.pk)
        counted = count_everything(org)
        MonthlyFact.all_objects.filter(organization_id=org.pk).delete()
        MonthlyFact.all_objects.bulk_create(
            [
                MonthlyFact(organization_id=org.pk, group_id=group_id, month=month, **counts)
                for (group_id, month), counts in counted.items()
            ],
            batch_size=2000,
        )
        state.facts_mark_id, state.facts_lesson_id = mark_id, lesson_id
        state.facts_enrollment_id = enrollment_id
        state.save(update_fields=["facts_mark_id", "facts_lesson_id", "facts_enrollment_id", "updated_at"])
    return len(counted)


def catch_up(
    org: Organization,
    *,
    mark_id: int,
    lesson_id: int,
    enrollment_id: int,
    seen_mark_id,
    seen_lesson_id,
    seen_enrollment_id,
) -> None:
    """Rows that arrived without an event (ids above what the facts have seen) are counted in; facts
    never built are built. Called by the dashboards when the newest ids have moved."""
    if seen_mark_id is None or seen_lesson_id is None or seen_enrollment_id is None:
        rebuild(org)
        return
    tz = org_timezone(org)
    pairs = set()
    for group_id, starts_at in AttendanceMark.all_objects.filter(
        organization_id=org.pk, pk__gt=seen_mark_id, pk__lte=mark_id
    ).values_list("lesson__group_id", "lesson__starts_at"):
        pairs.add((group_id, local_month(starts_at, tz)))
    for group_id, starts_at in Lesson.all_objects.filter(
        organization_id=org.pk, pk__gt=seen_lesson_id, pk__lte=lesson_id
    ).values_list("group_id", "starts_at"):
        pairs.add((group_id, local_month(starts_at, tz)))
    groups = set(
        Enrollment.all_objects.filter(
            organization_id=org.pk, pk__gt=seen_enrollment_id, pk__lte=enrollment_id
        ).values_list("group_id", flat=True)
    )
    if len(pairs) + len(groups) > REBUILD_OVER:
        # The nightly lesson generation adds weeks of lessons to every group: one count from scratch
        # (seconds) beats thousands of single-row recounts.
        rebuild(org)
        return
    with transaction.atomic():
        refresh(org, pairs)
        refresh_enrollments(org, groups)
        # Only forward: two pages catching up at once both end at the newest ids they counted.
        for name, newest in (
            ("facts_mark_id", mark_id),
            ("facts_lesson_id", lesson_id),
            ("facts_enrollment_id", enrollment_id),
        ):
            DataVersion.all_objects.filter(organization_id=org.pk, **{f"{name}__lt": newest}).update(
                **{name: newest}
            )


def read(
    org_id: int, months: list[dt.date], group_ids=None, fields: tuple[str, ...] = FIELDS
) -> dict[tuple[int, dt.date], Counts]:
    """Stored rows of these months (all groups, or the given ids), with the given counts."""
    qs = MonthlyFact.all_objects.filter(organization_id=org_id, month__in=months)
    if group_ids is not None:
        qs = qs.filter(group_id__in=sorted(group_ids))
    return {
        (r[0], r[1]): dict(zip(fields, r[2:], strict=True))
        for r in qs.values_list("group_id", "month", *fields)
    }


def enrollment_figures(org_id: int, month: dt.date, as_of: dt.date, group_ids=None) -> dict[int, Counts]:
    """Group → enrollments open on the month's first day (`at_start`), new and dropped in the month, and
    open on `as_of` (`open`; the month's last day, or today in the current month), from the flows: one
    query over the fact rows, plus one over this month's enrollments when `as_of` is inside the month."""
    qs = MonthlyFact.all_objects.filter(organization_id=org_id, month__lte=month)
    if group_ids is not None:
        qs = qs.filter(group_id__in=sorted(group_ids))
    before, this = Q(month__lt=month), Q(month=month)
    rows = (
        qs.values("group_id")
        .annotate(
            started_before=Sum("enrollments_started", filter=before),
            ended_before=Sum("enrollments_ended", filter=before),
            started=Sum("enrollments_started", filter=this),
            new=Sum("enrollments_new", filter=this),
            ended=Sum("enrollments_ended", filter=this),
            dropped=Sum("enrollments_dropped", filter=this),
        )
        .order_by()
    )
    out: dict[int, Counts] = {}
    for r in rows:
        at_start = (r["started_before"] or 0) - (r["ended_before"] or 0)
        out[r["group_id"]] = {
            "at_start": at_start,
            "new": r["new"] or 0,
            "dropped": r["dropped"] or 0,
            "open": at_start + (r["started"] or 0) - (r["ended"] or 0),
        }
    last = _add_months(month, 1) - dt.timedelta(days=1)
    if as_of < last:
        # Starts and ends after `as_of` are not in yet: take them back out (few rows, this month only).
        later = Enrollment.all_objects.filter(organization_id=org_id).filter(
            Q(started_on__gt=as_of, started_on__lte=last) | Q(ended_on__gt=as_of, ended_on__lte=last)
        )
        if group_ids is not None:
            later = later.filter(group_id__in=sorted(group_ids))
        for group_id, started, ended in later.values_list("group_id", "started_on", "ended_on"):
            row = out.setdefault(group_id, {"at_start": 0, "new": 0, "dropped": 0, "open": 0})
            if as_of < started <= last:
                row["open"] -= 1
            if ended is not None and as_of < ended <= last:
                row["open"] += 1
    return out
