"""A tiny hand-made attendance history for exact, readable assertions."""

import datetime as dt

from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.school import models as school


def weekly_lessons(world, *, first: dt.date, count: int) -> list:
    lessons = []
    for week in range(count):
        day = first + dt.timedelta(weeks=week)
        starts = timezone.make_aware(dt.datetime.combine(day, dt.time(16, 0)))
        lessons.append(
            school.Lesson.objects.create(
                organization=world.org,
                group=world.group,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=1),
                teacher=world.teacher,
            )
        )
    return lessons


def mark_all(world, lessons, statuses, *, enrollment=None) -> None:
    enrollment = enrollment or world.enrollment
    for lesson, status in zip(lessons, statuses, strict=True):
        AttendanceMark.objects.create(
            organization=world.org,
            lesson=lesson,
            student=enrollment.student,
            enrollment=enrollment,
            status=status,
        )


def fading_child(world, *, as_of: dt.date) -> list:
    """Alpha's Маша: 8 weeks present, then absent at the last 3 of 4 lessons up to `as_of`."""
    world.enrollment.started_on = as_of - dt.timedelta(weeks=12)
    world.enrollment.save()
    lessons = weekly_lessons(world, first=as_of - dt.timedelta(weeks=11), count=12)
    mark_all(world, lessons, ["present"] * 8 + ["present", "absent", "absent", "absent"])
    return lessons
