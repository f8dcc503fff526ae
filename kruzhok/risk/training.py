"""Training data, the temporal backtest that decides whether a trained model replaces the prior, and
model artefacts on disk.

Artefacts are joblib files under settings.RISK_MODEL_DIR written by this project only: a pickle runs
code when loaded, so a file is loaded only if its SHA-256 matches the one stored on its ModelVersion row
(nobody can swap in a file the project did not produce). A file, not a BinaryField, so a model of a big
network does not bloat every database backup and can be inspected with plain joblib.
"""

import datetime as dt
import hashlib
import importlib.metadata
import threading
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from kruzhok.risk import features as feat
from kruzhok.risk.estimators import GBMRiskModel, PriorRiskModel
from kruzhok.risk.models import ModelKind, ModelVersion

SEED = 42
MIN_POSITIVES = 20
MIN_TEST_POSITIVES = 5
LIBRARIES = ("lightgbm", "scikit-learn", "numpy", "pandas", "ruptures", "joblib")


def horizon_days() -> int:
    return int(getattr(settings, "RISK_HORIZON_DAYS", 30))


def model_dir() -> Path:
    return Path(getattr(settings, "RISK_MODEL_DIR", Path(settings.BASE_DIR) / "var" / "models"))


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = ""
    return out


# ---------------------------------------------------------------------------------------------- data


def build_training_set(
    data: feat.RiskData, *, first: int, last: int, step_days: int = 7, horizon: int | None = None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Weekly snapshots from `first` to `last` (day numbers): features as of each snapshot, label =
    the enrollment was dropped within `horizon` days after it. Rows come out in time order."""
    horizon = horizon or horizon_days()
    frames, labels, days = [], [], []
    enr = data.enrollments
    for as_of in range(first, last + 1, step_days):
        ids = feat.open_enrollment_ids(data, as_of)
        if not len(ids):
            continue
        X = feat.compute_features(data, as_of=as_of, enrollment_ids=ids)
        rows = enr.loc[X.index]
        y = (rows["end_kind"] == feat.DROPPED) & (rows["ended"] <= as_of + horizon)
        frames.append(X)
        labels.append(y.to_numpy(dtype=int))
        days.append(np.full(len(X), as_of))
    if not frames:
        return pd.DataFrame(columns=feat.feature_names()), np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    return pd.concat(frames), np.concatenate(labels), np.concatenate(days)


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    """ROC-AUC, PR-AUC, Brier, expected calibration error (10 bins), precision in the top 10 %."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    if len(y) == 0:
        return {"n": 0}
    both = len(np.unique(y)) == 2
    bins = np.minimum((p * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(y, p)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, p)), 4),
        "ece": round(float(ece), 4),
        "precision_at_10": round(float(y[top].mean()), 4),
    }


# ---------------------------------------------------------------------------------------------- versions


def prior_version(*, org) -> ModelVersion:
    """The organisation's active model, creating the prior the first time (race-safe)."""
    active = ModelVersion.objects.filter(organization_id=org.id, is_active=True).first()
    if active:
        return active
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                organization_id=org.id,
                kind=ModelKind.PRIOR,
                is_active=True,
                trained_at=timezone.now(),
                horizon_days=horizon_days(),
                features=feat.feature_names(),
                params={"intercept": PriorRiskModel().intercept},
                library_versions=library_versions(),
                seed=SEED,
                note="Начальная модель: веса заданы вручную",
            )
    except IntegrityError:
        return ModelVersion.objects.get(organization_id=org.id, is_active=True)


# Keyed by what identifies the artefact, not just the row id (ids can be reused after a rollback).
_cache: dict[tuple, object] = {}
_cache_lock = threading.Lock()


def load_estimator(version: ModelVersion):
    key = (
        version.organization_id,
        version.pk,
        version.kind,
        version.artefact_sha256,
        tuple(version.features),
    )
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    if version.kind == ModelKind.PRIOR:
        model = PriorRiskModel(feature_names=version.features or feat.feature_names()).fit(None)
    else:
        import joblib

        path = model_dir() / version.artefact_path
        blob = path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != version.artefact_sha256:
            raise RuntimeError(f"model file {path} does not match its recorded hash")
        model = joblib.load(path)
    with _cache_lock:
        _cache[key] = model
    return model


def _save_artefact(*, org, model) -> tuple[str, str]:
    import joblib

    folder = model_dir() / str(org.id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"gbm-{timezone.now():%Y%m%d-%H%M%S-%f}.joblib"
    joblib.dump(model, folder / name)
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    return f"{org.id}/{name}", digest


def risk_train(*, org, today: dt.date | None = None, data: feat.RiskData | None = None) -> ModelVersion:
    """Train on the organisation's own history; the trained model becomes active only if its temporal
    backtest beats the active prior. Always records a ModelVersion (inactive when it lost)."""
    from kruzhok.school.services.people import org_today

    today = today or org_today(org)
    horizon = horizon_days()
    data = data if data is not None else load_risk_data_for_training(org=org, today=today)
    current = prior_version(org=org)
    last = today.toordinal() - horizon
    if data.enrollments.empty or last < data.enrollments["started"].min():
        X, y, snap = build_training_set(data, first=0, last=-1)
    else:
        X, y, snap = build_training_set(data, first=int(data.enrollments["started"].min()) + 14, last=last)
    names = feat.feature_names()
    base = {
        "organization_id": org.id,
        "kind": ModelKind.GBM,
        "trained_at": timezone.now(),
        "horizon_days": horizon,
        "features": names,
        "params": GBMRiskModel().get_params(),
        "library_versions": library_versions(),
        "seed": SEED,
        "data_from": feat.day_date(snap.min()) if len(snap) else None,
        "data_to": feat.day_date(snap.max()) if len(snap) else None,
    }
    if y.sum() < MIN_POSITIVES:
        return ModelVersion.objects.create(
            **base,
            metrics={"rows": int(len(y)), "positives": int(y.sum())},
            note=f"Мало данных: {int(y.sum())} уходов, нужно {MIN_POSITIVES}; работает базовая модель",
        )

    # Temporal split with a gap of one horizon, so no training label looks into the test period.
    days = np.unique(snap)
    cutoff = days[int(len(days) * 0.75)]
    train = snap < cutoff - horizon
    test = snap >= cutoff
    prior = PriorRiskModel(feature_names=names).fit(X)
    metrics = {"rows": int(len(y)), "positives": int(y.sum()), "split_day": str(feat.day_date(cutoff))}
    wins = False
    weight = not_useful_weights(org=org, enrollment_ids=X.index.to_numpy(), snapshot_days=snap, labels=y)
    metrics["not_useful_rows"] = int((weight > 1).sum())
    if y[train].sum() >= MIN_POSITIVES // 2 and y[test].sum() >= MIN_TEST_POSITIVES:
        candidate = GBMRiskModel(random_state=SEED).fit(X[train], y[train], sample_weight=weight[train])
        metrics["model"] = evaluate(y[test], candidate.predict_proba(X[test])[:, 1])
        metrics["prior"] = evaluate(y[test], prior.predict_proba(X[test])[:, 1])
        wins = (metrics["model"].get("roc_auc") or 0) > (metrics["prior"].get("roc_auc") or 0)
    if not wins:
        return ModelVersion.objects.create(
            **base, metrics=metrics, note="Не лучше базовой модели на проверке по времени; не включена"
        )
    final = GBMRiskModel(random_state=SEED).fit(X, y, sample_weight=weight)
    path, digest = _save_artefact(org=org, model=final)
    with transaction.atomic():
        ModelVersion.objects.filter(organization_id=org.id, is_active=True).update(is_active=False)
        version = ModelVersion.objects.create(
            **base,
            is_active=True,
            metrics=metrics,
            artefact_path=path,
            artefact_sha256=digest,
            note="Лучше базовой модели на проверке по времени; включена",
        )
    del current
    return version


# Staff said "not useful" and the child stayed: that false alarm weighs this many ordinary rows in training.
NOT_USEFUL_WEIGHT = 3.0
NOT_USEFUL_WINDOW_DAYS = 14


def not_useful_weights(*, org, enrollment_ids, snapshot_days, labels) -> np.ndarray:
    """Training weights that keep staff feedback: a snapshot within two weeks of an alert marked "not
    useful", for a child who did not leave within the horizon (label 0), counts NOT_USEFUL_WEIGHT times,
    so the next model learns from the alarms it raised in vain. A verdict the child's leaving proved
    wrong changes nothing (the label already says so)."""
    from kruzhok.risk.models import RiskAlert

    weight = np.ones(len(labels))
    verdicts = list(
        RiskAlert.all_objects.filter(organization_id=org.id, not_useful=True).values_list(
            "enrollment_id", "opened_on"
        )
    )
    if not verdicts:
        return weight
    frame = pd.DataFrame(verdicts, columns=["enrollment_id", "day"])
    frame["day"] = [d.toordinal() for d in frame["day"]]
    rows = pd.DataFrame({"enrollment_id": np.asarray(enrollment_ids), "day": np.asarray(snapshot_days)})
    rows["row"] = np.arange(len(rows))
    near = rows.merge(frame, on="enrollment_id", suffixes=("", "_alert"))
    near = near[(near["day"] - near["day_alert"]).abs() <= NOT_USEFUL_WINDOW_DAYS]["row"].to_numpy()
    near = near[np.asarray(labels)[near] == 0]
    weight[near] = NOT_USEFUL_WEIGHT
    return weight


def load_risk_data_for_training(*, org, today: dt.date) -> feat.RiskData:
    return feat.load_risk_data(org=org, until=today)


# ---------------------------------------------------------------------------------------------- lead time


def lead_time_replay(*, org, weeks: int = 26, today: dt.date | None = None, data=None) -> dict:
    """Replays weekly scoring over the last `weeks` weeks with the organisation's active model and, for
    every child who left in that time, finds the first week the score crossed the alert threshold
    (within 90 days before leaving). Reports how many leavers were flagged, how many days ahead (median
    and quartiles), and how many children who stayed were flagged per week (the price of those alerts)."""
    from kruzhok.risk.services import alert_threshold
    from kruzhok.school.services.people import org_today

    today = today or org_today(org)
    data = data if data is not None else feat.load_risk_data(org=org, until=today)
    model = load_estimator(prior_version(org=org))
    names = list(model.feature_names_in_)
    threshold = alert_threshold()
    last = today.toordinal()
    first = last - 7 * weeks
    first_flag: dict[int, int] = {}
    stayer_flags, snapshots = 0, 0
    enr = data.enrollments
    for as_of in range(first, last + 1, 7):
        ids = feat.open_enrollment_ids(data, as_of)
        if not len(ids):
            continue
        X = feat.compute_features(data, as_of=as_of, enrollment_ids=ids)
        p = model.predict_proba(X.reindex(columns=names).to_numpy(dtype=float))[:, 1]
        flagged = X.index[p >= threshold]
        for eid in flagged:
            first_flag.setdefault(int(eid), as_of)
        stays = enr.loc[flagged, "end_kind"] != feat.DROPPED
        stayer_flags += int(stays.sum())
        snapshots += 1
    left = enr[(enr["end_kind"] == feat.DROPPED) & (enr["ended"] > first) & (enr["ended"] <= last)]
    leads = []
    for eid, ended in left["ended"].items():
        flagged_on = first_flag.get(int(eid))
        if flagged_on is not None and 0 <= ended - flagged_on <= 90:
            leads.append(ended - flagged_on)
    leads_arr = np.array(leads, dtype=float)
    return {
        "weeks": weeks,
        "leavers": int(len(left)),
        "flagged_before_leaving": int(len(leads)),
        "lead_days_median": float(np.median(leads_arr)) if len(leads) else None,
        "lead_days_p25": float(np.percentile(leads_arr, 25)) if len(leads) else None,
        "lead_days_p75": float(np.percentile(leads_arr, 75)) if len(leads) else None,
        "stayers_flagged_per_week": round(stayer_flags / max(snapshots, 1), 1),
    }
