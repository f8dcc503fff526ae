"""Courses: read by staff, changed by the owner."""

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import CourseIn, CourseOut, CoursePatch, Id
from kruzhok.school.selectors.structure import course_list
from kruzhok.school.services.structure import course_create, course_update

router = Router(tags=["courses"])


@router.get("", response={200: list[CourseOut], **ERROR_RESPONSES})
@paginate(Pagination)
def courses_list(request: HttpRequest):
    require(request, "group.view")
    return course_list(org=request.org)


@router.get("/{pk}", response={200: CourseOut, **ERROR_RESPONSES})
def courses_read(request: HttpRequest, pk: Id):
    require(request, "group.view")
    return get_or_404(course_list(org=request.org), pk)


@router.post("", response={201: CourseOut, **ERROR_RESPONSES})
def courses_create(request: HttpRequest, payload: CourseIn):
    require(request, "course.manage")
    return Status(201, course_create(org=request.org, **payload.dict()))


@router.patch("/{pk}", response={200: CourseOut, **ERROR_RESPONSES})
def courses_update(request: HttpRequest, pk: Id, payload: CoursePatch):
    require(request, "course.manage")
    course = get_or_404(course_list(org=request.org), pk)
    return course_update(course=course, **payload.dict(exclude_unset=True))
