"""What a parent or a student may read: their own children, those children's lessons and marks.

Everything starts from `children_for_user`: a parent reaches children only through StudentGuardian
links to the Guardian row that carries their user, a student only reaches their own Student row.
Every other query here is narrowed to those children, so another family's child is never reachable,
even inside the same organisation.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark
from kruzhok.lib.dates import org_timezone as org_zone
from kruzhok.lib.dates import org_today  # noqa: F401 — re-exported for family views
from kruzhok.lib.tenancy import unscoped
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Enrollment,
    Guardian,
    Lesson,
    LessonStatus,
    Room,
    Student,
    StudentGuardian,
)

LESSON_RELATED = (
    "group",
    "group__course",
    "group__branch",
    "group__room",
    "group__room__branch",
    "group__teacher",
    "room",
    "room__branch",
    "teacher",
)


@dataclass(frozen=True)
class ScheduleItem:
    """One lesson and which of the family's children it is for."""

    lesson: Lesson
    children: tuple[Student, ...]
    day: dt.date  # the lesson's local date in the organisation's time zone

    @property
    def is_cancelled(self) -> bool:
        return self.lesson.status == LessonStatus.CANCELLED

    @property
    def is_moved(self) -> bool:
        return self.lesson.moved_from is not None

    # A lesson may override its group's room and teacher (a one-off move to another room).
    @property
    def room(self) -> Room | None:
        return self.lesson.room or self.lesson.group.room

    @property
    def branch(self) -> Branch:
        room = self.room
        return room.branch if room is not None else self.lesson.group.branch

    @property
    def teacher(self):
        return self.lesson.teacher or self.lesson.group.teacher


def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def guardian_for_user(*, user, org: Organization) -> Guardian | None:
    if not user.is_authenticated:
        return None
    return Guardian.objects.filter(organization=org, user=user).select_related("organization").first()


def guardian_for_calendar_token(*, token: str) -> Guardian | None:
    """The guardian whose feed link this is. The token is the only credential a calendar app sends,
    so the lookup spans organisations; the caller then works inside the guardian's tenant."""
    if not token or len(token) > 64:
        return None
    with unscoped():
        return Guardian.objects.select_related("organization").filter(calendar_token=token).first()


def children_for_user(*, user, org: Organization) -> QuerySet[Student]:
    """A parent's children (via StudentGuardian) or, for a student user, their own Student row."""
    if not user.is_authenticated:
        return Student.objects.none()
    linked = StudentGuardian.objects.filter(
        organization=org, guardian__organization=org, guardian__user=user
    ).values("student_id")
    return (
        Student.objects.filter(organization=org)
        .filter(Q(pk__in=linked) | Q(user=user))
        .select_related("branch")
        .order_by("first_name", "last_name", "pk")
    )


def children_for_guardian(*, guardian: Guardian) -> QuerySet[Student]:
    linked = StudentGuardian.objects.filter(
        organization_id=guardian.organization_id, guardian=guardian
    ).values("student_id")
    return (
        Student.objects.filter(organization_id=guardian.organization_id, pk__in=linked)
        .select_related("branch")
        .order_by("first_name", "last_name", "pk")
    )


def child_for_user(*, user, org: Organization, pk: int) -> Student:
    """One of the user's children, or 404 — also for another family's child in the same organisation."""
    child = children_for_user(user=user, org=org).filter(pk=pk).first()
    if child is None:
        raise Http404
    return child


def open_enrollments(*, org: Organization, children) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(organization=org, student__in=children, status__in=OPEN_ENROLLMENT_STATUSES)
        .select_related("student", "group", "group__course", "group__branch", "group__room", "group__teacher")
        .order_by("student__first_name", "group__name", "pk")
    )


def _lessons_of(
    *,
    org: Organization,
    enrollments: list[Enrollment],
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> QuerySet[Lesson]:
    zone = org_zone(org)
    # A child sees a group's lessons from the day they joined it, not the group's whole past.
    joined: dict[int, dt.date] = {}
    for enrollment in enrollments:
        started = joined.get(enrollment.group_id)
        if started is None or enrollment.started_on < started:
            joined[enrollment.group_id] = enrollment.started_on
    if not joined:
        return Lesson.objects.none()
    per_group = Q()
    for group_id, started_on in joined.items():
        per_group |= Q(group_id=group_id, starts_at__gte=_day_start(started_on, zone))
    lessons = Lesson.objects.filter(organization=org).filter(per_group)
    if date_from is not None:
        lessons = lessons.filter(starts_at__gte=_day_start(date_from, zone))
    if date_to is not None:
        lessons = lessons.filter(starts_at__lt=_day_start(date_to + dt.timedelta(days=1), zone))
    return lessons.select_related(*LESSON_RELATED).order_by("starts_at", "pk")


def schedule_for_user(*, user, org: Organization, date_from: dt.date, date_to: dt.date) -> QuerySet[Lesson]:
    """Lessons (cancelled and moved ones included) of the groups the user's children are open-enrolled
    in, between two local dates of the organisation, both inclusive."""
    enrollments = list(open_enrollments(org=org, children=children_for_user(user=user, org=org)))
    return _lessons_of(org=org, enrollments=enrollments, date_from=date_from, date_to=date_to)


def _items(
    *, org: Organization, enrollments: list[Enrollment], date_from: dt.date | None, date_to: dt.date | None
) -> list[ScheduleItem]:
    zone = org_zone(org)
    items = []
    for lesson in _lessons_of(org=org, enrollments=enrollments, date_from=date_from, date_to=date_to):
        day = timezone.localtime(lesson.starts_at, zone).date()
        kids: dict[int, Student] = {}
        for enrollment in enrollments:
            if enrollment.group_id == lesson.group_id and enrollment.started_on <= day:
                kids.setdefault(enrollment.student_id, enrollment.student)
        items.append(ScheduleItem(lesson=lesson, children=tuple(kids.values()), day=day))
    return items


def _upcoming(
    *, org: Organization, enrollments: list[Enrollment], now: dt.datetime, limit: int
) -> list[ScheduleItem]:
    today = timezone.localtime(now, org_zone(org)).date()
    # Two months ahead is past the lesson horizon; a longer gap means no lessons are planned.
    horizon = today + dt.timedelta(days=62)
    upcoming = [
        item
        for item in _items(org=org, enrollments=enrollments, date_from=today, date_to=horizon)
        if item.lesson.ends_at > now and not item.is_cancelled
    ]
    return upcoming[:limit]


def _started(*, org: Organization, enrollments: list[Enrollment], now: dt.datetime) -> QuerySet[Lesson]:
    return (
        _lessons_of(org=org, enrollments=enrollments, date_from=None, date_to=None)
        .filter(starts_at__lte=now)
        .order_by("-starts_at", "-pk")
    )


def schedule_items(
    *, org: Organization, children, date_from: dt.date | None, date_to: dt.date | None
) -> list[ScheduleItem]:
    """Like schedule_for_user, with each lesson paired with the children it is for (two siblings in
    one group share one lesson, a child sees a group's lessons from the day they joined it)."""
    enrollments = list(open_enrollments(org=org, children=children))
    return _items(org=org, enrollments=enrollments, date_from=date_from, date_to=date_to)


def next_lessons(*, org: Organization, children, now: dt.datetime, limit: int) -> list[ScheduleItem]:
    """The next lessons that will take place (not cancelled, not over yet)."""
    enrollments = list(open_enrollments(org=org, children=children))
    return _upcoming(org=org, enrollments=enrollments, now=now, limit=limit)


def _latest_homework(*, org: Organization, enrollments: list[Enrollment], now: dt.datetime) -> Lesson | None:
    return (
        _started(org=org, enrollments=enrollments, now=now)
        .filter(status=LessonStatus.SCHEDULED)
        .exclude(homework="")
        .first()
    )


def latest_homework(*, org: Organization, children, now: dt.datetime) -> Lesson | None:
    enrollments = list(open_enrollments(org=org, children=children))
    return _latest_homework(org=org, enrollments=enrollments, now=now)


def attendance_for_user(
    *,
    user,
    org: Organization,
    student: Student | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AttendanceMark]:
    """The marks of the user's children, newest lesson first; `student` narrows to one of them."""
    marks = AttendanceMark.objects.filter(organization=org, student__in=children_for_user(user=user, org=org))
    if student is not None:
        marks = marks.filter(student=student)
    zone = org_zone(org)
    if date_from is not None:
        marks = marks.filter(lesson__starts_at__gte=_day_start(date_from, zone))
    if date_to is not None:
        marks = marks.filter(lesson__starts_at__lt=_day_start(date_to + dt.timedelta(days=1), zone))
    return marks.select_related("student", "lesson", "lesson__group", "lesson__group__course").order_by(
        "-lesson__starts_at", "student__first_name", "pk"
    )


@dataclass(frozen=True)
class ChildOverview:
    child: Student
    enrollments: list[Enrollment]
    upcoming: list[ScheduleItem]
    recent_marks: list[AttendanceMark]
    latest_homework: Lesson | None
    # Lessons that have started, newest first, each with the child's mark (None when not marked).
    past: list[tuple[Lesson, AttendanceMark | None]]


def child_overview(
    *,
    org: Organization,
    child: Student,
    now: dt.datetime,
    upcoming_limit: int = 1,
    marks_limit: int = 5,
    past_limit: int = 0,
) -> ChildOverview:
    """Everything a parent sees about one child. The caller has already checked the child is theirs
    (children_for_user / child_for_user)."""
    enrollments = list(open_enrollments(org=org, children=[child]))
    marks = (
        AttendanceMark.objects.filter(organization=org, student=child)
        .select_related("lesson", "lesson__group", "lesson__group__course")
        .order_by("-lesson__starts_at", "-pk")
    )
    past: list[tuple[Lesson, AttendanceMark | None]] = []
    if past_limit:
        lessons = list(_started(org=org, enrollments=enrollments, now=now)[:past_limit])
        by_lesson = {mark.lesson_id: mark for mark in marks.filter(lesson__in=lessons)}
        past = [(lesson, by_lesson.get(lesson.pk)) for lesson in lessons]
    return ChildOverview(
        child=child,
        enrollments=enrollments,
        upcoming=_upcoming(org=org, enrollments=enrollments, now=now, limit=upcoming_limit),
        recent_marks=list(marks[:marks_limit]),
        latest_homework=_latest_homework(org=org, enrollments=enrollments, now=now),
        past=past,
    )
