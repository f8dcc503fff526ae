"""Early warning through the API: scores with reasons, and the alert workflow."""

import datetime as dt

import pytest

from kruzhok.api.tests.helpers import error_code
from kruzhok.risk.models import AlertStatus, RiskAlert
from kruzhok.risk.services import risk_score_compute
from kruzhok.risk.tests.helpers import fading_child

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def flagged(alpha):
    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF - dt.timedelta(days=14))
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    return RiskAlert.objects.get(enrollment=alpha.enrollment)


def test_staff_list_scores_with_reasons_and_read_one_with_its_history(alpha, api_as, flagged):
    for role in ("owner", "manager", "teacher"):
        client = api_as(alpha.user(role))
        listed = client.get("/risk-scores", {"band": "high"})
        assert listed.status_code == 200
        row = next(r for r in listed.json()["items"] if r["enrollment"] == alpha.enrollment.pk)
        assert row["student_name"] == "Петрова-alpha Маша" and row["band"] == "high"
        assert row["open_alert"] == flagged.pk
        assert "посещаемость упала с 100 % до 25 %" in [r["text"] for r in row["reasons"]]
        one = client.get(f"/risk-scores/{alpha.enrollment.pk}")
        assert one.status_code == 200
        assert [p["scored_on"] for p in one.json()["history"]] == ["2026-11-06", "2026-11-20"]
    assert api_as(alpha.owner).get("/risk-scores", {"band": "low"}).json()["count"] == 0
    assert api_as(alpha.owner).get("/risk-scores", {"group": 999999}).json()["count"] == 0
    assert api_as(alpha.owner).get("/risk-scores", {"branch": alpha.other_branch.pk}).json()["count"] == 0


def test_families_are_refused_and_bad_filters_are_explained(alpha, api_as, flagged):
    for user in (alpha.parent, alpha.student_user):
        client = api_as(user)
        assert client.get("/risk-scores").status_code == 403
        assert client.get(f"/risk-alerts/{flagged.pk}").status_code == 403
        assert error_code(client.post(f"/risk-alerts/{flagged.pk}/acknowledge")) == "forbidden"
    owner = api_as(alpha.owner)
    assert owner.get("/risk-scores", {"band": "<script>"}).status_code == 422
    assert owner.get("/risk-alerts", {"status": "nope"}).status_code == 422
    assert owner.get("/risk-scores/999999999").status_code == 404


def test_a_teacher_logs_a_call_through_the_api_and_the_alert_closes(alpha, api_as, flagged):
    client = api_as(alpha.teacher)
    feed = client.get("/risk-alerts", {"mine": True})
    assert [a["id"] for a in feed.json()["items"]] == [flagged.pk]
    response = client.post(
        f"/risk-alerts/{flagged.pk}/actions", {"kind": "call_parent", "note": "мама обещала привести"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "closed"
    assert body["actions"][0]["kind"] == "call_parent" and body["actions"][0]["actor"] == alpha.teacher.pk
    assert [e["kind"] for e in body["events"]][-2:] == ["action", "closed"]
    again = client.post(f"/risk-alerts/{flagged.pk}/acknowledge")
    assert again.status_code == 409 and error_code(again) == "alert_closed"
    assert client.get("/risk-alerts").json()["count"] == 0
    assert client.get("/risk-alerts", {"status": "closed"}).json()["count"] == 1


def test_acknowledge_assign_not_useful_and_close(alpha, beta, api_as, flagged):
    client = api_as(alpha.manager)
    assert client.post(f"/risk-alerts/{flagged.pk}/acknowledge").json()["status"] == "acknowledged"
    assigned = client.post(f"/risk-alerts/{flagged.pk}/assign", {"assignee": alpha.owner.pk})
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == alpha.owner.pk
    refused = client.post(f"/risk-alerts/{flagged.pk}/assign", {"assignee": beta.owner.pk})
    assert refused.status_code == 422 and error_code(refused) == "invalid_assignee"
    not_useful = client.post(f"/risk-alerts/{flagged.pk}/not-useful", {"note": "ребёнок болел"})
    assert not_useful.json()["not_useful"] is True and not_useful.json()["status"] == "closed"
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.CLOSED and flagged.not_useful


@pytest.mark.parametrize(
    "path, body",
    [
        ("actions", {"kind": "bribe"}),
        ("actions", {}),
        ("actions", {"kind": "call_parent", "note": "x" * 5000}),
        ("actions", {"kind": "call_parent", "note": "\x00"}),
        ("actions", {"kind": "call_parent", "surprise": 1}),
        ("assign", {"assignee": -1}),
        ("assign", {"assignee": 2**70}),
        ("close", {"note": ["not", "text"]}),
    ],
)
def test_bad_input_is_refused_and_the_alert_stays_open(alpha, api_as, flagged, path, body):
    response = api_as(alpha.teacher).post(f"/risk-alerts/{flagged.pk}/{path}", body)
    assert response.status_code == 422
    assert response.json()["error"]["message"]
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.OPEN and not flagged.actions.exists()


def test_scores_carry_the_organisations_threshold_and_alerts_say_when_the_risk_fell(alpha, api_as):
    from kruzhok.risk.alerts import RISK_FELL_DAYS, risk_settings_update
    from kruzhok.risk.tests.test_org_rules import _first_low_day, _recovering_child

    _recovering_child(alpha)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    low = _first_low_day(alpha)
    risk_score_compute(org=alpha.org, as_of=low + dt.timedelta(days=RISK_FELL_DAYS))
    risk_settings_update(
        org=alpha.org, escalation_days=3, outcome_days=30, threshold_percent=40, weekly_budget=5
    )
    client = api_as(alpha.manager)
    assert [r["threshold_percent"] for r in client.get("/risk-scores").json()["items"]] == [40]
    assert client.get(f"/risk-scores/{alpha.enrollment.pk}").json()["threshold_percent"] == 40
    alert = client.get("/risk-alerts", {"status": "closed"}).json()["items"][0]
    assert alert["risk_fell"] is True and alert["actions"] == []
    events = client.get(f"/risk-alerts/{alert['id']}").json()["events"]
    assert (events[-1]["kind"], events[-1]["note"]) == ("closed", "Риск снизился")
