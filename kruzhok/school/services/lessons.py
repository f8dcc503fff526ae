"""Lessons generated from each group's weekly rule over a rolling horizon.

The rule (a group's ScheduleSlots) is the source of truth for *future untouched* lessons only. A lesson
someone has worked with — attendance taken, a topic or homework written, moved or cancelled — is never
deleted by regeneration: history and plans outrank the rule.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from kruzhok.accounts.models import Organization
from kruzhok.lib.dates import org_timezone, org_today  # noqa: F401 — re-exported for school views
from kruzhok.lib.tenancy import for_each_organisation
from kruzhok.school.models import Group, Holiday, Lesson, LessonStatus, ScheduleSlot


def slot_times(*, slot: ScheduleSlot, on: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    starts = dt.datetime.combine(on, slot.start_time, tzinfo=tz)
    return starts, starts + dt.timedelta(minutes=slot.duration_minutes)


def untouched_future_lessons(*, org: Organization, now: dt.datetime, today: dt.date) -> QuerySet[Lesson]:
    """Generated lessons nobody has worked with yet: the only ones the rule may delete or re-time."""
    return Lesson.objects.filter(
        organization=org,
        slot__isnull=False,
        status=LessonStatus.SCHEDULED,
        attendance_taken_at__isnull=True,
        topic="",
        homework="",
        moved_from__isnull=True,
        starts_at__gt=now,
        origin_date__gte=today,
    )


def _holiday_dates(*, org: Organization, date_from: dt.date, date_to: dt.date) -> set[dt.date]:
    days: set[dt.date] = set()
    holidays = Holiday.objects.filter(organization=org, start_date__lte=date_to, end_date__gte=date_from)
    for holiday in holidays:
        day = max(holiday.start_date, date_from)
        while day <= min(holiday.end_date, date_to):
            days.add(day)
            day += dt.timedelta(days=1)
    return days


def lessons_generate(
    *,
    org: Organization,
    group: Group | None = None,
    horizon_days: int | None = None,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Bring the lessons of one group (or every group of `org`) in line with their weekly rules.

    Creates the missing lessons from today (org-local) to today + horizon, deletes future untouched
    lessons the rule no longer produces (holiday, outside the group's dates, group inactive, slot moved
    to another weekday) and re-times untouched lessons whose slot changed length. Idempotent.
    """
    tz = org_timezone(org)
    now = timezone.now()
    today = today or timezone.localdate(now, timezone=tz)
    horizon = settings.LESSON_HORIZON_DAYS if horizon_days is None else max(int(horizon_days), 0)
    last_day = today + dt.timedelta(days=horizon)

    groups_qs = Group.objects.filter(organization=org).select_related("room", "teacher")
    if group is not None:
        groups_qs = groups_qs.filter(pk=group.pk)
    groups = {g.pk: g for g in groups_qs.prefetch_related("slots")}
    if not groups:
        return {"created": 0, "deleted": 0, "updated": 0}

    with transaction.atomic():
        deleted, updated = _prune(org=org, groups=groups, now=now, today=today, tz=tz)
        created = _fill(org=org, groups=groups, today=today, last_day=last_day, tz=tz)
    return {"created": created, "deleted": deleted, "updated": updated}


def _prune(*, org, groups: dict[int, Group], now, today, tz) -> tuple[int, int]:
    candidates = list(
        untouched_future_lessons(org=org, now=now, today=today)
        .filter(group_id__in=list(groups))
        .select_related("slot")
    )
    if not candidates:
        return 0, 0
    holidays = _holiday_dates(
        org=org,
        date_from=min(lesson.origin_date for lesson in candidates),
        date_to=max(lesson.origin_date for lesson in candidates),
    )
    doomed: list[int] = []
    retimed: list[Lesson] = []
    for lesson in candidates:
        group, slot, day = groups[lesson.group_id], lesson.slot, lesson.origin_date
        if (
            not group.is_active
            or day < group.start_date
            or day > group.end_date
            or slot.weekday != day.weekday()
            or day in holidays
        ):
            doomed.append(lesson.pk)
            continue
        starts, ends = slot_times(slot=slot, on=day, tz=tz)
        if (lesson.starts_at, lesson.ends_at) != (starts, ends):
            lesson.starts_at, lesson.ends_at = starts, ends
            retimed.append(lesson)
    if doomed:
        Lesson.objects.filter(organization=org, pk__in=doomed).delete()
    if retimed:
        Lesson.objects.bulk_update(retimed, ["starts_at", "ends_at"])
    return len(doomed), len(retimed)


def _fill(*, org, groups: dict[int, Group], today, last_day, tz) -> int:
    active = [g for g in groups.values() if g.is_active and g.start_date <= last_day and g.end_date >= today]
    if not active:
        return 0
    holidays = _holiday_dates(org=org, date_from=today, date_to=last_day)
    in_range = Lesson.objects.filter(
        organization=org,
        group_id__in=[g.pk for g in active],
        origin_date__gte=today,
        origin_date__lte=last_day,
    )
    existing = set(in_range.filter(slot__isnull=False).values_list("slot_id", "origin_date"))
    # A kept lesson whose slot was removed (topic, marks, cancellation) still stands for that date:
    # a replacement slot on the same weekday must not put a second lesson next to it.
    orphaned = set(in_range.filter(slot__isnull=True).values_list("group_id", "origin_date"))

    new: list[Lesson] = []
    for group in active:
        slots_by_weekday: dict[int, list[ScheduleSlot]] = {}
        for slot in group.slots.all():
            slots_by_weekday.setdefault(slot.weekday, []).append(slot)
        day = max(today, group.start_date)
        end = min(last_day, group.end_date)
        while day <= end:
            if day not in holidays and (group.pk, day) not in orphaned:
                for slot in slots_by_weekday.get(day.weekday(), ()):
                    if (slot.pk, day) in existing:
                        continue
                    starts, ends = slot_times(slot=slot, on=day, tz=tz)
                    new.append(
                        Lesson(
                            organization=org,
                            group=group,
                            slot=slot,
                            origin_date=day,
                            starts_at=starts,
                            ends_at=ends,
                            room=group.room,
                            teacher=group.teacher,
                        )
                    )
            day += dt.timedelta(days=1)
    # ignore_conflicts: the nightly task and an owner's edit may race for the same (slot, date).
    Lesson.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


def lessons_generate_all(*, horizon_days: int | None = None) -> dict[str, int]:
    """Every organisation in turn, each inside its own tenant context; one failing org does not stop the rest."""
    totals = for_each_organisation(lessons_generate, horizon_days=horizon_days)
    return {"created": 0, "deleted": 0, "updated": 0, **totals}
