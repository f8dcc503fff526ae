from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kruzhok.attendance.selectors import enrollment_for_mark
from kruzhok.homework.models import GRADE_MAX, GRADE_MIN, HomeworkResult, HomeworkStatus
from kruzhok.lib import events
from kruzhok.school.models import Lesson, LessonStatus, Student

COMMENT_MAX = HomeworkResult._meta.get_field("comment").max_length


def _validate(*, status: str, grade: int | None, comment: str) -> None:
    if status not in HomeworkStatus.values:
        raise ValidationError(_("Выберите: сдал или не сдал."), code="invalid_status")
    if grade is not None:
        if isinstance(grade, bool) or not isinstance(grade, int) or not GRADE_MIN <= grade <= GRADE_MAX:
            raise ValidationError(_("Оценка — целое число от 1 до 5."), code="invalid_grade")
        if status != HomeworkStatus.SUBMITTED:
            raise ValidationError(
                _("Оценку можно поставить только за сданное задание."), code="grade_without_submission"
            )
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            _("Комментарий слишком длинный: не больше %(max)d символов."),
            code="comment_too_long",
            params={"max": COMMENT_MAX},
        )


def record_homework(
    *,
    lesson: Lesson,
    student: Student,
    status: str,
    grade: int | None = None,
    is_late: bool = False,
    comment: str = "",
    by=None,
) -> HomeworkResult:
    """Sets what the child did with the lesson's homework, creating or replacing the one row.

    Upsert on (lesson, student) under a row lock, so a double tap or two teachers at once end with one row,
    and subscribers learn the previous status and grade (gamification reverses exactly what changed)."""
    comment = (comment or "").strip()
    _validate(status=status, grade=grade, comment=comment)
    if status != HomeworkStatus.SUBMITTED:
        is_late = False
    if lesson.status == LessonStatus.CANCELLED:
        raise ValidationError(_("Занятие отменено — домашнего задания по нему нет."), code="lesson_cancelled")
    enrollment = enrollment_for_mark(lesson=lesson, student=student)
    if enrollment is None or student.organization_id != lesson.organization_id:
        raise ValidationError(
            _("%(student)s не занимается в группе «%(group)s» на дату занятия."),
            code="not_in_group",
            params={"student": student.full_name, "group": lesson.group.name},
        )
    with transaction.atomic():
        HomeworkResult.objects.bulk_create(
            [
                HomeworkResult(
                    organization_id=lesson.organization_id,
                    lesson=lesson,
                    student=student,
                    enrollment=enrollment,
                    status="",  # a placeholder to lock; it never outlives this transaction
                )
            ],
            ignore_conflicts=True,
        )
        result = HomeworkResult.objects.select_for_update().get(
            organization_id=lesson.organization_id, lesson=lesson, student=student
        )
        previous_status = result.status or None
        previous_grade = result.grade if previous_status else None
        result.status, result.grade, result.is_late = status, grade, bool(is_late)
        result.comment, result.recorded_by, result.enrollment = comment, by, enrollment
        result.save()
        events.publish(
            "homework.recorded",
            organization_id=lesson.organization_id,
            result_id=result.pk,
            lesson_id=lesson.pk,
            student_id=student.pk,
            enrollment_id=enrollment.pk,
            status=result.status,
            grade=result.grade,
            previous_status=previous_status,
            previous_grade=previous_grade,
        )
    return result
