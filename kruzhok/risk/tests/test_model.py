import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from kruzhok.risk import features as feat
from kruzhok.risk.estimators import GBMRiskModel, PriorRiskModel
from kruzhok.risk.models import ModelKind, ModelVersion
from kruzhok.risk.tests.conftest import TODAY
from kruzhok.risk.training import build_training_set, evaluate, load_estimator, prior_version, risk_train


def synthetic_xy(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "att_rate_4w": rng.uniform(0, 1, n),
            "absent_run": rng.integers(0, 5, n).astype(float),
            "tenure_days": rng.uniform(0, 300, n),
        }
    )
    logit = -2 - 3 * (X["att_rate_4w"] - 0.7) + 0.6 * X["absent_run"]
    y = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


def test_two_fits_on_the_same_data_give_identical_scores():
    X, y = synthetic_xy()
    a = GBMRiskModel().fit(X, y).predict_proba(X)
    b = clone(GBMRiskModel()).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_the_estimator_follows_the_scikit_learn_contract():
    model = GBMRiskModel(n_estimators=20)
    assert model.get_params()["random_state"] == 42
    assert model.fit(*synthetic_xy(300)) is model
    assert hasattr(model, "model_") and hasattr(model, "calibrator_")
    assert list(model.classes_) == [0, 1]


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrated_probabilities_match_observed_rates_on_fresh_data(method):
    X, y = synthetic_xy(4000, seed=1)
    model = GBMRiskModel(calibration=method).fit(X, y)
    X_new, y_new = synthetic_xy(4000, seed=2)
    p = model.predict_proba(X_new)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    assert abs(p.mean() - y_new.mean()) < 0.03
    assert evaluate(y_new, p)["ece"] < 0.05
    assert evaluate(y_new, p)["roc_auc"] > 0.7


def test_contributions_add_up_to_the_margin_and_point_at_the_signal_that_matters():
    X, y = synthetic_xy()
    model = GBMRiskModel().fit(X, y)
    contributions = model.contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=1), model.margin(X), rtol=1e-6, atol=1e-6)
    worst = X.assign(att_rate_4w=0.0, absent_run=4.0).iloc[:1]
    assert np.argmax(model.contributions(worst)[0, :3]) in (0, 1)


def test_the_prior_is_additive_and_rises_with_absences():
    names = feat.feature_names()
    prior = PriorRiskModel(feature_names=names).fit(None)
    calm = pd.DataFrame([dict.fromkeys(names, np.nan)])
    calm["att_rate_4w"] = 0.95
    fading = calm.copy()
    fading["att_rate_4w"], fading["absent_run"], fading["days_since_attended"] = 0.25, 3, 21
    p_calm, p_fading = prior.predict_proba(calm)[0, 1], prior.predict_proba(fading)[0, 1]
    assert p_calm < 0.1 < 0.5 < p_fading
    margin = prior.contributions(fading).sum(axis=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), [p_fading])


@pytest.mark.django_db
def test_a_new_organisation_starts_on_the_prior_and_a_weak_trained_model_does_not_take_over(alpha, history):
    version = prior_version(org=alpha.org)
    assert version.kind == ModelKind.PRIOR and version.is_active
    assert prior_version(org=alpha.org).pk == version.pk
    trained = risk_train(org=alpha.org, today=TODAY)
    assert trained.kind == ModelKind.GBM
    assert trained.features == feat.feature_names()
    assert trained.library_versions["lightgbm"]
    assert trained.data_from and trained.data_to
    assert "prior" in trained.metrics and "model" in trained.metrics
    active = ModelVersion.objects.get(organization=alpha.org, is_active=True)
    won = trained.metrics["model"]["roc_auc"] > trained.metrics["prior"]["roc_auc"]
    assert active.pk == (trained.pk if won else version.pk)
    if won:
        assert load_estimator(trained).predict_proba(np.zeros((1, len(trained.features))))[0, 1] >= 0


@pytest.mark.django_db
def test_training_labels_look_only_horizon_days_ahead(alpha, history):
    data = feat.load_risk_data(org=alpha.org)
    day = TODAY.toordinal() - 60
    X, y, snap = build_training_set(data, first=day, last=day)
    enr = data.enrollments.loc[X.index]
    expected = (enr["end_kind"] == feat.DROPPED) & (enr["ended"] <= day + 30)
    np.testing.assert_array_equal(y, expected.to_numpy(dtype=int))
    assert (snap == day).all() and y.sum() >= 1


@pytest.mark.django_db
def test_a_trained_model_that_beats_the_prior_takes_over_and_its_file_is_checked(
    alpha, history, monkeypatch, settings
):
    from kruzhok.risk import estimators, training
    from kruzhok.risk.models import RiskScore
    from kruzhok.risk.services import risk_score_compute

    # A blind prior (every child the same risk) that any trained model should beat.
    monkeypatch.setattr(estimators, "PRIOR_WEIGHTS", [])
    trained = risk_train(org=alpha.org, today=TODAY)
    assert trained.metrics["prior"]["roc_auc"] == 0.5
    assert trained.is_active and trained.kind == ModelKind.GBM
    assert ModelVersion.objects.filter(organization=alpha.org, is_active=True).get() == trained
    path = settings.RISK_MODEL_DIR / trained.artefact_path
    assert path.exists() and len(trained.artefact_sha256) == 64
    risk_score_compute(org=alpha.org, as_of=TODAY)
    assert set(RiskScore.objects.values_list("model_version_id", flat=True)) == {trained.pk}
    # A file swapped behind the project's back is refused.
    path.write_bytes(path.read_bytes() + b"x")
    training._cache.clear()
    with pytest.raises(RuntimeError, match="does not match"):
        load_estimator(trained)


@pytest.mark.django_db
def test_the_replay_flags_fading_children_weeks_before_they_leave(alpha, history):
    from kruzhok.risk.training import lead_time_replay

    result = lead_time_replay(org=alpha.org, weeks=20, today=TODAY)
    assert result["leavers"] >= 5
    # Leavers fade for 3–5 weeks first: most must be flagged, and at least a week ahead.
    assert result["flagged_before_leaving"] >= result["leavers"] // 2
    assert result["lead_days_median"] >= 7
    # The price is printed beside it, and the absence rule is replayed in the same pass.
    assert 0 < result["alerts_per_teacher_week"] <= result["alerts"]
    rule = result["baselines"]["absence_rule"]
    assert rule["rule"] == "days_since_attended >= 14"
    assert rule["flagged_before_leaving"] <= result["leavers"]


def test_the_replay_raises_alerts_as_the_scorer_does_one_per_crossing_within_the_weekly_budget():
    import pandas as pd

    from kruzhok.risk import features as feat
    from kruzhok.risk.training import _AlertReplay

    replay = _AlertReplay(threshold=0.5, jump=0.15, budget=2, recipients={1: 10, 2: 10, 3: 10, 4: 20})
    ids = np.array([1, 2, 3, 4])
    replay.week(700, ids, np.array([0.6, 0.1, 0.1, 0.2]))  # 1 crosses
    replay.week(707, ids, np.array([0.7, 0.35, 0.8, 0.22]))  # 1 still over: no new one; 2 jumps; 3 crosses
    replay.week(714, ids, np.array([0.4, 0.9, 0.9, 0.25]))  # 1 dips; 2 and 3 still over: nothing new
    replay.week(721, ids, np.array([0.6, 0.9, 0.9, 0.26]))  # 1 crosses again
    assert replay.first_alert == {1: [700, 721], 2: [707], 3: [707]}
    # Teacher 10's budget of 2 a week: three children over the threshold at once, the riskiest two alerted.
    busy = _AlertReplay(threshold=0.5, jump=None, budget=2, recipients={1: 10, 2: 10, 3: 10})
    busy.week(700, np.array([1, 2, 3]), np.array([0.6, 0.9, 0.7]))
    assert sorted(busy.first_alert) == [2, 3]
    # Child 1 left 30 days after its first alert: the lead counts from the first one in the window.
    enr = pd.DataFrame(
        {"ended": [751.0, np.nan, np.nan, np.nan], "end_kind": [feat.DROPPED] + [feat.OPEN] * 3}
    )
    enr.index = [1, 2, 3, 4]
    summary = replay.summary(enr.iloc[:1], {1: "lost_interest"}, enr)
    assert summary["lead_days_median"] == 51 and summary["flagged_before_leaving"] == 1
    assert summary["alerts"] == 4 and summary["alerts_to_stayers"] == 2
    assert summary["by_reason"]["lost_interest"] == {"leavers": 1, "flagged": 1, "lead_days_median": 51.0}


def test_rows_staff_called_false_alarms_weigh_more_and_pull_their_scores_down():
    X, y = synthetic_xy(n=1500, seed=3)
    plain = GBMRiskModel(n_estimators=60, calibration="sigmoid").fit(X, y)
    risky_stayers = np.flatnonzero(
        (y == 0) & (plain.predict_proba(X)[:, 1] > np.quantile(plain.predict_proba(X)[:, 1], 0.8))
    )
    weight = np.ones(len(y))
    weight[risky_stayers] = 3.0
    weighted = GBMRiskModel(n_estimators=60, calibration="sigmoid").fit(X, y, sample_weight=weight)
    before = plain.predict_proba(X.iloc[risky_stayers])[:, 1].mean()
    after = weighted.predict_proba(X.iloc[risky_stayers])[:, 1].mean()
    assert after < before


@pytest.mark.django_db
def test_not_useful_verdicts_become_training_weights_only_for_children_who_stayed(alpha):
    import datetime as dt

    from kruzhok.risk.models import RiskAlert
    from kruzhok.risk.training import NOT_USEFUL_WEIGHT, not_useful_weights

    day = dt.date(2026, 10, 1)
    RiskAlert.objects.create(
        organization=alpha.org, enrollment=alpha.enrollment, opened_on=day, probability=0.7, not_useful=True
    )
    eid = alpha.enrollment.pk
    snaps = np.array([day.toordinal() - 7, day.toordinal() + 7, day.toordinal() + 60, day.toordinal()])
    weight = not_useful_weights(
        org=alpha.org,
        enrollment_ids=[eid, eid, eid, eid + 999],
        snapshot_days=snaps,
        labels=np.array([0, 1, 0, 0]),
    )
    # Near the verdict and stayed: heavier; left anyway, far from it, or another child: ordinary.
    assert weight.tolist() == [NOT_USEFUL_WEIGHT, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--threshold", "0"], "--threshold"),
        (["--threshold", "1.5"], "--threshold"),
        (["--timelines", "-1"], "--timelines"),
        (["--timelines", "100000"], "--timelines"),
        (["--weeks", "0"], "--weeks"),
    ],
)
def test_the_lead_time_command_refuses_out_of_range_options(args, message):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=message):
        call_command("risk_leadtime", *args)


@pytest.mark.django_db
def test_the_lead_time_command_prints_the_model_beside_the_absence_rule_and_a_leavers_timeline(
    alpha, history
):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "risk_leadtime",
        "--org",
        alpha.org.slug,
        "--weeks",
        "20",
        "--timelines",
        "1",
        "--today",
        str(TODAY),
        stdout=out,
    )
    text = out.getvalue()
    assert "alerts/teacher/week" in text and "baseline: days_since_attended >= 14" in text
    assert "days before) p=" in text


def test_training_starts_where_the_register_starts_not_at_imported_enrollments():
    from kruzhok.risk.training import history_start

    def data(starts, mark_days):
        enrollments = pd.DataFrame({"started": starts}, index=range(1, len(starts) + 1))
        marks = pd.DataFrame({"day": mark_days, "enrollment_id": [1] * len(mark_days)})
        return feat.RiskData(
            org_id=1, enrollments=enrollments, marks=marks, holidays=np.empty((0, 2)), links=None
        )

    # Last year's lists were imported (enrollments from day 100), the register starts on day 465.
    assert history_start(data([100, 120, 470], [465, 472])) == 465
    # A register as old as the enrollments: the first enrollment starts the history.
    assert history_start(data([100, 120], [100, 130])) == 100
    assert history_start(data([100], [])) == 100
    assert history_start(data([], [])) is None
