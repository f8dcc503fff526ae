"""Reads for the teacher's journal: whose lessons a member may see, a lesson's roster and marks,
a day's lessons and a child's attendance history."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.lib.dates import org_timezone, org_today
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Enrollment,
    Group,
    Lesson,
    Room,
    Student,
)
from kruzhok.school.selectors.people import enrolled_students_on


def lesson_local_date(lesson: Lesson) -> dt.date:
    """The calendar day of the lesson where the centre is, which decides who was in the group."""
    return timezone.localdate(lesson.starts_at, timezone=org_timezone(lesson.organization))


def day_bounds(org: Organization, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = org_timezone(org)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


# --- scope: which groups, lessons and children a member works with -----------------------------


def _group_scope_q(membership: Membership, prefix: str = "") -> Q | None:
    """None means "everything in the organisation"; an empty Q set is expressed as pk__in=[]."""
    role = membership.role
    if role == Role.OWNER:
        return None
    if role == Role.MANAGER:
        return Q(**{f"{prefix}branch__managers": membership.user_id})
    if role == Role.TEACHER:
        return Q(**{f"{prefix}teacher": membership.user_id})
    return Q(pk__in=[])


def lesson_scope(*, membership: Membership) -> QuerySet[Lesson]:
    """Lessons the member may open: owner all, manager their branches', teacher the lessons of their
    groups plus the ones they teach as a substitute."""
    lessons = Lesson.objects.filter(organization_id=membership.organization_id).select_related(
        "organization", "group", "group__course", "group__branch", "room", "teacher"
    )
    role = membership.role
    if role == Role.OWNER:
        return lessons
    if role == Role.MANAGER:
        return lessons.filter(group__branch__in=_managed_branch_ids(membership))
    if role == Role.TEACHER:
        return lessons.filter(Q(group__teacher=membership.user_id) | Q(teacher=membership.user_id))
    return lessons.none()


def _managed_branch_ids(membership: Membership) -> QuerySet:
    return Branch.objects.filter(
        organization_id=membership.organization_id, managers=membership.user_id
    ).values("pk")


def lesson_get(*, membership: Membership, pk: int) -> Lesson:
    lesson = lesson_scope(membership=membership).filter(pk=pk).first()
    if lesson is None:
        raise Http404
    return lesson


def branch_choices(*, membership: Membership) -> QuerySet[Branch]:
    branches = Branch.objects.filter(organization_id=membership.organization_id)
    if membership.role == Role.OWNER:
        return branches
    if membership.role == Role.MANAGER:
        return branches.filter(managers=membership.user_id)
    return branches.none()


def room_choices(*, lesson: Lesson) -> QuerySet[Room]:
    return Room.objects.filter(
        organization_id=lesson.organization_id, branch_id=lesson.group.branch_id
    ).select_related("branch")


# --- rosters ---------------------------------------------------------------------------------


def _open_on_q(on_date: dt.date) -> Q:
    # The same rule as school's enrolled_students_on(), for a subquery over many groups at once:
    # started by that day, and ended_on (the last day in the group) not before it.
    return Q(started_on__lte=on_date) & (
        Q(ended_on__gte=on_date) | Q(ended_on__isnull=True, status__in=OPEN_ENROLLMENT_STATUSES)
    )


def enrollments_open_on(*, group: Group, on_date: dt.date) -> QuerySet[Enrollment]:
    return enrolled_students_on(group=group, on_date=on_date).order_by(
        "student__last_name", "student__first_name", "student_id", "-started_on"
    )


# Children who visit a lesson outside their own group (billing's make-up lessons). A higher app
# appends a function lesson -> [(student, their own enrollment)] in its AppConfig.ready(), so the
# journal shows and marks them without attendance importing that app.
ROSTER_GUESTS: list = []


def _guests(lesson: Lesson) -> list[tuple[Student, Enrollment]]:
    return [pair for provider in ROSTER_GUESTS for pair in provider(lesson)]


def enrollment_for_mark(*, lesson: Lesson, student: Student) -> Enrollment | None:
    """The enrollment a mark belongs to: the child's enrollment in the lesson's group open that day
    (or, for a guest of the lesson, the enrollment the guest provider names)."""
    enrollment = (
        enrollments_open_on(group=lesson.group, on_date=lesson_local_date(lesson))
        .filter(student=student)
        .order_by("-started_on", "-pk")
        .first()
    )
    if enrollment is None:
        enrollment = next((e for s, e in _guests(lesson) if s.pk == student.pk), None)
    return enrollment


@dataclass
class RosterRow:
    student: Student
    enrollment: Enrollment
    mark: AttendanceMark | None
    guest: bool = False


def roster_for_lesson(*, lesson: Lesson) -> list[RosterRow]:
    """One row per child who was in the group on the lesson's day, with their mark if any."""
    marks = {m.student_id: m for m in marks_for_lesson(lesson=lesson)}
    rows: list[RosterRow] = []
    seen: set[int] = set()
    for enrollment in enrollments_open_on(group=lesson.group, on_date=lesson_local_date(lesson)):
        if enrollment.student_id in seen:
            continue  # a child transferred out and back the same day appears once
        seen.add(enrollment.student_id)
        rows.append(RosterRow(enrollment.student, enrollment, marks.get(enrollment.student_id)))
    for student, enrollment in _guests(lesson):
        if student.pk not in seen:
            seen.add(student.pk)
            rows.append(RosterRow(student, enrollment, marks.get(student.pk), guest=True))
    return rows


def roster_row(*, lesson: Lesson, student: Student) -> RosterRow:
    """The row of one child, for the partial swapped in after a tap."""
    enrollment = enrollment_for_mark(lesson=lesson, student=student)
    mark = marks_for_lesson(lesson=lesson).filter(student=student).first()
    guest = enrollment is not None and enrollment.group_id != lesson.group_id
    return RosterRow(student, enrollment, mark, guest=guest)


# --- marks -----------------------------------------------------------------------------------


def marks_for_lesson(*, lesson: Lesson) -> QuerySet[AttendanceMark]:
    return AttendanceMark.objects.filter(
        organization_id=lesson.organization_id, lesson=lesson
    ).select_related("student", "marked_by")


def attendance_list(
    *,
    membership: Membership,
    lesson: Lesson | None = None,
    student: Student | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AttendanceMark]:
    """Marks on the lessons the member may see, newest lesson first; dates are the centre's days."""
    marks = (
        AttendanceMark.objects.filter(
            organization_id=membership.organization_id,
            lesson__in=lesson_scope(membership=membership).values("pk"),
        )
        .select_related("lesson", "lesson__group", "lesson__group__course", "student", "marked_by")
        .order_by("-lesson__starts_at", "student__last_name", "student__first_name")
    )
    if lesson is not None:
        marks = marks.filter(lesson=lesson)
    if student is not None:
        marks = marks.filter(student=student)
    if date_from is not None:
        marks = marks.filter(lesson__starts_at__gte=day_bounds(membership.organization, date_from)[0])
    if date_to is not None:
        marks = marks.filter(lesson__starts_at__lt=day_bounds(membership.organization, date_to)[1])
    return marks


def student_scope(*, membership: Membership) -> QuerySet[Student]:
    """Children whose journal the member may read: enrolled (ever) in a group in their scope."""
    students = Student.objects.filter(organization_id=membership.organization_id)
    if membership.role == Role.OWNER:
        return students
    if membership.role == Role.TEACHER:
        # A substitute teacher also reads the children of the groups they stood in for.
        substituted = Lesson.objects.filter(
            organization_id=membership.organization_id, teacher=membership.user_id
        ).values("group_id")
        q = Q(enrollments__group__teacher=membership.user_id) | Q(enrollments__group__in=substituted)
    else:
        q = _group_scope_q(membership, prefix="enrollments__group__")
    return students.filter(q).distinct()


def student_get(*, membership: Membership, pk: int) -> Student:
    student = student_scope(membership=membership).filter(pk=pk).first()
    if student is None:
        raise Http404
    return student


def student_attendance_history(*, membership: Membership, student: Student) -> QuerySet[AttendanceMark]:
    return attendance_list(membership=membership, student=student)


def history_summary(*, marks: QuerySet[AttendanceMark]) -> list[dict]:
    """Per group: how many marks of each kind, and the share of lessons attended (present or late)."""
    rows = (
        marks.order_by()
        .values("lesson__group_id", "lesson__group__name")
        .annotate(
            total=Count("pk"),
            **{status: Count("pk", filter=Q(status=status)) for status in AttendanceStatus.values},
        )
        .order_by("lesson__group__name")
    )
    summary = []
    for row in rows:
        attended = row[AttendanceStatus.PRESENT] + row[AttendanceStatus.LATE]
        summary.append(
            {
                "group_name": row["lesson__group__name"],
                "total": row["total"],
                "present": row[AttendanceStatus.PRESENT],
                "late": row[AttendanceStatus.LATE],
                "absent": row[AttendanceStatus.ABSENT],
                "excused": row[AttendanceStatus.EXCUSED],
                "rate": round(100 * attended / row["total"]) if row["total"] else 0,
            }
        )
    return summary


# --- the day's lessons -----------------------------------------------------------------------


def today_lessons(
    *, membership: Membership, day: dt.date | None = None, branch: Branch | None = None
) -> QuerySet[Lesson]:
    """The member's lessons on one day of the centre (today by default), each annotated with
    `marked_count` and `roster_count` (children in the group that day)."""
    org = membership.organization
    day = day or org_today(org)
    start, end = day_bounds(org, day)
    roster = (
        Enrollment.objects.filter(organization_id=org.pk, group=OuterRef("group_id"))
        .filter(_open_on_q(day))
        .order_by()
        .values("group")
        .annotate(n=Count("student_id", distinct=True))
        .values("n")
    )
    lessons = (
        lesson_scope(membership=membership)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .annotate(
            marked_count=Count("marks", distinct=True),
            roster_count=Coalesce(Subquery(roster, output_field=IntegerField()), Value(0)),
        )
        .order_by("starts_at", "group__name")
    )
    if branch is not None:
        lessons = lessons.filter(group__branch=branch)
    return lessons
