"""Make-up lessons (отработки): a lesson missed for a good reason is attended later in another group
of the same course, under the centre's rules (BillingSettings: whether an excused absence gives a
make-up, within how many days, in any branch or only the child's own).

Only the booking is stored. Whether a make-up is still available, used or expired is read from the
attendance marks and the dates, so nothing can drift: the missed mark is `excused`, the visit is the
child's mark on the booked lesson, and the window ends `makeup_days` after the missed lesson. The
visit writes off the missed lesson (services.writeoff_sync_mark), never a second one.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kruzhok.accounts.models import Membership
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.billing.models import MakeupLesson, MakeupStatus
from kruzhok.billing.services import billing_settings_for, writeoff_sync_mark
from kruzhok.lib.dates import org_timezone, org_today
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, Lesson, LessonStatus, Student
from kruzhok.school.selectors.people import student_list

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
OPTIONS_MAX = 60


def _day(moment: dt.datetime, org) -> dt.date:
    return timezone.localtime(moment, org_timezone(org)).date()


def _day_start(day: dt.date, org) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=org_timezone(org))


def makeup_expires_on(*, mark: AttendanceMark, org) -> dt.date:
    return _day(mark.lesson.starts_at, org) + dt.timedelta(days=billing_settings_for(org=org).makeup_days)


# ---------------------------------------------------------------- reads


def _missed_marks(*, org) -> QuerySet[AttendanceMark]:
    """Excused absences from the child's own group on lessons that took place."""
    return (
        AttendanceMark.objects.filter(organization_id=org.pk, status=AttendanceStatus.EXCUSED)
        .filter(enrollment__group_id=F("lesson__group_id"))
        .exclude(lesson__status=LessonStatus.CANCELLED)
        .select_related("lesson__group__course", "lesson__group__branch", "student")
    )


def makeups_available(*, org, students, today: dt.date | None = None) -> list[AttendanceMark]:
    """Missed lessons of `students` that may still be made up: excused, within the centre's window,
    not booked yet. Each mark gets `expires_on`. Empty when the centre gives no make-ups."""
    rules = billing_settings_for(org=org)
    if not rules.makeup_for_excused:
        return []
    today = today or org_today(org)
    earliest = today - dt.timedelta(days=rules.makeup_days)
    marks = (
        _missed_marks(org=org)
        .filter(student__in=students, lesson__starts_at__gte=_day_start(earliest, org))
        .exclude(makeups__status=MakeupStatus.BOOKED)
        .order_by("lesson__starts_at")
    )
    rows = []
    for mark in marks[:500]:
        mark.expires_on = _day(mark.lesson.starts_at, org) + dt.timedelta(days=rules.makeup_days)
        if mark.expires_on >= today:
            rows.append(mark)
    return rows


STATE_LABELS = {
    "upcoming": _("Предстоит"),
    "used": _("Отработано"),
    "missed": _("Не пришёл"),
    "cancelled": _("Отменена"),
}


@dataclass
class MakeupRow:
    booking: MakeupLesson
    state: str  # "upcoming" | "used" | "missed" | "cancelled"
    visit_mark: AttendanceMark | None

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])


def makeup_list(*, org, students=None, lesson: Lesson | None = None) -> QuerySet[MakeupLesson]:
    """Bookings, the latest make-up lesson first, with what a row shows already joined."""
    qs = MakeupLesson.objects.filter(organization_id=org.pk).select_related(
        "student",
        "lesson__group__course",
        "lesson__group__branch",
        "missed_mark__lesson__group__course",
        "missed_mark__lesson__group__branch",
    )
    if students is not None:
        qs = qs.filter(student__in=students)
    if lesson is not None:
        qs = qs.filter(lesson=lesson)
    return qs.order_by("-lesson__starts_at", "-id")


def makeup_rows(*, org, students=None, lesson: Lesson | None = None, limit: int = 200) -> list[MakeupRow]:
    """Bookings with their state read from the visit's mark: used (came), missed (did not come, or
    the lesson passed unmarked), upcoming, cancelled."""
    return makeup_rows_for(org=org, bookings=makeup_list(org=org, students=students, lesson=lesson)[:limit])


def makeup_rows_for(*, org, bookings) -> list[MakeupRow]:
    """The state of each of `bookings` (rows of makeup_list), with one query for the visit marks."""
    bookings = list(bookings)
    visits = {
        (m.lesson_id, m.student_id): m
        for m in AttendanceMark.objects.filter(
            organization_id=org.pk, lesson_id__in=[b.lesson_id for b in bookings]
        )
    }
    now = timezone.now()
    rows = []
    for booking in bookings:
        visit = visits.get((booking.lesson_id, booking.student_id))
        if booking.status == MakeupStatus.CANCELLED:
            state = "cancelled"
        elif visit is not None and visit.status in ATTENDED:
            state = "used"
        elif visit is not None or booking.lesson.ends_at < now:
            state = "missed"
        else:
            state = "upcoming"
        rows.append(MakeupRow(booking, state, visit))
    return rows


def makeup_scope(*, membership: Membership) -> QuerySet[MakeupLesson]:
    """Bookings of the children the member works with (a manager: their branches')."""
    return MakeupLesson.objects.filter(
        organization_id=membership.organization_id,
        student__in=student_list(membership=membership).values("pk"),
    )


def makeup_options(*, mark: AttendanceMark, org) -> QuerySet[Lesson]:
    """Lessons the missed one may be made up in: other groups of the same course (of the same branch
    if the centre says so), not cancelled, from now until the window closes."""
    rules = billing_settings_for(org=org)
    expires_on = _day(mark.lesson.starts_at, org) + dt.timedelta(days=rules.makeup_days)
    group = mark.lesson.group
    qs = (
        Lesson.objects.filter(
            organization_id=org.pk,
            group__course_id=group.course_id,
            starts_at__gte=max(timezone.now() - dt.timedelta(hours=12), mark.lesson.starts_at),
            starts_at__lt=_day_start(expires_on + dt.timedelta(days=1), org),
        )
        .exclude(group_id=group.pk)
        .exclude(status=LessonStatus.CANCELLED)
        .select_related("group__branch", "group__course", "teacher")
        .order_by("starts_at")
    )
    if rules.makeup_same_branch:
        qs = qs.filter(group__branch_id=group.branch_id)
    return qs


def guests_of_lesson(lesson: Lesson) -> list[tuple[Student, Enrollment]]:
    """The attendance journal's hook (attendance.selectors.ROSTER_GUESTS): children booked into this
    lesson for a make-up, each with the enrollment of the group they missed a lesson in."""
    bookings = MakeupLesson.objects.filter(
        organization_id=lesson.organization_id, lesson_id=lesson.pk, status=MakeupStatus.BOOKED
    ).select_related("student", "missed_mark__enrollment")
    return [(b.student, b.missed_mark.enrollment) for b in bookings]


# ---------------------------------------------------------------- writes


def makeup_book(
    *, org, actor, mark: AttendanceMark, lesson: Lesson, today: dt.date | None = None
) -> MakeupLesson:
    """Books the make-up of the missed lesson `mark` into `lesson`. A double submit books once.
    `today` (default: the centre's today) is for back-filling history, e.g. the demo network."""
    if mark.organization_id != org.pk or lesson.organization_id != org.pk:
        raise ValidationError(_("Объект из другой организации."), code="wrong_org")
    rules = billing_settings_for(org=org)
    if not rules.makeup_for_excused:
        raise ValidationError(_("В центре нет отработок: это правило выключено."), code="makeup_disabled")
    if mark.status != AttendanceStatus.EXCUSED:
        raise ValidationError(
            _("Отработка положена только за пропуск по уважительной причине."), code="not_excused"
        )
    missed_group = mark.lesson.group
    if mark.enrollment.group_id != missed_group.pk:
        raise ValidationError(_("Пропущенную отработку нельзя отработать ещё раз."), code="not_own_group")
    if mark.lesson.status == LessonStatus.CANCELLED:
        raise ValidationError(_("Отменённое занятие не нужно отрабатывать."), code="lesson_cancelled")
    expires_on = _day(mark.lesson.starts_at, org) + dt.timedelta(days=rules.makeup_days)
    if expires_on < (today or org_today(org)):
        raise ValidationError(
            _("Срок отработки истёк %(date)s."),
            code="makeup_expired",
            params={"date": f"{expires_on:%d.%m.%Y}"},
        )
    if lesson.group.course_id != missed_group.course_id:
        raise ValidationError(_("Отработка — только на занятии того же курса."), code="wrong_course")
    if lesson.group_id == missed_group.pk:
        raise ValidationError(_("Выберите занятие другой группы."), code="same_group")
    if rules.makeup_same_branch and lesson.group.branch_id != missed_group.branch_id:
        raise ValidationError(_("Отработка — только в группах своего филиала."), code="wrong_branch")
    if lesson.status == LessonStatus.CANCELLED:
        raise ValidationError(_("Это занятие отменено."), code="target_cancelled")
    if lesson.starts_at < mark.lesson.starts_at or _day(lesson.starts_at, org) > expires_on:
        raise ValidationError(
            _("Выберите занятие между пропуском и %(date)s."),
            code="outside_window",
            params={"date": f"{expires_on:%d.%m.%Y}"},
        )
    if Enrollment.objects.filter(
        organization_id=org.pk,
        student_id=mark.student_id,
        group_id=lesson.group_id,
        status__in=OPEN_ENROLLMENT_STATUSES,
    ).exists():
        raise ValidationError(_("Ребёнок и так занимается в этой группе."), code="already_in_group")
    try:
        with transaction.atomic():
            if MakeupLesson.objects.filter(
                organization_id=org.pk, missed_mark=mark, status=MakeupStatus.BOOKED
            ).exists():
                raise ValidationError(_("Это занятие уже записано на отработку."), code="already_booked")
            booking = MakeupLesson(
                organization_id=org.pk,
                student_id=mark.student_id,
                missed_mark=mark,
                lesson=lesson,
                expires_on=expires_on,
                booked_by=actor,
            )
            booking.full_clean(
                exclude=["organization", "student", "missed_mark", "lesson", "booked_by"],
                validate_unique=False,
                validate_constraints=False,
            )
            booking.save()
    except IntegrityError:
        # The unique live booking per missed lesson: a racing double submit booked it first.
        existing = MakeupLesson.objects.filter(
            organization_id=org.pk, missed_mark=mark, status=MakeupStatus.BOOKED
        ).first()
        if existing is None or existing.lesson_id != lesson.pk:
            raise ValidationError(
                _("Это занятие уже записано на отработку."), code="already_booked"
            ) from None
        return existing
    return booking


def makeup_cancel(*, makeup: MakeupLesson, actor) -> MakeupLesson:
    """Cancels a booking that was not used; the missed lesson may be booked again within its window.
    A used make-up stays: its write-off is the missed lesson's."""
    with transaction.atomic():
        current = MakeupLesson.objects.select_for_update().get(
            organization_id=makeup.organization_id, pk=makeup.pk
        )
        if current.status == MakeupStatus.CANCELLED:
            return current
        visit = AttendanceMark.objects.filter(
            organization_id=current.organization_id,
            lesson_id=current.lesson_id,
            student_id=current.student_id,
        ).first()
        if visit is not None and visit.status in ATTENDED:
            raise ValidationError(
                _("Ребёнок уже пришёл на отработку — её нельзя отменить. Исправьте отметку в журнале."),
                code="already_used",
            )
        current.status = MakeupStatus.CANCELLED
        current.save(update_fields=["status", "updated_at"])
        if visit is not None:
            # Keeps the ledger in line with the visit mark (an open write-off, if any, is reversed).
            writeoff_sync_mark(mark_id=visit.pk, organization_id=current.organization_id)
    makeup.status = current.status
    return current
