import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.school import models as school
from kruzhok.testing import factories as f


@pytest.fixture
def make_lesson():
    """make_lesson(world, starts_at=..., **fields) → a lesson of the world's group, an hour long."""

    def make(world, *, starts_at: dt.datetime, group=None, **fields):
        fields.setdefault("room", world.room)
        fields.setdefault("teacher", world.teacher)
        return f.LessonFactory(
            organization=world.org,
            group=group or world.group,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            **fields,
        )

    return make


@pytest.fixture
def mark():
    """mark(world, lesson, status, student=None) → an attendance mark for the world's child."""

    def make(world, lesson, status, student=None, enrollment=None):
        return AttendanceMark.objects.create(
            organization=world.org,
            lesson=lesson,
            student=student or world.student,
            enrollment=enrollment or world.enrollment,
            status=status,
            marked_by=world.teacher,
        )

    return make


@pytest.fixture
def other_family(alpha):
    """A second family in alpha: another child (Петя) in the same group, with their own parent."""
    child = f.StudentFactory(
        organization=alpha.org, first_name="Петя", last_name="Соседов", branch=alpha.branch
    )
    guardian = f.GuardianFactory(organization=alpha.org, full_name="Соседова Анна")
    school.StudentGuardian.objects.create(organization=alpha.org, student=child, guardian=guardian)
    enrollment = f.EnrollmentFactory(
        organization=alpha.org,
        student=child,
        group=alpha.group,
        started_on=timezone.localdate() - dt.timedelta(days=30),
    )
    return {"child": child, "guardian": guardian, "enrollment": enrollment}
