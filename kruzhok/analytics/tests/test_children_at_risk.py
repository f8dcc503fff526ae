"""The children behind «В зоне риска», paged in memory, are the children a count from the score rows
finds, in name order, each once; a rescore written in place shows on the view after the next event
(a mark's rescore comes with the mark, which moves the page version)."""

import re

import pytest

from kruzhok.analytics import views
from kruzhok.analytics.tests.conftest import TODAY
from kruzhok.analytics.tests.scenario import rescore_in_place_then_pay, scored_network
from kruzhok.risk.models import RiskScore
from kruzhok.risk.services import alert_threshold

pytestmark = pytest.mark.django_db
PROBABILITIES = [0.2, 0.45, 0.6, 0.9]


def _listed(client, url: str) -> list[str]:
    html = client.get(url).content.decode()
    block = re.findall(r'an-children">.*?</ul>', html, re.S)[0]
    return re.findall(r"Сеть\d+", block)


def _all_pages(client, monkeypatch) -> list[str]:
    monkeypatch.setattr(views, "CHILDREN_PAGE", 3)
    names, page = [], 1
    while True:
        response = client.get(f"/analytics/children/?metric=at_risk&page={page}")
        assert response.status_code == 200
        names += _listed(client, f"/analytics/children/?metric=at_risk&page={page}")
        if "Дальше" not in response.content.decode():
            return names
        page += 1


def _from_scratch(world) -> list[str]:
    """Children with an enrollment open today whose latest score is at or over the threshold."""
    threshold = alert_threshold(world.org)
    latest: dict[int, RiskScore] = {}
    for s in RiskScore.all_objects.filter(organization=world.org).select_related("enrollment__student"):
        kept = latest.get(s.enrollment_id)
        if s.scored_on <= TODAY and (kept is None or s.scored_on > kept.scored_on):
            latest[s.enrollment_id] = s
    names = {
        s.enrollment.student.last_name
        for s in latest.values()
        if s.probability >= threshold and (s.enrollment.ended_on is None or s.enrollment.ended_on >= TODAY)
    }
    return sorted(names)


def test_the_at_risk_list_is_the_scored_children_and_follows_a_rescore(
    alpha, client_as, monkeypatch, django_capture_on_commit_callbacks
):
    open_now = scored_network(alpha, PROBABILITIES)
    client = client_as(alpha.owner)
    before = _all_pages(client, monkeypatch)
    expected = _from_scratch(alpha)
    assert len(expected) > 3  # more than one page
    assert before == expected  # names sort as «Сеть1», «Сеть10», … in the page's order too
    html = client.get("/analytics/children/?metric=at_risk").content.decode()
    assert f"Детей: {len(expected)}" in html

    calm = next(e for i, e in enumerate(open_now) if PROBABILITIES[i % 4] < 0.45)
    rescore_in_place_then_pay(alpha, calm, 0.97, django_capture_on_commit_callbacks, key="at-risk-1")
    after = _all_pages(client, monkeypatch)
    assert calm.student.last_name in after and calm.student.last_name not in before
    assert after == _from_scratch(alpha)


def test_another_groups_filter_lists_none_of_its_children(alpha, client_as):
    open_now = scored_network(alpha, [0.9])
    group = alpha.group
    names = _listed(client_as(alpha.owner), f"/analytics/children/?metric=at_risk&group={group.pk}")
    expected = sorted({e.student.last_name for e in open_now if e.group_id == group.pk})
    assert names == expected
