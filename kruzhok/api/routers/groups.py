"""Groups: staff read the groups in their scope (owner all, manager their branches, teacher their own);
the owner creates and changes them, weekly schedule included."""

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import GroupIn, GroupOut, GroupPatch, Id
from kruzhok.school.selectors.structure import (
    branch_list,
    course_list,
    group_get,
    group_list,
    room_list,
    teacher_choices,
)
from kruzhok.school.services.structure import group_create, group_update

router = Router(tags=["groups"])


class GroupFilters(Schema):
    branch: Id | None = None
    course: Id | None = None
    teacher: Id | None = None


def _references(request: HttpRequest, data: dict) -> dict:
    """Turns the ids in a group body into this organisation's rows (404 naming the field if not)."""
    org = request.org
    if "course" in data:
        data["course"] = get_or_404(course_list(org=org), data["course"], field="course")
    if "branch" in data:
        data["branch"] = get_or_404(branch_list(org=org), data["branch"], field="branch")
    if data.get("room") is not None:
        data["room"] = get_or_404(room_list(org=org), data["room"], field="room")
    if data.get("teacher") is not None:
        data["teacher"] = get_or_404(teacher_choices(org=org), data["teacher"], field="teacher")
    return data


@router.get("", response={200: list[GroupOut], **ERROR_RESPONSES})
@paginate(Pagination)
def groups_list(request: HttpRequest, filters: Query[GroupFilters]):
    require(request, "group.view")
    groups = group_list(membership=request.membership)
    if filters.branch is not None:
        groups = groups.filter(branch_id=filters.branch)
    if filters.course is not None:
        groups = groups.filter(course_id=filters.course)
    if filters.teacher is not None:
        groups = groups.filter(teacher_id=filters.teacher)
    return groups


@router.get("/{pk}", response={200: GroupOut, **ERROR_RESPONSES})
def groups_read(request: HttpRequest, pk: Id):
    require(request, "group.view")
    return group_get(membership=request.membership, pk=pk)


@router.post("", response={201: GroupOut, **ERROR_RESPONSES})
def groups_create(request: HttpRequest, payload: GroupIn):
    require(request, "group.manage")
    group = group_create(org=request.org, **_references(request, payload.dict()))
    return Status(201, group_get(membership=request.membership, pk=group.pk))


@router.patch("/{pk}", response={200: GroupOut, **ERROR_RESPONSES})
def groups_update(request: HttpRequest, pk: Id, payload: GroupPatch):
    require(request, "group.manage")
    group = group_get(membership=request.membership, pk=pk)
    data = _references(request, payload.dict(exclude_unset=True))
    slots = data.pop("slots", None)
    group_update(group=group, slots=slots, **data)
    return group_get(membership=request.membership, pk=pk)
