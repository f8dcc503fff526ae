"""Monthly facts: marks and lessons per (group, month), kept exact incrementally.

A change touches one row: a mark recounts its lesson's (group, month), a cancelled or moved lesson the
month it left and the month it went to. Rows inserted without an event (bulk loads, factories, imports)
are caught up from the newest mark and lesson ids the facts have seen (`catch_up`). `rebuild` counts
everything from scratch and `differences` compares the stored rows with such a count
(`manage.py analytics_facts --check`).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Max, Min

from kruzhok.accounts.models import Organization
from kruzhok.analytics.models import DataVersion, MonthlyFact
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.lib.dates import org_timezone
from kruzhok.school.models import Lesson, LessonStatus

MARK_FIELDS = tuple(AttendanceStatus.values)  # present, late, absent, excused
FIELDS = (*MARK_FIELDS, "lessons_scheduled", "lessons_cancelled")
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


def count_group_month(org_id: int, group_id: int, month: dt.date, tz) -> Counts:
    """One row counted from the marks and lessons (two small indexed queries)."""
    start, end = month_bounds(month, tz)
    out = empty()
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
    span = Lesson.all_objects.filter(organization_id=org.pk).aggregate(
        first=Min("starts_at"), last=Max("starts_at")
    )
    if span["first"] is None:
        return {}
    months, month = [], local_month(span["first"], tz)
    last = local_month(span["last"], tz)
    while month <= last:
        months.append(month)
        month = _add_months(month, 1)
    out: dict[tuple[int, dt.date], Counts] = defaultdict(empty)
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


def _newest_ids(org_id: int) -> tuple[int, int]:
    mark = (
        AttendanceMark.all_objects.filter(organization_id=org_id).order_by("-id").values_list("id", flat=True)
    )
    lesson = Lesson.all_objects.filter(organization_id=org_id).order_by("-id").values_list("id", flat=True)
    return (mark.first() or 0), (lesson.first() or 0)


def refresh(org: Organization, pairs: Iterable[tuple[int, dt.date]]) -> int:
    """Recount the given (group, month) rows; a row with nothing left is deleted. Returns rows touched."""
    tz = org_timezone(org)
    touched = 0
    with transaction.atomic():
        _locked_state(org.pk)  # one writer per organisation: a recount never overwrites a newer one
        for group_id, month in sorted(set(pairs)):
            counts = count_group_month(org.pk, group_id, month, tz)
            if any(counts.values()):
                MonthlyFact.all_objects.update_or_create(
                    organization_id=org.pk, group_id=group_id, month=month, defaults=counts
                )
            else:
                MonthlyFact.all_objects.filter(
                    organization_id=org.pk, group_id=group_id, month=month
                ).delete()
            touched += 1
    return touched


def rebuild(org: Organization) -> int:
    """Every row from scratch; the newest ids are read first, so rows arriving meanwhile are caught up."""
    with transaction.atomic():
        state = _locked_state(org.pk)
        mark_id, lesson_id = _newest_ids(org.pk)
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
        state.save(update_fields=["facts_mark_id", "facts_lesson_id", "updated_at"])
    return len(counted)


def catch_up(org: Organization, *, mark_id: int, lesson_id: int, seen_mark_id, seen_lesson_id) -> None:
    """Rows that arrived without an event (ids above what the facts have seen) are counted in; facts
    never built are built. Called by the dashboards when the newest ids have moved."""
    if seen_mark_id is None or seen_lesson_id is None:
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
    if len(pairs) > REBUILD_OVER:
        # The nightly lesson generation adds weeks of lessons to every group: one count from scratch
        # (seconds) beats thousands of single-row recounts.
        rebuild(org)
        return
    with transaction.atomic():
        refresh(org, pairs)
        # Only forward: two pages catching up at once both end at the newest ids they counted.
        DataVersion.all_objects.filter(organization_id=org.pk, facts_mark_id__lt=mark_id).update(
            facts_mark_id=mark_id
        )
        DataVersion.all_objects.filter(organization_id=org.pk, facts_lesson_id__lt=lesson_id).update(
            facts_lesson_id=lesson_id
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
