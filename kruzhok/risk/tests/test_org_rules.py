"""The organisation's own alert rules (threshold, weekly budget) and alerts that end when risk falls."""

import datetime as dt

import pytest
from django.urls import reverse

from kruzhok.risk.alerts import RISK_FELL_DAYS, alerts_escalate, risk_settings_update
from kruzhok.risk.models import AlertOutcome, AlertStatus, RiskAlert, RiskBand, RiskScore
from kruzhok.risk.services import risk_score_compute
from kruzhok.risk.tests.helpers import fading_child, mark_all, weekly_lessons
from kruzhok.risk.whathelps import what_helps_rows
from kruzhok.testing import factories as f

AS_OF = dt.date(2026, 11, 20)


def _rules(org, *, threshold: int = 50, budget: int = 5) -> None:
    risk_settings_update(
        org=org, escalation_days=3, outcome_days=30, threshold_percent=threshold, weekly_budget=budget
    )


@pytest.mark.django_db
def test_bands_and_alerts_follow_the_organisations_threshold(alpha):
    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF, raise_alerts=False)
    p = RiskScore.objects.get(enrollment=alpha.enrollment).probability
    assert 0.5 <= p < 0.95
    # Over the server's 50 % but under the centre's own 95 %: medium band, no alert.
    _rules(alpha.org, threshold=95)
    assert risk_score_compute(org=alpha.org, as_of=AS_OF)["alerts"] == 0
    assert RiskScore.objects.get(enrollment=alpha.enrollment).band == RiskBand.MEDIUM
    _rules(alpha.org, threshold=int(p * 100))
    assert risk_score_compute(org=alpha.org, as_of=AS_OF)["alerts"] == 1
    assert RiskScore.objects.get(enrollment=alpha.enrollment).band == RiskBand.HIGH


@pytest.mark.django_db
def test_a_teacher_gets_at_most_the_organisations_weekly_budget(alpha, beta, settings):
    settings.RISK_ALERTS_PER_TEACHER_WEEK = 5
    _rules(alpha.org, budget=2)
    lessons = fading_child(alpha, as_of=AS_OF)
    for k in range(3):
        child = f.StudentFactory(organization=alpha.org)
        enrollment = f.EnrollmentFactory(
            organization=alpha.org, student=child, group=alpha.group, started_on=alpha.enrollment.started_on
        )
        mark_all(alpha, lessons, ["present"] * (8 + k) + ["absent"] * (4 - k), enrollment=enrollment)
    assert risk_score_compute(org=alpha.org, as_of=AS_OF)["alerts"] == 2
    _rules(alpha.org, budget=3)
    assert risk_score_compute(org=alpha.org, as_of=AS_OF)["alerts"] == 1


@pytest.mark.django_db
def test_a_settings_change_reaches_the_very_next_event_rescore(alpha):
    from kruzhok.risk import orgcache

    fading_child(alpha, as_of=AS_OF)
    eid = alpha.enrollment.pk
    _rules(alpha.org, threshold=95)
    # An event rescore (one enrollment) reads the rules from the per-process organisation cache.
    risk_score_compute(org=alpha.org, as_of=AS_OF, enrollment_ids=[eid])
    assert orgcache.org_static(alpha.org.id).rules.threshold_percent == 95
    assert not RiskAlert.objects.filter(enrollment_id=eid).exists()
    assert RiskScore.objects.get(enrollment_id=eid).band == RiskBand.MEDIUM
    _rules(alpha.org, threshold=20)
    risk_score_compute(org=alpha.org, as_of=AS_OF, enrollment_ids=[eid])
    assert RiskScore.objects.get(enrollment_id=eid).band == RiskBand.HIGH
    assert RiskAlert.objects.filter(enrollment_id=eid, status=AlertStatus.OPEN).count() == 1


def _recovering_child(alpha) -> None:
    """Alpha's Маша fades by AS_OF (alert), then comes to every lesson for the next 10 weeks."""
    fading_child(alpha, as_of=AS_OF)
    later = weekly_lessons(alpha, first=AS_OF + dt.timedelta(weeks=1), count=10)
    mark_all(alpha, later, ["present"] * 10)


def _first_low_day(alpha) -> dt.date:
    """Scores every day after the alert until the risk is under the threshold; that day."""
    day = AS_OF
    while True:
        day += dt.timedelta(days=1)
        risk_score_compute(org=alpha.org, as_of=day)
        if RiskScore.objects.get(enrollment=alpha.enrollment, scored_on=day).probability < 0.5:
            return day
        assert day < AS_OF + dt.timedelta(weeks=8), "the risk never fell"


@pytest.mark.django_db
def test_an_alert_closes_when_the_risk_has_stayed_low_for_two_weeks(client_as, alpha):
    _recovering_child(alpha)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    alert = RiskAlert.objects.get(enrollment=alpha.enrollment)
    low = _first_low_day(alpha)
    risk_score_compute(org=alpha.org, as_of=low + dt.timedelta(days=RISK_FELL_DAYS - 1))
    alert.refresh_from_db()
    assert alert.is_open
    risk_score_compute(org=alpha.org, as_of=low + dt.timedelta(days=RISK_FELL_DAYS))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED and alert.risk_fell and not alert.actions.exists()
    manager = client_as(alpha.manager)
    active = manager.get(reverse("risk:alerts")).content.decode()
    assert "Петрова-alpha Маша" not in active
    closed = manager.get(reverse("risk:alerts"), {"status": "closed"}).content.decode()
    assert "Петрова-alpha Маша" in closed and "Риск снизился" in closed
    manager.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = manager.get(reverse("risk:alerts"), {"status": "closed"}).content.decode()
    assert "Risk went down" in english
    # A second run the same night changes nothing and logs nothing twice.
    risk_score_compute(org=alpha.org, as_of=low + dt.timedelta(days=RISK_FELL_DAYS))
    assert alert.events.filter(note="Риск снизился").count() == 1


@pytest.mark.django_db
def test_an_event_rescore_does_not_close_alerts_only_the_nightly_run_does(alpha):
    _recovering_child(alpha)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    low = _first_low_day(alpha)
    day = low + dt.timedelta(days=RISK_FELL_DAYS)
    risk_score_compute(org=alpha.org, as_of=day, enrollment_ids=[alpha.enrollment.pk])
    assert RiskAlert.objects.get(enrollment=alpha.enrollment).is_open


@pytest.mark.django_db
def test_an_alert_whose_risk_fell_under_the_threshold_never_escalates(alpha):
    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    later = AS_OF + dt.timedelta(days=10)
    _rules(alpha.org, threshold=95)  # the owner decides this child's risk is not alarming
    assert alerts_escalate(org=alpha.org, today=later) == 0
    assert RiskAlert.objects.get(enrollment=alpha.enrollment).escalation_level == 0
    _rules(alpha.org, threshold=50)
    assert alerts_escalate(org=alpha.org, today=later) == 1


@pytest.mark.django_db
def test_what_helps_counts_an_alert_closed_by_a_risk_fall_as_one_without_action(alpha):
    _recovering_child(alpha)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    low = _first_low_day(alpha)
    risk_score_compute(org=alpha.org, as_of=low + dt.timedelta(days=RISK_FELL_DAYS))
    alert = RiskAlert.objects.get(enrollment=alpha.enrollment)
    assert alert.risk_fell
    alert.outcome = AlertOutcome.STAYED
    alert.save()
    rows = [r for r in what_helps_rows(alpha.org) if r.band == RiskBand.HIGH]
    assert rows and all((r.n_with, r.n_without, r.retained_without) == (0, 1, 1) for r in rows)
