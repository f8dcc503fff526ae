"""Enrollments (a child in a group): staff read those in their scope; owners and managers enrol
children and move an enrollment along its lifecycle (trial → active → paused → completed/dropped)."""

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import EnrollmentIn, EnrollmentOut, EnrollmentTransitionIn, Id
from kruzhok.school.models import EnrollmentStatus
from kruzhok.school.selectors.people import enrollment_get, enrollment_list, student_list
from kruzhok.school.selectors.structure import group_list
from kruzhok.school.services.enrollments import enrollment_create, enrollment_transition

router = Router(tags=["enrollments"])


class EnrollmentFilters(Schema):
    group: Id | None = None
    student: Id | None = None
    status: EnrollmentStatus | None = None


@router.get("", response={200: list[EnrollmentOut], **ERROR_RESPONSES})
@paginate(Pagination)
def enrollments_list(request: HttpRequest, filters: Query[EnrollmentFilters]):
    require(request, "enrollment.view")
    enrollments = enrollment_list(membership=request.membership, status=filters.status)
    if filters.group is not None:
        enrollments = enrollments.filter(group_id=filters.group)
    if filters.student is not None:
        enrollments = enrollments.filter(student_id=filters.student)
    return enrollments


@router.get("/{pk}", response={200: EnrollmentOut, **ERROR_RESPONSES})
def enrollments_read(request: HttpRequest, pk: Id):
    require(request, "enrollment.view")
    return enrollment_get(membership=request.membership, pk=pk)


@router.post("", response={201: EnrollmentOut, **ERROR_RESPONSES})
def enrollments_create(request: HttpRequest, payload: EnrollmentIn):
    """Enrols a child (who needs a guardian's recorded consent) into a group with a free place."""
    require(request, "enrollment.manage")
    student = get_or_404(student_list(membership=request.membership), payload.student, field="student")
    group = get_or_404(group_list(membership=request.membership), payload.group, field="group")
    enrollment = enrollment_create(
        student=student, group=group, actor=request.user, status=payload.status, started_on=payload.started_on
    )
    return Status(201, enrollment_get(membership=request.membership, pk=enrollment.pk))


@router.post("/{pk}/transition", response={200: EnrollmentOut, **ERROR_RESPONSES})
def enrollments_transition(request: HttpRequest, pk: Id, payload: EnrollmentTransitionIn):
    """Changes the status; `dropped` needs a `reason`. `on_date` defaults to today."""
    require(request, "enrollment.manage")
    enrollment = enrollment_get(membership=request.membership, pk=pk)
    enrollment_transition(
        enrollment=enrollment,
        to_status=payload.to_status,
        actor=request.user,
        on_date=payload.on_date,
        reason=payload.reason or "",
        note=payload.note,
    )
    return enrollment_get(membership=request.membership, pk=pk)
