import pytest
from django.test import TestCase

from kruzhok.attendance.services import attendance_mark
from kruzhok.gamification import services
from kruzhok.gamification.models import RequestStatus, StudentXp

pytestmark = pytest.mark.django_db


@pytest.fixture
def marked(alpha):
    with TestCase.captureOnCommitCallbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    return alpha


def test_the_child_and_the_parent_read_the_xp_profile(marked, api_as):
    for user in (marked.student_user, marked.parent, marked.teacher):
        body = api_as(user).get(f"/xp/{marked.student.pk}").json()
        assert body["xp"] == 15 and body["level_name"] == "Росток"
        assert {entry["component"] for entry in body["log"]} == {"visit", "on_time"}


def test_kudos_through_the_api_is_given_once(marked, api_as):
    client = api_as(marked.teacher)
    payload = {"lesson": marked.lesson.pk, "student": marked.student.pk, "note": "Отлично"}
    first, second = client.post("/kudos", payload).json(), client.post("/kudos", payload).json()
    assert first["created"] and not second["created"] and first["id"] == second["id"]
    assert StudentXp.objects.get(student=marked.student).xp == 30
    assert api_as(marked.parent).post("/kudos", payload).status_code == 403
    assert client.post("/kudos", {**payload, "extra": 1}).status_code == 422


def test_a_leaderboard_is_for_staff_only(marked, beta, api_as):
    url = f"/leaderboards/{marked.group.pk}"
    assert api_as(marked.teacher).get(url).json()[0]["xp"] == 15
    assert api_as(marked.student_user).get(url).status_code == 403
    assert api_as(beta.owner).get(url).status_code == 404


def test_the_shop_through_the_api(marked, api_as):
    reward = services.reward_create(org=marked.org, title="Наклейка", price=1, stock=1)
    made = api_as(marked.student_user).post(f"/rewards/{reward.pk}/requests")
    assert made.status_code == 200 and made.json()["status"] == RequestStatus.PENDING
    again = api_as(marked.student_user).post(f"/rewards/{reward.pk}/requests")
    assert again.status_code in (400, 409, 422)
    decided = api_as(marked.manager).post(f"/reward-requests/{made.json()['id']}/decision", {"approve": True})
    assert decided.json()["status"] == RequestStatus.APPROVED
