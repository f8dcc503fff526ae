"""Reads for the organisation's structure, each limited to what the membership may see.

Scope: the owner sees the whole organisation, a manager the branches they manage, a teacher the groups
they teach (and lessons assigned to them). Anyone else sees nothing.
"""

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Course,
    Enrollment,
    Group,
    Holiday,
    Lesson,
    Room,
    ScheduleSlot,
)
from kruzhok.school.services.lessons import org_timezone


def branch_list(*, org: Organization) -> QuerySet[Branch]:
    rooms = Prefetch("rooms", queryset=Room.objects.filter(organization=org).order_by("name"))
    return Branch.objects.filter(organization=org).prefetch_related(rooms, "managers").order_by("name")


def branch_list_for(*, membership: Membership) -> QuerySet[Branch]:
    """Branches in the membership's scope: all for the owner, managed ones for a manager."""
    branches = Branch.objects.filter(organization_id=membership.organization_id).order_by("name")
    if membership.role == Role.OWNER:
        return branches
    if membership.role == Role.MANAGER:
        return branches.filter(managers=membership.user)
    if membership.role == Role.TEACHER:
        return branches.filter(groups__teacher=membership.user).distinct()
    return branches.none()


def branch_get(*, org: Organization, pk: Any) -> Branch:
    return get_object_or_404(Branch.objects.filter(organization=org), pk=pk)


def room_list(*, org: Organization, branch: Branch | None = None) -> QuerySet[Room]:
    rooms = Room.objects.filter(organization=org).select_related("branch").order_by("branch__name", "name")
    if branch is not None:
        rooms = rooms.filter(branch=branch)
    return rooms


def room_get(*, org: Organization, pk: Any) -> Room:
    return get_object_or_404(room_list(org=org), pk=pk)


def course_list(*, org: Organization) -> QuerySet[Course]:
    return Course.objects.filter(organization=org).order_by("-is_active", "title")


def course_get(*, org: Organization, pk: Any) -> Course:
    return get_object_or_404(course_list(org=org), pk=pk)


def holiday_list(*, org: Organization) -> QuerySet[Holiday]:
    return Holiday.objects.filter(organization=org).order_by("start_date", "name")


def holiday_get(*, org: Organization, pk: Any) -> Holiday:
    return get_object_or_404(holiday_list(org=org), pk=pk)


def staff_users(*, org: Organization, roles: tuple[str, ...]) -> QuerySet:
    """Active users of the organisation with one of `roles`, for teacher and manager pickers."""
    return (
        get_user_model()
        .objects.filter(
            memberships__organization=org, memberships__is_active=True, memberships__role__in=list(roles)
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def teacher_choices(*, org: Organization) -> QuerySet:
    return staff_users(org=org, roles=(Role.TEACHER, Role.OWNER))


def manager_choices(*, org: Organization) -> QuerySet:
    return staff_users(org=org, roles=(Role.MANAGER,))


def group_list(
    *,
    membership: Membership,
    branch: Branch | None = None,
    course: Course | None = None,
    teacher: Any = None,
) -> QuerySet[Group]:
    groups = (
        Group.objects.filter(organization_id=membership.organization_id)
        .select_related("course", "branch", "room", "teacher")
        .prefetch_related(Prefetch("slots", queryset=ScheduleSlot.objects.order_by("weekday", "start_time")))
        .order_by("-is_active", "name")
    )
    if membership.role == Role.MANAGER:
        groups = groups.filter(branch__managers=membership.user)
    elif membership.role == Role.TEACHER:
        groups = groups.filter(teacher=membership.user)
    elif membership.role != Role.OWNER:
        return groups.none()
    if branch is not None:
        groups = groups.filter(branch=branch)
    if course is not None:
        groups = groups.filter(course=course)
    if teacher is not None:
        groups = groups.filter(teacher=teacher)
    return groups


def with_enrolled_count(groups: QuerySet[Group]) -> QuerySet[Group]:
    """Adds `enrolled`: open enrollments (trial, active, paused) — what fills a group's places."""
    return groups.annotate(
        enrolled=Count(
            "enrollments", filter=Q(enrollments__status__in=OPEN_ENROLLMENT_STATUSES), distinct=True
        )
    )


def group_get(*, membership: Membership, pk: Any) -> Group:
    return get_object_or_404(group_list(membership=membership), pk=pk)


def group_roster(*, group: Group) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(
            organization_id=group.organization_id, group=group, status__in=OPEN_ENROLLMENT_STATUSES
        )
        .select_related("student")
        .order_by("student__last_name", "student__first_name")
    )


def _day_bounds(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def lesson_list(
    *,
    membership: Membership,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    group: Group | None = None,
) -> QuerySet[Lesson]:
    """Lessons in scope; the dates are whole days in the organisation's time zone, both inclusive."""
    lessons = (
        Lesson.objects.filter(organization_id=membership.organization_id)
        .select_related("group", "group__course", "group__branch", "room", "teacher")
        .order_by("starts_at")
    )
    if membership.role == Role.MANAGER:
        lessons = lessons.filter(group__branch__managers=membership.user)
    elif membership.role == Role.TEACHER:
        lessons = lessons.filter(Q(teacher=membership.user) | Q(group__teacher=membership.user))
    elif membership.role != Role.OWNER:
        return lessons.none()
    tz = org_timezone(membership.organization)
    if date_from is not None:
        lessons = lessons.filter(starts_at__gte=_day_bounds(date_from, tz))
    if date_to is not None:
        lessons = lessons.filter(starts_at__lt=_day_bounds(date_to + dt.timedelta(days=1), tz))
    if group is not None:
        lessons = lessons.filter(group=group)
    return lessons


def dashboard_counts(*, membership: Membership) -> dict[str, int]:
    """Active students (an open enrollment in a group in scope), active groups and branches in scope."""
    groups = group_list(membership=membership).filter(is_active=True)
    students = (
        Enrollment.objects.filter(
            organization_id=membership.organization_id,
            status__in=OPEN_ENROLLMENT_STATUSES,
            group__in=groups.values("pk"),
        )
        .values("student_id")
        .distinct()
        .count()
    )
    return {
        "students": students,
        "groups": groups.count(),
        "branches": branch_list_for(membership=membership).count(),
    }


def slot_words(slot: ScheduleSlot) -> str:
    """«Вт 16:00–17:00»."""
    start = dt.datetime.combine(dt.date(2000, 1, 3), slot.start_time)
    end = start + dt.timedelta(minutes=slot.duration_minutes)
    return f"{slot.get_weekday_display()} {start:%H:%M}–{end:%H:%M}"


def schedule_words(group: Group) -> list[str]:
    """The group's weekly rule in words, one per slot (uses prefetched slots when present)."""
    return [slot_words(slot) for slot in sorted(group.slots.all(), key=lambda s: (s.weekday, s.start_time))]
