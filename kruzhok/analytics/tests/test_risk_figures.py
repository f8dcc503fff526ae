"""Revenue at risk and children at risk, as served (facts, cache, the enrollment list kept in the
process), stay equal to a computation from scratch (no facts, no cache) after a rescore that
overwrites the day's score in place, a new score, a payment and a drop."""

import datetime as dt

import pytest
from django.core.cache import cache

from kruzhok.analytics.selectors import Facts
from kruzhok.analytics.tests.conftest import OCTOBER, TODAY
from kruzhok.analytics.tests.scenario import rescore_in_place_then_pay, risk_score, scored_network
from kruzhok.analytics.tests.test_facts import NOVEMBER, _network
from kruzhok.risk.models import RiskScore
from kruzhok.risk.services import alert_threshold
from kruzhok.school.services.enrollments import enrollment_transition

pytestmark = pytest.mark.django_db


def _risk_figures(world, monkeypatch, *, served: bool) -> list[tuple]:
    flag = "true" if served else "false"
    monkeypatch.setenv("KRUZHOK_ANALYTICS_FACTS", flag)
    monkeypatch.setenv("KRUZHOK_ANALYTICS_CACHE", flag)
    loaded = Facts.load(world.org)
    out = []
    for month in (OCTOBER, NOVEMBER):
        summary = loaded.month_summary(month)
        money, risky = loaded.risk(month)
        out.append((summary.revenue, summary.revenue_at_risk, summary.at_risk_children, money, len(risky)))
    monkeypatch.delenv("KRUZHOK_ANALYTICS_FACTS")
    monkeypatch.delenv("KRUZHOK_ANALYTICS_CACHE")
    return out


def _same(world, monkeypatch) -> list[tuple]:
    served = _risk_figures(world, monkeypatch, served=True)
    assert served == _risk_figures(world, monkeypatch, served=False)
    return served


def test_risk_figures_follow_rescores_payments_and_drops(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    alpha.course.price_per_month = "4300.00"
    alpha.course.save(update_fields=["price_per_month"])
    open_now = scored_network(alpha, [0.05 + 0.9 * k / 6 for k in range(7)])
    for i, e in enumerate(open_now):
        risk_score(alpha, e, 0.1 + 0.8 * (i % 5) / 4, dt.date(2026, 10, 25))
    before = _same(alpha, monkeypatch)
    assert before[1][1] > 0 and before[1][2] > 0  # November has money and children at risk
    # Warm: served figures are now cached, and the enrollment list is kept in this process.
    _risk_figures(alpha, monkeypatch, served=True)

    # A rescore today overwrites the day's row in place: no new id, but the page that follows the
    # event (any event moves the page version) must show the new figure.
    calm = next(e for e in open_now if RiskScore.objects.get(enrollment=e, scored_on=TODAY).probability < 0.3)
    rescore_in_place_then_pay(alpha, calm, 0.97, django_capture_on_commit_callbacks, key="risk-1")
    after_rescore = _same(alpha, monkeypatch)
    assert after_rescore[1][1] > before[1][1]
    assert after_rescore[1][2] == before[1][2] + (0 if 0.97 < alert_threshold() else 1)
    assert after_rescore[0][1] == before[0][1]  # October's figure reads October's scores

    # A drop takes the child's contribution out (the enrollment list in this process is replaced).
    risky = next(e for e in open_now if e.pk != calm.pk and e.group.is_active)
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=risky, to_status="dropped", actor=alpha.manager, reason="moved", on_date=TODAY
        )
    after_drop = _same(alpha, monkeypatch)
    assert after_drop[1][1] < after_rescore[1][1]


def test_a_cleared_cache_drops_the_process_copy(alpha, monkeypatch):
    _network(alpha)
    served = _risk_figures(alpha, monkeypatch, served=True)
    cache.clear()
    assert _risk_figures(alpha, monkeypatch, served=True) == served


def test_children_at_risk_follow_the_owners_new_threshold_at_once(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    from kruzhok.risk.alerts import risk_settings_for, risk_settings_update

    open_now = scored_network(alpha, [0.2, 0.45, 0.6, 0.9])
    before = _same(alpha, monkeypatch)
    _risk_figures(alpha, monkeypatch, served=True)  # warm the cache
    rules = risk_settings_for(org=alpha.org)
    with django_capture_on_commit_callbacks(execute=True):
        risk_settings_update(
            org=alpha.org,
            escalation_days=rules.escalation_days,
            outcome_days=rules.outcome_days,
            threshold_percent=40,
        )
    after = _same(alpha, monkeypatch)
    # The 45 % children now count as at risk too, on the very next page.
    expected = sum(1 for i, _e in enumerate(open_now) if [0.2, 0.45, 0.6, 0.9][i % 4] >= 0.4)
    assert after[1][4] == expected > before[1][4]
