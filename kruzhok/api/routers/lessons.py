"""Lessons: staff see the lessons in their scope, a parent or a student those of their own children's
groups. Staff may set the topic and homework, or cancel a lesson."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require, require_any
from kruzhok.api.errors import ERROR_RESPONSES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Day, Id, LessonCancelIn, LessonOut, LessonPatch
from kruzhok.family.selectors import schedule_for_user
from kruzhok.school.selectors.structure import group_list, lesson_list
from kruzhok.school.services.lesson_changes import lesson_cancel, lesson_update_content

router = Router(tags=["lessons"])


class LessonFilters(Schema):
    date_from: Day | None = None
    date_to: Day | None = None
    group: Id | None = None


def _lessons_for(request: HttpRequest, filters: LessonFilters | None = None):
    """The caller's lessons: the staff scope, or the lessons of a family's own children."""
    filters = filters or LessonFilters()
    if role_can(request.role, "lesson.view"):
        group = None
        if filters.group is not None:
            group = group_list(membership=request.membership).filter(pk=filters.group).first()
            if group is None:
                return lesson_list(membership=request.membership).none()
        return lesson_list(
            membership=request.membership, date_from=filters.date_from, date_to=filters.date_to, group=group
        )
    lessons = schedule_for_user(
        user=request.user, org=request.org, date_from=filters.date_from, date_to=filters.date_to
    )
    if filters.group is not None:
        lessons = lessons.filter(group_id=filters.group)
    return lessons


@router.get("", response={200: list[LessonOut], **ERROR_RESPONSES})
@paginate(Pagination)
def lessons_list(request: HttpRequest, filters: Query[LessonFilters]):
    """Lessons ordered by start; `date_from`/`date_to` are days in the organisation's time zone,
    both inclusive."""
    require_any(request, "lesson.view", "family.view", "student.self")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ApiError(422, "invalid_input", fields={"date_to": _("Дата окончания раньше даты начала.")})
    return _lessons_for(request, filters)


@router.get("/{pk}", response={200: LessonOut, **ERROR_RESPONSES})
def lessons_read(request: HttpRequest, pk: Id):
    require_any(request, "lesson.view", "family.view", "student.self")
    return get_or_404(_lessons_for(request), pk)


@router.patch("/{pk}", response={200: LessonOut, **ERROR_RESPONSES})
def lessons_update(request: HttpRequest, pk: Id, payload: LessonPatch):
    """Sets the topic and/or the homework (a teacher after the lesson)."""
    require(request, "lesson.edit")
    lesson = get_or_404(lesson_list(membership=request.membership), pk)
    data = payload.dict(exclude_unset=True)
    return lesson_update_content(
        lesson=lesson, actor=request.user, topic=data.get("topic"), homework=data.get("homework")
    )


@router.post("/{pk}/cancel", response={200: LessonOut, **ERROR_RESPONSES})
def lessons_cancel(request: HttpRequest, pk: Id, payload: LessonCancelIn):
    require(request, "lesson.edit")
    lesson = get_or_404(lesson_list(membership=request.membership), pk)
    return lesson_cancel(lesson=lesson, actor=request.user, reason=payload.reason)
