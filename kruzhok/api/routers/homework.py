"""Homework results: staff read and record them for the lessons in their scope; a parent reads their own
children's (as on the child's page)."""

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require, require_any
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Id, InSchema, LessonRef, StudentRef, Text
from kruzhok.attendance import selectors as attendance_selectors
from kruzhok.family.selectors import children_for_user
from kruzhok.homework.models import HomeworkResult
from kruzhok.homework.services import record_homework

router = Router(tags=["homework"])

Grade = Annotated[int, Field(ge=1, le=5)]


class HomeworkOut(Schema):
    id: int
    lesson: LessonRef
    student: StudentRef
    status: Literal["submitted", "missed"]
    is_late: bool
    grade: int | None
    comment: str
    updated_at: dt.datetime


class HomeworkIn(InSchema):
    lesson: Id
    student: Id
    status: Literal["submitted", "missed"]
    is_late: bool = False
    grade: Grade | None = None
    comment: Text(300) = ""


class HomeworkFilters(Schema):
    lesson: Id | None = None
    student: Id | None = None


def _results_for(request: HttpRequest, filters: HomeworkFilters | None = None):
    filters = filters or HomeworkFilters()
    results = HomeworkResult.objects.filter(organization=request.org)
    if role_can(request.role, "attendance.view"):
        results = results.filter(lesson__in=attendance_selectors.lesson_scope(membership=request.membership))
    else:
        results = results.filter(student__in=children_for_user(user=request.user, org=request.org))
    if filters.lesson is not None:
        results = results.filter(lesson_id=filters.lesson)
    if filters.student is not None:
        results = results.filter(student_id=filters.student)
    return results.select_related("student", "lesson", "lesson__group", "lesson__group__course").order_by(
        "-lesson__starts_at", "student_id", "pk"
    )


@router.get("", response={200: list[HomeworkOut], **ERROR_RESPONSES})
@paginate(Pagination)
def homework_list(request: HttpRequest, filters: Query[HomeworkFilters]):
    """Homework results, newest lesson first; filter by `lesson` and `student`."""
    require_any(request, "attendance.view", "family.view")
    return _results_for(request, filters)


@router.post("", response={200: HomeworkOut, **ERROR_RESPONSES})
def homework_record(request: HttpRequest, payload: HomeworkIn):
    """Records what a child did with a lesson's homework, replacing the earlier result (safe to repeat)."""
    require(request, "attendance.mark")
    lesson = get_or_404(
        attendance_selectors.lesson_scope(membership=request.membership), payload.lesson, field="lesson"
    )
    student = get_or_404(
        attendance_selectors.student_scope(membership=request.membership), payload.student, field="student"
    )
    result = record_homework(
        lesson=lesson,
        student=student,
        status=payload.status,
        is_late=payload.is_late,
        grade=payload.grade,
        comment=payload.comment,
        by=request.user,
    )
    return get_or_404(_results_for(request), result.pk)
