from dataclasses import dataclass

from django.utils.translation import gettext as _

from kruzhok.attendance.selectors import roster_for_lesson
from kruzhok.homework.models import HomeworkResult
from kruzhok.school.models import Lesson, Student


@dataclass
class HomeworkRow:
    student: Student
    result: HomeworkResult | None


def homework_roster(*, lesson: Lesson) -> list[HomeworkRow]:
    """The children of the lesson's day with what each did with its homework (None: not checked yet)."""
    results = {
        r.student_id: r
        for r in HomeworkResult.objects.filter(organization_id=lesson.organization_id, lesson=lesson)
    }
    return [HomeworkRow(row.student, results.get(row.student.pk)) for row in roster_for_lesson(lesson=lesson)]


def homework_row(*, lesson: Lesson, student: Student) -> HomeworkRow:
    result = HomeworkResult.objects.filter(
        organization_id=lesson.organization_id, lesson=lesson, student=student
    ).first()
    return HomeworkRow(student, result)


def results_for_student(*, student: Student, limit: int = 20):
    """The child's latest checked homework, newest first, for the family pages."""
    return (
        HomeworkResult.objects.filter(organization_id=student.organization_id, student=student)
        .select_related("lesson__group__course")
        .order_by("-lesson__starts_at")[:limit]
    )


def week_line(*, org, student_id: int, since, until) -> str | None:
    """One sentence for the weekly digest: how much homework was handed in and the grades, or None."""
    results = list(
        HomeworkResult.objects.filter(
            organization=org,
            student_id=student_id,
            lesson__starts_at__gte=since,
            lesson__starts_at__lte=until,
        )
        .order_by("lesson__starts_at")
        .values_list("status", "grade")
    )
    if not results:
        return None
    done = sum(1 for status, _grade in results if status == "submitted")
    grades = [str(grade) for _status, grade in results if grade is not None]
    if grades:
        return _("Домашние задания: сдано %(done)s из %(total)s, оценки: %(grades)s.") % {
            "done": done,
            "total": len(results),
            "grades": ", ".join(grades),
        }
    return _("Домашние задания: сдано %(done)s из %(total)s.") % {"done": done, "total": len(results)}
