"""Branches and their rooms: read by staff, changed by the owner."""

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import BranchIn, BranchOut, BranchPatch, Id, RoomIn, RoomOut, RoomPatch
from kruzhok.school.selectors.structure import branch_list, room_list
from kruzhok.school.services.structure import branch_create, branch_update, room_create, room_update

router = Router(tags=["branches"])
rooms_router = Router(tags=["rooms"])

# Staff who may see groups may see where they meet; there is no separate "branch.view" action.
VIEW = "group.view"


@router.get("", response={200: list[BranchOut], **ERROR_RESPONSES})
@paginate(Pagination)
def branches_list(request: HttpRequest):
    require(request, VIEW)
    return branch_list(org=request.org)


@router.get("/{pk}", response={200: BranchOut, **ERROR_RESPONSES})
def branches_read(request: HttpRequest, pk: Id):
    require(request, VIEW)
    return get_or_404(branch_list(org=request.org), pk)


@router.post("", response={201: BranchOut, **ERROR_RESPONSES})
def branches_create(request: HttpRequest, payload: BranchIn):
    require(request, "branch.manage")
    return Status(201, branch_create(org=request.org, name=payload.name, address=payload.address))


@router.patch("/{pk}", response={200: BranchOut, **ERROR_RESPONSES})
def branches_update(request: HttpRequest, pk: Id, payload: BranchPatch):
    require(request, "branch.manage")
    branch = get_or_404(branch_list(org=request.org), pk)
    return branch_update(branch=branch, **payload.dict(exclude_unset=True))


class RoomFilters(Schema):
    branch: Id | None = None


@rooms_router.get("", response={200: list[RoomOut], **ERROR_RESPONSES})
@paginate(Pagination)
def rooms_list(request: HttpRequest, filters: Query[RoomFilters]):
    require(request, VIEW)
    rooms = room_list(org=request.org)
    if filters.branch is not None:
        rooms = rooms.filter(branch_id=filters.branch)
    return rooms


@rooms_router.get("/{pk}", response={200: RoomOut, **ERROR_RESPONSES})
def rooms_read(request: HttpRequest, pk: Id):
    require(request, VIEW)
    return get_or_404(room_list(org=request.org), pk)


@rooms_router.post("", response={201: RoomOut, **ERROR_RESPONSES})
def rooms_create(request: HttpRequest, payload: RoomIn):
    require(request, "branch.manage")
    branch = get_or_404(branch_list(org=request.org), payload.branch, field="branch")
    room = room_create(org=request.org, branch=branch, name=payload.name, capacity=payload.capacity)
    return Status(201, room)


@rooms_router.patch("/{pk}", response={200: RoomOut, **ERROR_RESPONSES})
def rooms_update(request: HttpRequest, pk: Id, payload: RoomPatch):
    require(request, "branch.manage")
    room = get_or_404(room_list(org=request.org), pk)
    return room_update(room=room, **payload.dict(exclude_unset=True))
