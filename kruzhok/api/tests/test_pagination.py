import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kruzhok.api.tests.helpers import ids
from kruzhok.attendance.models import AttendanceMark
from kruzhok.school.models import Branch, StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def test_lists_are_paged_by_limit_and_offset(alpha, api_as):
    for n in range(5):
        Branch.objects.create(organization=alpha.org, name=f"Альфа: филиал {n}")
    client = api_as(alpha.owner)
    everything = client.get("/branches").json()
    assert everything["count"] == 7
    page = client.get("/branches", {"limit": 2, "offset": 2}).json()
    assert page["count"] == 7
    assert [b["id"] for b in page["items"]] == [b["id"] for b in everything["items"]][2:4]
    assert client.get("/branches", {"offset": 100}).json() == {"items": [], "count": 7}


@pytest.mark.parametrize("params", [{"limit": 201}, {"limit": 0}, {"offset": -1}, {"limit": "много"}])
def test_a_page_out_of_bounds_is_invalid_input(alpha, api_as, params):
    response = api_as(alpha.owner).get("/branches", params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_200_rows_is_the_most_one_page_holds(alpha, api_as):
    assert api_as(alpha.owner).get("/branches", {"limit": 200}).status_code == 200


def _grow(world, n: int):
    """n more of everything each list shows, to see that a longer list costs no more queries."""
    for i in range(n):
        child = f.StudentFactory(organization=world.org, branch=world.branch, first_name=f"Ребёнок{i}")
        guardian = f.GuardianFactory(organization=world.org)
        StudentGuardian.objects.create(organization=world.org, student=child, guardian=guardian)
        enrollment = f.EnrollmentFactory(
            organization=world.org, student=child, group=world.group, started_on=dt.date(2020, 1, 1)
        )
        group = f.GroupFactory(
            organization=world.org,
            course=world.course,
            branch=world.branch,
            room=world.room,
            teacher=world.teacher,
        )
        f.ScheduleSlotFactory(organization=world.org, group=group)
        starts = timezone.now() + dt.timedelta(hours=i + 1)
        lesson = f.LessonFactory(
            organization=world.org,
            group=world.group,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            room=world.room,
            teacher=world.teacher,
        )
        AttendanceMark.objects.create(
            organization=world.org, lesson=lesson, student=child, enrollment=enrollment, status="present"
        )


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "path", ["/groups", "/lessons", "/students", "/guardians", "/enrollments", "/attendance"]
)
def test_a_longer_list_costs_no_more_queries(alpha, api_as, path):
    client = api_as(alpha.owner)
    client.post("/attendance", {"lesson": alpha.lesson.pk, "student": alpha.student.pk, "status": "present"})
    before = _queries(client, path)
    _grow(alpha, 4)
    assert len(ids(client.get(path))) >= 1
    assert _queries(client, path) == before
