"""Attendance marks: staff read and set the marks of the lessons in their scope; a parent reads their
own children's marks (as on the family pages)."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require, require_any
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Day, Id, MarkIn, MarkOut
from kruzhok.attendance import selectors
from kruzhok.attendance.services import attendance_mark
from kruzhok.family.selectors import attendance_for_user

router = Router(tags=["attendance"])


class AttendanceFilters(Schema):
    lesson: Id | None = None
    student: Id | None = None
    date_from: Day | None = None
    date_to: Day | None = None


def _marks_for(request: HttpRequest, filters: AttendanceFilters | None = None):
    filters = filters or AttendanceFilters()
    if role_can(request.role, "attendance.view"):
        marks = selectors.attendance_list(
            membership=request.membership, date_from=filters.date_from, date_to=filters.date_to
        )
    else:
        marks = attendance_for_user(
            user=request.user, org=request.org, date_from=filters.date_from, date_to=filters.date_to
        )
    if filters.lesson is not None:
        marks = marks.filter(lesson_id=filters.lesson)
    if filters.student is not None:
        marks = marks.filter(student_id=filters.student)
    return marks


@router.get("", response={200: list[MarkOut], **ERROR_RESPONSES})
@paginate(Pagination)
def attendance_list(request: HttpRequest, filters: Query[AttendanceFilters]):
    """Marks, newest lesson first; filter by `lesson`, `student` and the lesson's days."""
    require_any(request, "attendance.view", "family.view")
    return _marks_for(request, filters)


@router.get("/{pk}", response={200: MarkOut, **ERROR_RESPONSES})
def attendance_read(request: HttpRequest, pk: Id):
    require_any(request, "attendance.view", "family.view")
    return get_or_404(_marks_for(request), pk)


@router.post("", response={200: MarkOut, **ERROR_RESPONSES})
def attendance_set(request: HttpRequest, payload: MarkIn):
    """Sets a child's mark for a lesson, replacing the earlier one if any (safe to repeat)."""
    require(request, "attendance.mark")
    lesson = get_or_404(selectors.lesson_scope(membership=request.membership), payload.lesson, field="lesson")
    student = get_or_404(
        selectors.student_scope(membership=request.membership), payload.student, field="student"
    )
    mark = attendance_mark(
        lesson=lesson, student=student, status=payload.status, actor=request.user, comment=payload.comment
    )
    return get_or_404(_marks_for(request), mark.pk)
