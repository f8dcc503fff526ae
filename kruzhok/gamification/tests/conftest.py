import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.attendance.services import attendance_mark
from kruzhok.testing import factories as f


@pytest.fixture
def mark(django_capture_on_commit_callbacks):
    """mark(world, status, lesson=None, student=None): marks through the real service and delivers
    the event the way production does, after the commit."""

    def do(world, status, lesson=None, student=None):
        with django_capture_on_commit_callbacks(execute=True):
            return attendance_mark(
                lesson=lesson or world.lesson,
                student=student or world.student,
                status=status,
                actor=world.teacher,
            )

    return do


@pytest.fixture
def lesson_on():
    """lesson_on(world, day): a lesson of the world's group at 16:00 on that day."""

    def make(world, day: dt.date):
        starts = timezone.make_aware(dt.datetime.combine(day, dt.time(16, 0)))
        return f.LessonFactory(
            organization=world.org,
            group=world.group,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            teacher=world.teacher,
        )

    return make
