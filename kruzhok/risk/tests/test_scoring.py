import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import translation

from kruzhok.attendance.services import attendance_mark
from kruzhok.lib.tenancy import unscoped
from kruzhok.risk import changepoint, explain
from kruzhok.risk import features as feat
from kruzhok.risk.models import AlertStatus, RiskAlert, RiskBand, RiskScore
from kruzhok.risk.services import alert_log_action, risk_score_compute
from kruzhok.risk.tests.helpers import fading_child, mark_all, weekly_lessons
from kruzhok.school import models as school
from kruzhok.testing import factories as f

AS_OF = dt.date(2026, 11, 20)


@pytest.mark.django_db
def test_a_fading_child_gets_a_high_score_with_reasons_in_plain_russian(alpha):
    fading_child(alpha, as_of=AS_OF)
    result = risk_score_compute(org=alpha.org, as_of=AS_OF)
    assert result == {"scored": 1, "alerts": 1}
    score = RiskScore.objects.get(enrollment=alpha.enrollment, scored_on=AS_OF)
    assert score.band == RiskBand.HIGH and score.probability > 0.5
    texts = [explain.factor_text(factor) for factor in score.factors]
    assert "посещаемость упала с 100 % до 25 %" in texts
    assert "пропустил 3 занятия подряд" in texts
    assert "не был 3 недели" in texts
    assert all(isinstance(factor["contribution"], float) for factor in score.factors)
    alert = RiskAlert.objects.get(enrollment=alpha.enrollment)
    assert alert.assigned_to == alpha.teacher and alert.status == AlertStatus.OPEN


@pytest.mark.django_db
def test_scoring_twice_keeps_one_row_per_day_and_one_alert(alpha):
    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    first = RiskScore.objects.get(enrollment=alpha.enrollment)
    again = risk_score_compute(org=alpha.org, as_of=AS_OF)
    assert again["alerts"] == 0
    assert RiskScore.objects.filter(enrollment=alpha.enrollment).count() == 1
    assert RiskScore.objects.get(enrollment=alpha.enrollment).probability == first.probability
    assert RiskAlert.objects.filter(enrollment=alpha.enrollment).count() == 1
    risk_score_compute(org=alpha.org, as_of=AS_OF + dt.timedelta(days=1))
    assert RiskScore.objects.filter(enrollment=alpha.enrollment).count() == 2
    assert RiskAlert.objects.filter(enrollment=alpha.enrollment).count() == 1


@pytest.mark.django_db
def test_a_closed_alert_does_not_reopen_until_the_risk_has_dipped_and_crossed_again(alpha):
    lessons = fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    alert = RiskAlert.objects.get(enrollment=alpha.enrollment)
    alert_log_action(alert=alert, actor=alpha.teacher, kind="call_parent", note="мама обещала")
    risk_score_compute(org=alpha.org, as_of=AS_OF + dt.timedelta(days=1))
    assert RiskAlert.objects.filter(enrollment=alpha.enrollment).count() == 1
    # The child comes back for a month: the risk falls; then fades again: a new crossing, a new alert.
    back = weekly_lessons(alpha, first=AS_OF + dt.timedelta(days=2), count=8)
    mark_all(alpha, back, ["present"] * 4 + ["absent"] * 4)
    risk_score_compute(org=alpha.org, as_of=AS_OF + dt.timedelta(days=30))
    assert RiskScore.objects.get(scored_on=AS_OF + dt.timedelta(days=30)).band == RiskBand.LOW
    risk_score_compute(org=alpha.org, as_of=AS_OF + dt.timedelta(days=58))
    assert RiskAlert.objects.filter(enrollment=alpha.enrollment).count() == 2
    assert lessons


@pytest.mark.django_db
def test_only_open_enrollments_are_scored(alpha):
    fading_child(alpha, as_of=AS_OF)
    f.EnrollmentFactory(
        organization=alpha.org,
        group=alpha.group,
        started_on=dt.date(2026, 1, 1),
        status=school.EnrollmentStatus.DROPPED,
        ended_on=AS_OF - dt.timedelta(days=3),
    )
    assert risk_score_compute(org=alpha.org, as_of=AS_OF)["scored"] == 1


@pytest.mark.django_db
def test_marking_attendance_rescores_that_child_within_the_request(alpha, django_capture_on_commit_callbacks):
    fading_child(alpha, as_of=alpha.lesson.starts_at.date() - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="absent", actor=alpha.teacher)
    score = RiskScore.objects.get(enrollment=alpha.enrollment)
    assert score.band == RiskBand.HIGH
    assert any("подряд" in explain.factor_text(factor) for factor in score.factors)


def _needs_two_connections() -> None:
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("in-memory SQLite has one connection")


def _run_twice_at_once(org, as_of: dt.date) -> list[Exception]:
    """Two nightly runs in two threads (a connection each), released together; what they raised."""
    errors = []
    ready = threading.Barrier(2, timeout=60)

    def run():
        try:
            ready.wait()
            with unscoped():
                risk_score_compute(org=org, as_of=as_of)
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_scoring_runs_at_once_leave_one_row_and_one_alert(alpha):
    _needs_two_connections()
    fading_child(alpha, as_of=AS_OF)
    assert not _run_twice_at_once(alpha.org, AS_OF)
    assert RiskScore.objects.filter(enrollment=alpha.enrollment).count() == 1
    assert RiskAlert.objects.filter(enrollment=alpha.enrollment).count() == 1


def _scores_and_alerts(org):
    with unscoped():
        scores = sorted(
            RiskScore.objects.filter(organization=org).values_list(
                "enrollment_id", "scored_on", "probability", "band", "factors", "decline_started_on"
            )
        )
        alerts = sorted(
            RiskAlert.objects.filter(organization=org).values_list(
                "enrollment_id", "assigned_to_id", "status"
            )
        )
    return scores, alerts


@pytest.mark.django_db(transaction=True)
def test_two_nightly_runs_at_once_on_a_network_store_what_one_run_stores(
    alpha, history, settings, monkeypatch
):
    """Sixty children, several over the threshold for one teacher: two nightly runs racing each other end
    with the rows one run alone writes — one score per child, no second alert, the weekly budget kept."""
    from kruzhok.risk import alerts

    _needs_two_connections()
    settings.RISK_ALERTS_PER_TEACHER_WEEK = 2
    # The day the most children are fading but not gone yet: several cross the threshold at once.
    fading = history.dropped.values()
    as_of = max(
        (start + dt.timedelta(days=k) for start, _ in fading for k in range(0, 29, 7)),
        key=lambda day: sum(start + dt.timedelta(days=14) <= day < gone for start, gone in fading),
    )
    with unscoped():
        risk_score_compute(org=alpha.org, as_of=as_of)
    alone_scores, alone_alerts = _scores_and_alerts(alpha.org)
    assert sum(band == RiskBand.HIGH for _, _, _, band, _, _ in alone_scores) > 2
    assert len(alone_alerts) == 2  # the weekly budget of the one teacher binds
    with unscoped():
        RiskAlert.objects.filter(organization=alpha.org).delete()
        RiskScore.objects.filter(organization=alpha.org).delete()
    # The worst interleaving, every time: both runs have read the open alerts and the budget spent
    # before either opens one.
    recipients = alerts.first_recipient_ids
    both_read = threading.Barrier(2, timeout=60)

    def recipients_then_wait(**kwargs):
        found = recipients(**kwargs)
        both_read.wait()
        return found

    monkeypatch.setattr(alerts, "first_recipient_ids", recipients_then_wait)
    assert not _run_twice_at_once(alpha.org, as_of)
    together_scores, together_alerts = _scores_and_alerts(alpha.org)
    assert together_scores == alone_scores
    assert together_alerts == alone_alerts


def test_change_point_finds_the_week_attendance_fell():
    import pandas as pd

    weeks_ago = list(range(11, -1, -1))
    series = pd.Series([1, 1, 1, 0.9, 1, 1, 1, 1, 0.2, 0, 0.1, 0], index=weeks_ago, dtype=float)
    as_of = dt.date(2026, 11, 20)
    assert changepoint.decline_start(series, as_of=as_of) == as_of - dt.timedelta(days=7 * 3 + 6)
    steady = pd.Series([1, 0.9, 1, 1, 0.9, 1, 1, 1], index=range(7, -1, -1), dtype=float)
    assert changepoint.decline_start(steady, as_of=as_of) is None


def test_the_numpy_change_point_search_finds_what_ruptures_finds():
    import numpy as np
    import ruptures as rpt

    rng = np.random.default_rng(7)
    for _ in range(60):
        # Continuous rates (no exact ties between cuts) with a step down somewhere, or none.
        n = int(rng.integers(4, 27))
        signal = rng.uniform(0.7, 1.0, size=n)
        if rng.random() < 0.7:
            signal[int(rng.integers(1, n)) :] -= rng.uniform(0.2, 0.7)
        expected = rpt.Binseg(model="l2", min_size=2, jump=1).fit(signal.reshape(-1, 1)).predict(pen=0.3)
        assert changepoint.binseg_l2(signal) == expected


@pytest.mark.django_db
def test_the_decline_date_is_stored_with_the_score(alpha):
    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    score = RiskScore.objects.get(enrollment=alpha.enrollment)
    # Lessons are weekly on AS_OF's weekday; absences began 2 weeks before AS_OF's week.
    assert AS_OF - dt.timedelta(days=27) <= score.decline_started_on <= AS_OF - dt.timedelta(days=7)


def test_reason_texts_use_russian_plurals_and_numbers():
    assert explain.reason_text("absent_run", {"absent_run": 21.0}) == "пропустил 21 занятие подряд"
    assert explain.reason_text("absent_run", {"absent_run": 3.0}) == "пропустил 3 занятия подряд"
    assert explain.reason_text("absent_run", {"absent_run": 11.0}) == "пропустил 11 занятий подряд"
    row = {"missed_last4": 3.0, "lessons_last4": 4.0, "absent_run": 1.0, "days_since_attended": 12.0}
    assert explain.reason_text("missed_last4", row) == "пропустил 3 из 4 последних занятий"
    assert explain.reason_text("days_since_attended", row) == "не был 12 дней"
    assert explain.reason_text("days_since_attended", {"days_since_attended": 21.0}) == "не был 3 недели"
    drop = {"att_baseline": 0.9, "att_rate_4w": 0.5, "att_drop": 0.4}
    assert explain.reason_text("att_drop", drop) == "посещаемость упала с 90 % до 50 %"
    assert (
        explain.reason_text("peers_left_30d", {"peers_left_30d": 2.0}) == "из группы за месяц ушли 2 ребёнка"
    )
    assert explain.reason_text("tenure_days", {"tenure_days": 25.0}).startswith("занимается всего 25 дней")
    assert explain.reason_text("days_since_attended", {"days_since_attended": float("nan")}) is None


def test_features_module_never_queries_per_enrollment():
    # The loader issues a fixed handful of queries whatever the number of enrollments.
    assert feat.load_risk_data.__doc__


@pytest.mark.django_db
def test_a_teacher_gets_at_most_the_weekly_budget_of_new_alerts_riskiest_first(alpha, settings):
    settings.RISK_ALERTS_PER_TEACHER_WEEK = 2
    lessons = fading_child(alpha, as_of=AS_OF)
    for k in range(3):
        child = f.StudentFactory(organization=alpha.org)
        enrollment = f.EnrollmentFactory(
            organization=alpha.org, student=child, group=alpha.group, started_on=alpha.enrollment.started_on
        )
        mark_all(alpha, lessons, ["present"] * (8 + k) + ["absent"] * (4 - k), enrollment=enrollment)
    assert risk_score_compute(org=alpha.org, as_of=AS_OF)["alerts"] == 2
    assert RiskAlert.objects.filter(assigned_to=alpha.teacher).count() == 2
    assert RiskAlert.objects.filter(enrollment=alpha.enrollment).exists()


def test_homework_reasons_read_naturally():
    row = {"hw_missed_28d": 2.0, "hw_score_mean": 4.6, "hw_score_last": 3.1, "hw_score_trend": -1.5}
    assert explain.reason_text("hw_missed_28d", row) == "не сдал 2 домашних задания за 4 недели"
    assert explain.reason_text("hw_score_trend", row) == "оценки за домашние задания упали с 4,6 до 3,1"


@pytest.mark.django_db
def test_an_alert_closes_when_the_child_leaves_the_group(alpha, django_capture_on_commit_callbacks):
    from kruzhok.school.services.enrollments import enrollment_transition

    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=alpha.enrollment, to_status="dropped", actor=alpha.manager, reason="lost_interest"
        )
    assert RiskAlert.objects.get(enrollment=alpha.enrollment).status == AlertStatus.CLOSED


def test_a_stored_reason_is_worded_in_the_readers_language():
    row = {"missed_last4": 3.0, "lessons_last4": 4.0, "sub_days_to_end": -11.0, "renewal_missed": 1.0}
    code, params = explain.reason("missed_last4", row)
    factor = {"feature": "missed_last4", "reason": code, "params": params}
    renewal = dict(zip(("reason", "params"), explain.reason("renewal_missed", row), strict=True))
    with translation.override("ru"):
        assert explain.factor_text(factor) == "пропустил 3 из 4 последних занятий"
        assert explain.factor_text(renewal) == "абонемент закончился 11 дней назад и не продлён"
    with translation.override("en"):
        assert explain.factor_text(factor) == "missed 3 of the last 4 lessons"
        assert explain.factor_text(renewal) == "the subscription ended 11 days ago and was not renewed"
        assert explain.reason_text("debt", {"debt": 4000.0}) == "debt of 4,000 ₽"
        assert explain.reason_text(
            "hw_score_trend", {"hw_score_trend": -1, "hw_score_mean": 4.6, "hw_score_last": 3.1}
        ) == ("homework grades fell from 4.6 to 3.1")


def test_a_reason_stored_before_codes_or_broken_shows_what_it_can():
    # Scores saved before reasons became codes carry ready Russian text; it is shown as it is.
    assert explain.factor_text({"feature": "absent_run", "text": "пропустил 3 занятия подряд"}) == (
        "пропустил 3 занятия подряд"
    )
    assert explain.factor_text({"reason": "no_such_code", "params": {}}) == ""
    assert explain.factor_text({"reason": "absent_run", "params": {"n": "<script>"}}) == ""
    assert explain.factor_text({"reason": "absent_run", "params": {}}) == ""
    assert explain.factor_text("not a dict") == ""
