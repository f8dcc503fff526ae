"""Guardians (the adults responsible for a child): owners and managers only.

A guardian is always created for a child: a manager sees guardians through the children of their
branches, so a guardian linked to no child would vanish from their view the moment it was made.
"""

from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import GuardianIn, GuardianLinkIn, GuardianOut, GuardianPatch, Id, Text
from kruzhok.school.models import StudentGuardian
from kruzhok.school.selectors.people import guardian_get, guardian_list, student_list
from kruzhok.school.services.people import guardian_create, guardian_link, guardian_update

router = Router(tags=["guardians"])


class GuardianFilters(Schema):
    q: Text(100) = Field("", description="part of the name, or a phone in any spelling")


def _with_children(guardians):
    links = StudentGuardian.objects.select_related("student").order_by(
        "student__last_name", "student__first_name"
    )
    return guardians.prefetch_related(Prefetch("student_links", queryset=links))


def _read(request: HttpRequest, pk: int):
    return get_or_404(_with_children(guardian_list(membership=request.membership)), pk)


def _student(request: HttpRequest, pk: int):
    return get_or_404(student_list(membership=request.membership), pk, field="student")


@router.get("", response={200: list[GuardianOut], **ERROR_RESPONSES})
@paginate(Pagination)
def guardians_list(request: HttpRequest, filters: Query[GuardianFilters]):
    require(request, "guardian.view")
    return _with_children(guardian_list(membership=request.membership, query=filters.q))


@router.get("/{pk}", response={200: GuardianOut, **ERROR_RESPONSES})
def guardians_read(request: HttpRequest, pk: Id):
    require(request, "guardian.view")
    return _read(request, pk)


@router.post("", response={201: GuardianOut, **ERROR_RESPONSES})
def guardians_create(request: HttpRequest, payload: GuardianIn):
    """Creates a guardian of the child `student`; more children: POST /guardians/{id}/children."""
    require(request, "guardian.manage")
    data = payload.dict()
    student = _student(request, data.pop("student"))
    link = {"relation": data.pop("relation"), "is_primary": data.pop("is_primary")}
    # Both rows or neither: a half-made guardian would be invisible to the manager who made it.
    with transaction.atomic():
        guardian = guardian_create(org=request.org, **data)
        guardian_link(student=student, guardian=guardian, **link)
    return Status(201, _read(request, guardian.pk))


@router.patch("/{pk}", response={200: GuardianOut, **ERROR_RESPONSES})
def guardians_update(request: HttpRequest, pk: Id, payload: GuardianPatch):
    require(request, "guardian.manage")
    guardian = guardian_get(membership=request.membership, pk=pk)
    guardian_update(guardian=guardian, **payload.dict(exclude_unset=True))
    return _read(request, pk)


@router.post("/{pk}/children", response={201: GuardianOut, **ERROR_RESPONSES})
def guardians_link_child(request: HttpRequest, pk: Id, payload: GuardianLinkIn):
    """Records that this guardian is also responsible for another child."""
    require(request, "guardian.manage")
    guardian = guardian_get(membership=request.membership, pk=pk)
    student = _student(request, payload.student)
    guardian_link(
        student=student, guardian=guardian, relation=payload.relation, is_primary=payload.is_primary
    )
    return Status(201, _read(request, pk))
