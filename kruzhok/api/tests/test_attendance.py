import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.attendance.models import AttendanceMark
from kruzhok.school.models import LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def mark(client, world, status="present", **extra):
    return client.post(
        "/attendance", {"lesson": world.lesson.pk, "student": world.student.pk, "status": status, **extra}
    )


def test_a_teacher_marks_a_child_and_can_change_the_mark(alpha, api_as):
    client = api_as(alpha.teacher)
    first = mark(client, alpha, "late", comment="Пробки")
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["status"], body["comment"]) == ("late", "Пробки")
    assert body["student"] == {"id": alpha.student.pk, "full_name": alpha.student.full_name}
    assert body["lesson"]["group"]["name"] == alpha.group.name

    second = mark(client, alpha, "present")
    assert second.json()["id"] == body["id"]
    marks = AttendanceMark.objects.filter(lesson=alpha.lesson, student=alpha.student)
    assert [(m.status, m.marked_by) for m in marks] == [("present", alpha.teacher)]
    alpha.lesson.refresh_from_db()
    assert alpha.lesson.attendance_taken_at is not None


def test_a_child_not_in_the_group_is_a_conflict(alpha, api_as):
    stranger = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
    response = api_as(alpha.owner).post(
        "/attendance", {"lesson": alpha.lesson.pk, "student": stranger.pk, "status": "present"}
    )
    assert (response.status_code, error_code(response)) == (409, "not_in_group")


def test_a_cancelled_lesson_takes_no_marks(alpha, api_as):
    alpha.lesson.status = LessonStatus.CANCELLED
    alpha.lesson.save()
    response = mark(api_as(alpha.teacher), alpha)
    assert (response.status_code, error_code(response)) == (409, "lesson_cancelled")


def test_an_unknown_status_is_invalid_input(alpha, api_as):
    response = mark(api_as(alpha.teacher), alpha, "sleeping")
    assert response.status_code == 422
    assert "status" in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["parent", "student"])
def test_families_cannot_mark(alpha, api_as, role):
    assert mark(api_as(alpha.user(role)), alpha).status_code == 403
    assert not AttendanceMark.objects.exists()


def test_a_teacher_cannot_mark_another_teachers_lesson(alpha, api_as):
    other_group = f.GroupFactory(
        organization=alpha.org, course=alpha.course, branch=alpha.branch, name="Чужая"
    )
    other_lesson = f.LessonFactory(organization=alpha.org, group=other_group)
    response = api_as(alpha.teacher).post(
        "/attendance", {"lesson": other_lesson.pk, "student": alpha.student.pk, "status": "present"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"lesson": "Не найдено."}


def test_marks_filter_by_lesson_student_and_days(alpha, api_as):
    client = api_as(alpha.owner)
    mark_id = mark(client, alpha).json()["id"]
    earlier_start = timezone.now() - dt.timedelta(days=7)
    earlier = f.LessonFactory(
        organization=alpha.org,
        group=alpha.group,
        starts_at=earlier_start,
        ends_at=earlier_start + dt.timedelta(hours=1),
    )
    old_id = client.post(
        "/attendance", {"lesson": earlier.pk, "student": alpha.student.pk, "status": "absent"}
    ).json()["id"]
    today = timezone.localdate()

    assert ids(client.get("/attendance")) == [mark_id, old_id]  # newest lesson first
    assert ids(client.get("/attendance", {"lesson": earlier.pk})) == [old_id]
    assert ids(client.get("/attendance", {"student": alpha.student.pk})) == [mark_id, old_id]
    assert ids(client.get("/attendance", {"date_from": str(today)})) == [mark_id]
    assert ids(client.get("/attendance", {"date_to": str(today - dt.timedelta(days=1))})) == [old_id]
    assert client.get(f"/attendance/{mark_id}").json()["status"] == "present"


def test_a_parent_reads_only_their_childs_marks(alpha, api_as):
    mark_id = mark(api_as(alpha.teacher), alpha).json()["id"]
    other = f.StudentFactory(organization=alpha.org, branch=alpha.branch, last_name="Тайный-Ребёнок")
    f.EnrollmentFactory(
        organization=alpha.org, student=other, group=alpha.group, started_on=dt.date(2020, 1, 1)
    )
    other_mark = (
        api_as(alpha.teacher)
        .post("/attendance", {"lesson": alpha.lesson.pk, "student": other.pk, "status": "absent"})
        .json()["id"]
    )

    parent = api_as(alpha.parent)
    assert ids(parent.get("/attendance")) == [mark_id]
    assert parent.get(f"/attendance/{other_mark}").status_code == 404
    # As on the site, a student's own account has no attendance pages.
    assert api_as(alpha.student_user).get("/attendance").status_code == 403


def test_another_organisations_lessons_and_marks_are_404(alpha, beta, api_as):
    mark_id = mark(api_as(alpha.teacher), alpha).json()["id"]
    client = api_as(beta.teacher)
    assert client.get(f"/attendance/{mark_id}").status_code == 404
    assert ids(client.get("/attendance")) == []
    response = mark(client, alpha, "absent")
    assert response.status_code == 404
    assert AttendanceMark.objects.get(pk=mark_id).status == "present"
