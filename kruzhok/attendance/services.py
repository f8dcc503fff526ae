from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kruzhok.attendance import selectors
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.lib import events
from kruzhok.school.models import Lesson, LessonStatus, Student
from kruzhok.school.services.lesson_changes import lesson_attendance_taken

COMMENT_MAX = AttendanceMark._meta.get_field("comment").max_length


def attendance_mark(
    *, lesson: Lesson, student: Student, status: str, actor, comment: str = ""
) -> AttendanceMark:
    """Sets the child's mark for the lesson, creating or replacing it.

    One INSERT … ON CONFLICT DO UPDATE on (lesson, student): two people tapping at the same moment
    both succeed and the last write wins, and the unique constraint makes a second row impossible."""
    if status not in AttendanceStatus.values:
        raise ValidationError(
            _("Выберите отметку: был, опоздал, не был или уважительная причина."), code="invalid_status"
        )
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            _("Комментарий слишком длинный: не больше %(max)d символов."),
            code="comment_too_long",
            params={"max": COMMENT_MAX},
        )
    # A fresh read: the caller's copy may predate a cancel made in another tab.
    current_status = (
        Lesson.objects.filter(organization_id=lesson.organization_id, pk=lesson.pk)
        .values_list("status", flat=True)
        .first()
    )
    if current_status == LessonStatus.CANCELLED:
        raise ValidationError(_("Занятие отменено — отметить посещаемость нельзя."), code="lesson_cancelled")
    enrollment = None
    if student.organization_id == lesson.organization_id:
        enrollment = selectors.enrollment_for_mark(lesson=lesson, student=student)
    if enrollment is None:
        raise ValidationError(
            _("%(student)s не занимается в группе «%(group)s» на дату занятия."),
            code="not_in_group",
            params={"student": student.full_name, "group": lesson.group.name},
        )

    with transaction.atomic():
        mark = AttendanceMark(
            organization_id=lesson.organization_id,
            lesson=lesson,
            student=student,
            enrollment=enrollment,
            status=status,
            comment=comment,
            marked_by=actor,
        )
        # Related rows were just resolved; the upsert itself enforces uniqueness.
        mark.full_clean(
            exclude=["organization", "lesson", "student", "enrollment", "marked_by"],
            validate_unique=False,
            validate_constraints=False,
        )
        AttendanceMark.objects.bulk_create(
            [mark],
            update_conflicts=True,
            unique_fields=["lesson", "student"],
            update_fields=["status", "comment", "marked_by", "updated_at"],
        )
        # After the upsert, so the lesson row is locked only briefly; refuses if a cancel won the race.
        lesson_attendance_taken(lesson=lesson)
        saved = AttendanceMark.objects.select_related("student", "marked_by").get(
            organization_id=lesson.organization_id, lesson=lesson, student=student
        )
        events.publish(
            "attendance.marked",
            organization_id=lesson.organization_id,
            lesson_id=lesson.pk,
            student_id=student.pk,
            enrollment_id=saved.enrollment_id,
            status=saved.status,
        )
    return saved
