"""The family's schedule as an RFC 5545 iCalendar feed (subscribed to by phone calendars)."""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, Timezone

from kruzhok.family import selectors
from kruzhok.school.models import Guardian, Lesson, Student

FEED_DAYS_BACK = 60


def uid_for(*, lesson: Lesson, student: Student) -> str:
    # One event per lesson *and* child: two siblings in one group get two events, each kept stable
    # across refreshes so the calendar app updates rather than duplicates them.
    return f"lesson-{lesson.pk}-student-{student.pk}@kruzhok"


def _location(item: selectors.ScheduleItem) -> str:
    branch, room = item.branch, item.room
    parts = [branch.name, branch.address, room.name if room is not None else ""]
    return ", ".join(part for part in parts if part)


def _description(item: selectors.ScheduleItem, zone) -> str:
    lesson = item.lesson
    lines = [_("Группа: %(group)s") % {"group": lesson.group.name}]
    teacher = item.teacher
    if teacher is not None:
        lines.append(_("Преподаватель: %(name)s") % {"name": teacher.get_full_name() or teacher.username})
    if lesson.is_cancelled:
        lines.append((_("Занятие отменено. %(reason)s") % {"reason": lesson.cancel_reason}).strip())
    if lesson.moved_from is not None:
        moved_from = timezone.localtime(lesson.moved_from, zone)
        lines.append(_("Перенесено с %(when)s") % {"when": moved_from.strftime("%d.%m.%Y %H:%M")})
    if lesson.topic:
        lines.append(_("Тема: %(topic)s") % {"topic": lesson.topic})
    if lesson.homework:
        lines.append(_("Домашнее задание: %(homework)s") % {"homework": lesson.homework})
    return "\n".join(lines)


def _sequence(lesson: Lesson) -> int:
    # A move or a cancellation must win over the copy a calendar app already holds, and a lesson
    # can move more than once while keeping no revision counter (moved_from keeps the first time).
    # Seconds from creation to the last change only ever grow, so each later revision ranks higher.
    if lesson.moved_from is None and not lesson.is_cancelled:
        return 0
    return max(1, int((lesson.updated_at - lesson.created_at).total_seconds()))


def calendar_feed_render(*, guardian: Guardian, now: dt.datetime | None = None) -> bytes:
    """The guardian's children's lessons from FEED_DAYS_BACK ago to the lesson horizon.

    Must run inside the guardian's tenant context."""
    org = guardian.organization
    zone = selectors.org_zone(org)
    now = now or timezone.now()
    today = timezone.localtime(now, zone).date()
    date_from = today - dt.timedelta(days=FEED_DAYS_BACK)
    date_to = today + dt.timedelta(days=settings.LESSON_HORIZON_DAYS)

    calendar = Calendar()
    calendar.add("prodid", "-//Kruzhok//Family schedule//RU")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("%(org)s: расписание") % {"org": org.name})
    calendar.add("x-wr-timezone", zone.key)
    stamp = now.astimezone(dt.UTC)
    # Always described, even in an empty feed, since X-WR-TIMEZONE names it; a week of margin
    # on both sides keeps events near the window's edges covered.
    calendar.add_component(
        Timezone.from_tzid(
            zone.key, first_date=date_from - dt.timedelta(days=7), last_date=date_to + dt.timedelta(days=7)
        )
    )

    children = selectors.children_for_guardian(guardian=guardian)
    for item in selectors.schedule_items(org=org, children=children, date_from=date_from, date_to=date_to):
        lesson = item.lesson
        for student in item.children:
            summary = f"{lesson.group.course.title} — {student.first_name}"
            if item.is_cancelled:
                # Some calendar apps ignore STATUS; the title must say it too.
                summary = _("Отменено: %(summary)s") % {"summary": summary}
            event = Event()
            event.add("uid", uid_for(lesson=lesson, student=student))
            event.add("dtstamp", stamp)
            event.add("last-modified", lesson.updated_at.astimezone(dt.UTC))
            event.add("dtstart", timezone.localtime(lesson.starts_at, zone))
            event.add("dtend", timezone.localtime(lesson.ends_at, zone))
            event.add("summary", summary)
            location = _location(item)
            if location:
                event.add("location", location)
            event.add("description", _description(item, zone))
            event.add("status", "CANCELLED" if item.is_cancelled else "CONFIRMED")
            event.add("sequence", _sequence(lesson))
            calendar.add_component(event)

    return calendar.to_ical()
