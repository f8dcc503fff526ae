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


def test_the_log_badges_and_quests_of_a_child(marked, api_as):
    import datetime as dt

    day = marked.lesson.starts_at.date()
    services.quest_save(
        org=marked.org,
        title="Два визита",
        starts_on=day - dt.timedelta(days=5),
        ends_on=day + dt.timedelta(days=5),
        steps=[("visits", 2)],
    )
    for user in (marked.student_user, marked.parent, marked.manager):
        client = api_as(user)
        log = client.get(f"/xp/{marked.student.pk}/log?limit=1").json()
        assert log["count"] == 2 and len(log["items"]) == 1 and log["items"][0]["note"]
        [quest] = client.get(f"/xp/{marked.student.pk}/quests").json()
        assert quest["title"] == "Два визита" and quest["steps"][0]["value"] == 1
        assert client.get(f"/xp/{marked.student.pk}/badges").status_code == 200


def test_the_manager_configures_rules_badges_quests_goals_and_rewards(marked, api_as):
    import datetime as dt

    client = api_as(marked.manager)
    assert client.patch("/gamification-settings", {"xp_homework": 12}).json()["xp_homework"] == 12
    negative = client.patch("/gamification-settings", {"xp_visit": -5})
    assert negative.status_code == 400 and negative.json()["error"]["code"] == "negative_xp"
    never = client.post("/badges", {"name": "Вечность", "rule": "streak", "threshold": 500})
    assert never.status_code == 400 and never.json()["error"]["code"] == "never_fires"
    badge = client.post("/badges", {"name": "Квестер", "rule": "teacher"}).json()
    assert (
        client.send("put", f"/badges/{badge['id']}", {"name": "Квестер!", "rule": "teacher"}).json()["name"]
        == "Квестер!"
    )
    day = marked.lesson.starts_at.date()
    body = {
        "title": "Первый",
        "starts_on": str(day - dt.timedelta(days=3)),
        "ends_on": str(day + dt.timedelta(days=3)),
        "steps": [{"metric": "visits", "target": 1}],
        "reward_badge": badge["id"],
    }
    first = client.post("/quests", body)
    assert first.status_code == 201
    second = client.post("/quests", {**body, "title": "Второй", "requires": [first.json()["id"]]}).json()
    cycle = client.send("put", f"/quests/{first.json()['id']}", {**body, "requires": [second["id"]]})
    assert cycle.status_code == 400 and cycle.json()["error"]["code"] == "depends_on_itself"
    assert "зависит сам от себя" in cycle.json()["error"]["message"]
    goal = client.post(
        "/goals",
        {
            "group": marked.group.pk,
            "title": "Вместе",
            "target_xp": 50,
            "starts_on": body["starts_on"],
            "ends_on": body["ends_on"],
        },
    )
    assert goal.status_code == 201
    reward = client.post("/rewards", {"title": "Кепка", "price": 10, "stock": 2}).json()
    updated = client.send(
        "put", f"/rewards/{reward['id']}", {"title": "Кепка", "price": 12, "stock": 0, "is_active": False}
    )
    assert updated.json()["stock"] == 0 and not updated.json()["is_active"]
    assert (
        client.send(
            "put", f"/rewards/{reward['id']}", {"title": "Кепка", "price": 1, "stock": -1}
        ).status_code
        == 400
    )
    for user in (marked.teacher, marked.parent, marked.student_user):
        assert api_as(user).post("/quests", body).status_code == 403
        assert api_as(user).patch("/gamification-settings", {"xp_visit": 1}).status_code == 403


def test_reward_requests_are_listed_for_the_child_and_the_manager(marked, api_as):
    StudentXp.objects.filter(student=marked.student).update(coins=5)
    reward = services.reward_create(org=marked.org, title="Наклейка", price=1, stock=3)
    api_as(marked.student_user).post(f"/rewards/{reward.pk}/requests")
    mine = api_as(marked.student_user).get("/reward-requests").json()
    assert mine["count"] == 1 and mine["items"][0]["reward_title"] == "Наклейка"
    pending = api_as(marked.manager).get("/reward-requests?status=pending").json()
    assert pending["count"] == 1
    assert api_as(marked.teacher).get("/reward-requests").status_code == 403
