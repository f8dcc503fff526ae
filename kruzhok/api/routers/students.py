"""Children: staff see the children in their scope and search them by name or phone; a parent sees
their own children, a student themselves. Owners and managers add and edit children."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require, require_any
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Id, StudentIn, StudentOut, StudentPatch, Text
from kruzhok.family.selectors import children_for_user
from kruzhok.school.selectors.people import student_get, student_list
from kruzhok.school.selectors.structure import branch_list
from kruzhok.school.services.people import student_create, student_update

router = Router(tags=["students"])

FAMILY = ("family.view", "student.self")


class StudentFilters(Schema):
    q: Text(100) = Field("", description="part of a name, a guardian's name, or a phone in any spelling")


def _branch(request: HttpRequest, data: dict) -> dict:
    if data.get("branch") is not None:
        data["branch"] = get_or_404(branch_list(org=request.org), data["branch"], field="branch")
    return data


@router.get("", response={200: list[StudentOut], **ERROR_RESPONSES})
@paginate(Pagination)
def students_list(request: HttpRequest, filters: Query[StudentFilters]):
    require_any(request, "student.view", *FAMILY)
    if role_can(request.role, "student.view"):
        return student_list(membership=request.membership, query=filters.q)
    return children_for_user(user=request.user, org=request.org)


@router.get("/{pk}", response={200: StudentOut, **ERROR_RESPONSES})
def students_read(request: HttpRequest, pk: Id):
    require_any(request, "student.view", *FAMILY)
    if role_can(request.role, "student.view"):
        return student_get(membership=request.membership, pk=pk)
    return get_or_404(children_for_user(user=request.user, org=request.org), pk)


@router.post("", response={201: StudentOut, **ERROR_RESPONSES})
def students_create(request: HttpRequest, payload: StudentIn):
    require(request, "student.manage")
    student = student_create(org=request.org, actor=request.user, **_branch(request, payload.dict()))
    return Status(201, student)


@router.patch("/{pk}", response={200: StudentOut, **ERROR_RESPONSES})
def students_update(request: HttpRequest, pk: Id, payload: StudentPatch):
    require(request, "student.manage")
    student = student_get(membership=request.membership, pk=pk)
    return student_update(student=student, **_branch(request, payload.dict(exclude_unset=True)))
