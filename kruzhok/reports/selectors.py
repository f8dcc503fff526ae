"""Reads for reports: the runs and schedules a member may see, and the figures of the attendance
reports (per teacher for payroll, the journal per group). Every read goes through the school and
attendance selectors that already scope by role, so a report shows exactly what its author may see."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kruzhok.accounts.models import Membership, Role
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.lib.dates import org_timezone
from kruzhok.reports.models import ReportRun, ReportSchedule
from kruzhok.reports.params import month_end
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, Group, Lesson, LessonStatus
from kruzhok.school.selectors.structure import group_list, lesson_list

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
# The journal's letters, as paper registers in Russian centres write them.
JOURNAL_LETTERS = {
    AttendanceStatus.PRESENT: "+",
    AttendanceStatus.LATE: "+",
    AttendanceStatus.ABSENT: "н",
    AttendanceStatus.EXCUSED: "б",
}


# ---------------------------------------------------------------- runs and schedules


def run_list(*, membership: Membership) -> QuerySet[ReportRun]:
    """The owner sees every run of the organisation; a manager only their own (a run shows what its
    author may see, which may be more than another manager's branches)."""
    runs = ReportRun.objects.filter(organization_id=membership.organization_id).defer("content")
    if membership.role == Role.OWNER:
        return runs.select_related("created_by")
    if membership.role == Role.MANAGER:
        return runs.filter(created_by=membership.user_id).select_related("created_by")
    return runs.none()


def run_get(*, membership: Membership, pk) -> ReportRun:
    run = run_list(membership=membership).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def run_content(*, run: ReportRun) -> bytes:
    return bytes(
        ReportRun.objects.filter(organization_id=run.organization_id, pk=run.pk).values_list(
            "content", flat=True
        )[0]
        or b""
    )


def schedule_list(*, membership: Membership) -> QuerySet[ReportSchedule]:
    schedules = ReportSchedule.objects.filter(organization_id=membership.organization_id)
    if membership.role == Role.MANAGER:
        schedules = schedules.filter(created_by=membership.user_id)
    elif membership.role != Role.OWNER:
        return schedules.none()
    return schedules.prefetch_related("recipients__user").select_related("created_by")


def schedule_get(*, membership: Membership, pk) -> ReportSchedule:
    schedule = schedule_list(membership=membership).filter(pk=pk).first()
    if schedule is None:
        raise Http404
    return schedule


def recipient_choices(*, membership: Membership) -> QuerySet[Membership]:
    """Staff who may receive a report: the organisation's active owners and managers."""
    return (
        Membership.objects.filter(
            organization_id=membership.organization_id,
            is_active=True,
            role__in=(Role.OWNER, Role.MANAGER),
        )
        .select_related("user")
        .order_by("role", "user__last_name", "user__username")
    )


# ---------------------------------------------------------------- period helpers


def month_bounds(org, first: dt.date, last: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the day after the month `last`) in the centre's time zone."""
    tz = org_timezone(org)
    end = month_end(last or first) + dt.timedelta(days=1)
    return dt.datetime.combine(first, dt.time.min, tzinfo=tz), dt.datetime.combine(
        end, dt.time.min, tzinfo=tz
    )


def person_name(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


# ---------------------------------------------------------------- attendance per teacher (payroll)


@dataclass
class PayrollRow:
    teacher: str
    month: dt.date
    held: int = 0
    cancelled: int = 0
    minutes: int = 0
    present: int = 0

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)


def teacher_payroll_rows(
    *, membership: Membership, month_from: dt.date, month_to: dt.date, branch_id: int | None = None
) -> list[PayrollRow]:
    """Per teacher and month: lessons held (not cancelled, already over), cancelled, hours taught and
    children marked present (or late). The teacher is who taught the lesson (a substitute counts)."""
    org = membership.organization
    tz = org_timezone(org)
    start, end = month_bounds(org, month_from, month_to)
    now = timezone.now()
    lessons = lesson_list(membership=membership).filter(starts_at__gte=start, starts_at__lt=end)
    if branch_id is not None:
        lessons = lessons.filter(group__branch_id=branch_id)
    lessons = lessons.select_related("teacher", "group__teacher").order_by()
    present = dict(
        AttendanceMark.objects.filter(
            organization_id=org.pk, lesson__in=lessons.values("pk"), status__in=ATTENDED
        )
        .values_list("lesson_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows: dict[tuple, PayrollRow] = {}
    for lesson in lessons:
        teacher = lesson.teacher or lesson.group.teacher
        month = timezone.localtime(lesson.starts_at, tz).date().replace(day=1)
        key = (person_name(teacher), getattr(teacher, "pk", 0), month)
        row = rows.setdefault(key, PayrollRow(teacher=key[0], month=month))
        if lesson.status == LessonStatus.CANCELLED:
            row.cancelled += 1
        elif lesson.ends_at <= now:
            row.held += 1
            row.minutes += int((lesson.ends_at - lesson.starts_at).total_seconds() // 60)
            row.present += present.get(lesson.pk, 0)
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1], k[2]))]


# ---------------------------------------------------------------- the journal per group


@dataclass
class JournalChild:
    name: str
    cells: list[str] = field(default_factory=list)

    @property
    def attended(self) -> int:
        return sum(1 for c in self.cells if c == "+")

    @property
    def missed(self) -> int:
        return sum(1 for c in self.cells if c in ("н", "б"))


@dataclass
class JournalSheet:
    group: Group
    month: dt.date
    dates: list[dt.datetime]
    children: list[JournalChild]

    @property
    def per_lesson(self) -> list[int]:
        return [sum(1 for child in self.children if child.cells[i] == "+") for i in range(len(self.dates))]


def journal_groups(
    *, membership: Membership, group_id: int | None = None, branch_id: int | None = None
) -> QuerySet[Group]:
    groups = group_list(membership=membership).order_by("branch__name", "name")
    if group_id is not None:
        groups = groups.filter(pk=group_id)
    if branch_id is not None:
        groups = groups.filter(branch_id=branch_id)
    return groups


def journal_sheet(*, group: Group, month: dt.date) -> JournalSheet | None:
    """The month's page of a group's journal: children in the group at any time of the month, one
    column per lesson held (cancelled ones are left out, as on paper). None when nothing happened."""
    org = group.organization
    tz = org_timezone(org)
    start, end = month_bounds(org, month)
    lessons = list(
        Lesson.objects.filter(organization_id=org.pk, group=group, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=LessonStatus.CANCELLED)
        .order_by("starts_at")
    )
    last = month_end(month)
    enrollments = (
        Enrollment.objects.filter(organization_id=org.pk, group=group, started_on__lte=last)
        .filter(Q(ended_on__gte=month) | Q(ended_on__isnull=True, status__in=OPEN_ENROLLMENT_STATUSES))
        .select_related("student")
        .order_by("student__last_name", "student__first_name", "student_id")
    )
    students = {}
    for enrollment in enrollments:
        students.setdefault(enrollment.student_id, enrollment.student)
    if not lessons and not students:
        return None
    marks = {
        (m.lesson_id, m.student_id): m.status
        for m in AttendanceMark.objects.filter(organization_id=org.pk, lesson__in=[x.pk for x in lessons])
    }
    children = [
        JournalChild(
            name=student.full_name,
            cells=[JOURNAL_LETTERS.get(marks.get((lesson.pk, sid)), "") for lesson in lessons],
        )
        for sid, student in students.items()
    ]
    dates = [timezone.localtime(lesson.starts_at, tz) for lesson in lessons]
    return JournalSheet(group=group, month=month, dates=dates, children=children)
