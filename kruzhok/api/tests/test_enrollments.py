import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.school.models import Consent, Enrollment, EnrollmentStatus, StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def child_with_consent(world, **fields):
    child = f.StudentFactory(organization=world.org, branch=world.branch, **fields)
    StudentGuardian.objects.create(organization=world.org, student=child, guardian=world.guardian)
    Consent.objects.create(
        organization=world.org,
        guardian=world.guardian,
        student=child,
        text_version="2026-01",
        granted_at=timezone.now(),
    )
    return child


def test_a_manager_enrols_a_child_for_a_trial(alpha, api_as):
    child = child_with_consent(alpha, first_name="Дима")
    response = api_as(alpha.manager).post("/enrollments", {"student": child.pk, "group": alpha.group.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "trial"
    assert body["student"] == {"id": child.pk, "full_name": child.full_name}
    assert body["group"] == {"id": alpha.group.pk, "name": alpha.group.name}
    assert Enrollment.objects.filter(student=child, group=alpha.group, status="trial").exists()


def test_the_same_child_twice_is_a_conflict(alpha, api_as):
    response = api_as(alpha.owner).post(
        "/enrollments", {"student": alpha.student.pk, "group": alpha.group.pk}
    )
    assert (response.status_code, error_code(response)) == (409, "duplicate")


def test_a_full_group_is_a_conflict(alpha, api_as):
    alpha.group.capacity = 1
    alpha.group.save()
    child = child_with_consent(alpha)
    response = api_as(alpha.owner).post("/enrollments", {"student": child.pk, "group": alpha.group.pk})
    assert (response.status_code, error_code(response)) == (409, "group_full")


def test_a_child_without_consent_cannot_be_enrolled(alpha, api_as):
    child = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
    response = api_as(alpha.owner).post("/enrollments", {"student": child.pk, "group": alpha.group.pk})
    assert (response.status_code, error_code(response)) == (409, "no_consent")


def test_an_enrollment_moves_along_its_lifecycle(alpha, api_as):
    client = api_as(alpha.manager)
    url = f"/enrollments/{alpha.enrollment.pk}/transition"
    paused = client.post(url, {"to_status": "paused"})
    assert paused.status_code == 200, paused.content
    assert paused.json()["status"] == "paused"

    no_reason = client.post(url, {"to_status": "dropped"})
    assert (no_reason.status_code, error_code(no_reason)) == (400, "reason_required")

    dropped = client.post(
        url, {"to_status": "dropped", "reason": "schedule", "note": "Переезд на другой конец города"}
    )
    assert dropped.json()["status"] == "dropped"
    assert dropped.json()["drop_reason"] == "schedule"

    back = client.post(url, {"to_status": "active"})
    assert (back.status_code, error_code(back)) == (409, "invalid_transition")


def test_a_transition_to_an_unknown_status_is_invalid_input(alpha, api_as):
    response = api_as(alpha.owner).post(
        f"/enrollments/{alpha.enrollment.pk}/transition", {"to_status": "expelled"}
    )
    assert response.status_code == 422


def test_enrollments_filter_by_group_student_and_status(alpha, api_as):
    child = child_with_consent(alpha)
    trial = f.EnrollmentFactory(
        organization=alpha.org, student=child, group=alpha.group, status="trial", started_on=dt.date.today()
    )
    client = api_as(alpha.owner)
    assert ids(client.get("/enrollments", {"status": "trial"})) == [trial.pk]
    assert ids(client.get("/enrollments", {"student": alpha.student.pk})) == [alpha.enrollment.pk]
    assert sorted(ids(client.get("/enrollments", {"group": alpha.group.pk}))) == sorted(
        [trial.pk, alpha.enrollment.pk]
    )
    assert client.get("/enrollments", {"status": "nonsense"}).status_code == 422


def test_a_teacher_reads_but_does_not_enrol(alpha, api_as):
    client = api_as(alpha.teacher)
    assert ids(client.get("/enrollments")) == [alpha.enrollment.pk]
    assert client.get(f"/enrollments/{alpha.enrollment.pk}").status_code == 200
    child = child_with_consent(alpha)
    assert client.post("/enrollments", {"student": child.pk, "group": alpha.group.pk}).status_code == 403
    assert (
        client.post(f"/enrollments/{alpha.enrollment.pk}/transition", {"to_status": "paused"}).status_code
        == 403
    )


@pytest.mark.parametrize("role", ["parent", "student"])
def test_families_have_no_enrollment_endpoints(alpha, api_as, role):
    assert api_as(alpha.user(role)).get("/enrollments").status_code == 403


def test_another_organisations_enrollment_group_or_child_is_404(alpha, beta, api_as):
    client = api_as(beta.owner)
    assert client.get(f"/enrollments/{alpha.enrollment.pk}").status_code == 404
    moved = client.post(f"/enrollments/{alpha.enrollment.pk}/transition", {"to_status": "paused"})
    assert moved.status_code == 404
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == EnrollmentStatus.ACTIVE
    stolen = client.post("/enrollments", {"student": alpha.student.pk, "group": beta.group.pk})
    assert stolen.status_code == 404
    assert stolen.json()["error"]["fields"] == {"student": "Не найдено."}
    assert (
        client.post("/enrollments", {"student": beta.student.pk, "group": alpha.group.pk}).status_code == 404
    )
