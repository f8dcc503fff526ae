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


def history_start(data: feat.RiskData) -> int | None:
    """The first day the history can teach from: the first enrollment, or the first marked lesson when
    the registers start later (enrollment lists imported from before the centre kept its register here
    have no attendance: every child in them would look absent, and the model learnt nothing)."""
    if data.enrollments.empty:
        return None
    start = int(data.enrollments["started"].min())
    if not data.marks.empty:
        start = max(start, int(data.marks["day"].min()))
    return start


def risk_train(*, org, today: dt.date | None = None, data: feat.RiskData | None = None) -> ModelVersion:
    """Train on the organisation's own history; the trained model becomes active only if its temporal
    backtest beats the active prior. Always records a ModelVersion (inactive when it lost)."""
    from kruzhok.school.services.people import org_today

    today = today or org_today(org)
    horizon = horizon_days()
    data = data if data is not None else load_risk_data_for_training(org=org, today=today)
    current = prior_version(org=org)
    last = today.toordinal() - horizon
    start = history_start(data)
    if start is None or last < start:
        X, y, snap = build_training_set(data, first=0, last=-1)
    else:
        X, y, snap = build_training_set(data, first=start + 14, last=last)
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

LEAD_WINDOW_DAYS = 90
# The baseline printed beside the model: the rule a centre uses without any model.
ABSENCE_RULE_DAYS = 14


def lead_time_replay(
    *, org, weeks: int = 26, today: dt.date | None = None, data=None, threshold: float | None = None
) -> dict:
    """Replays weekly scoring over the last `weeks` weeks with the organisation's active model and raises
    alerts the way the scorer does (`alerts.alerts_raise`): a score at/over the threshold or 15 points
    above a week ago opens one, one per crossing (a new one only after the score dipped under the
    threshold), at most the organisation's weekly budget per recipient and week, riskiest first.

    For every child who left in that time: was an alert raised within 90 days before leaving, and how
    many days ahead (median and quartiles), overall and by the reason recorded for leaving. The price:
    alerts per recipient per week, and how many went to children who stayed. The same replay is run in
    the same pass for the simple absence rule (not seen for `ABSENCE_RULE_DAYS` days or more)."""
    from kruzhok.risk.alerts import JUMP, first_recipient_ids, weekly_budget
    from kruzhok.risk.services import alert_threshold
    from kruzhok.school.models import Enrollment
    from kruzhok.school.services.people import org_today

    today = today or org_today(org)
    data = data if data is not None else feat.load_risk_data(org=org, until=today)
    version = prior_version(org=org)
    model = load_estimator(version)
    names = list(model.feature_names_in_)
    threshold = alert_threshold(org) if threshold is None else threshold
    budget = weekly_budget(org=org)
    last = today.toordinal()
    first = last - 7 * weeks
    enr = data.enrollments
    recipients = first_recipient_ids(org=org, enrollment_ids=enr.index.tolist())
    model_alerts = _AlertReplay(threshold=threshold, jump=JUMP, budget=budget, recipients=recipients)
    rule_alerts = _AlertReplay(threshold=1.0, jump=None, budget=budget, recipients=recipients)
    for as_of in range(first, last + 1, 7):
        ids = feat.open_enrollment_ids(data, as_of)
        if not len(ids):
            continue
        X = feat.compute_features(data, as_of=as_of, enrollment_ids=ids)
        p = model.predict_proba(X.reindex(columns=names).to_numpy(dtype=float))[:, 1]
        absent = np.nan_to_num(X["days_since_attended"].to_numpy(dtype=float), nan=0.0) >= ABSENCE_RULE_DAYS
        model_alerts.week(as_of, X.index.to_numpy(), p)
        rule_alerts.week(as_of, X.index.to_numpy(), absent.astype(float))
    left = enr[(enr["end_kind"] == feat.DROPPED) & (enr["ended"] > first) & (enr["ended"] <= last)]
    reasons = dict(
        Enrollment.all_objects.filter(organization_id=org.id, pk__in=left.index.tolist()).values_list(
            "pk", "drop_reason"
        )
    )
    model_result = model_alerts.summary(left, reasons, enr)
    rule_result = rule_alerts.summary(left, reasons, enr)
    rule_result["rule"] = f"days_since_attended >= {ABSENCE_RULE_DAYS}"
    rule_result.pop("by_reason", None)
    return {
        "weeks": weeks,
        "model": version.kind,
        "model_data_to": str(version.data_to) if version.data_to else None,
        "threshold": threshold,
        "leavers": int(len(left)),
        **model_result,
        "baselines": {"absence_rule": rule_result},
    }


class _AlertReplay:
    """The alert rules of `alerts.alerts_raise`, replayed over weekly scores held in memory."""

    def __init__(self, *, threshold: float, jump: float | None, budget: int, recipients: dict):
        self.threshold, self.jump, self.budget, self.recipients = threshold, jump, budget, recipients
        self.previous: dict[int, float] = {}
        self.alerted: set[int] = set()  # alerted and not yet dipped under the threshold since
        self.first_alert: dict[int, list[int]] = {}
        self.per_recipient: dict = {}
        self.recipient_weeks = 0  # recipients with an open enrollment, summed over the weeks
        self.total = 0

    def week(self, as_of: int, ids: np.ndarray, scores: np.ndarray) -> None:
        self.recipient_weeks += len({self.recipients.get(int(e)) for e in ids})
        spent: dict = {}
        order = np.lexsort((ids, -scores))
        for i in order:
            eid, score = int(ids[i]), float(scores[i])
            crossed = score >= self.threshold
            # As in alerts_raise: only a score at 60 % of the threshold or more can raise one by a jump.
            jumped = (
                self.jump is not None
                and score >= self.threshold * 0.6
                and eid in self.previous
                and score - self.previous[eid] >= self.jump
            )
            if not crossed and eid in self.alerted:
                self.alerted.discard(eid)
            self.previous[eid] = score
            to = self.recipients.get(eid)
            if not (crossed or jumped) or eid in self.alerted or spent.get(to, 0) >= self.budget:
                continue
            self.alerted.add(eid)
            self.first_alert.setdefault(eid, []).append(as_of)
            spent[to] = spent.get(to, 0) + 1
            self.per_recipient[to] = self.per_recipient.get(to, 0) + 1
            self.total += 1

    def summary(self, left: pd.DataFrame, reasons: dict, enr: pd.DataFrame) -> dict:
        leads: dict[int, int] = {}
        for eid, ended in left["ended"].items():
            days = [
                int(ended - d)
                for d in self.first_alert.get(int(eid), [])
                if 0 < ended - d <= LEAD_WINDOW_DAYS
            ]
            if days:
                leads[int(eid)] = max(days)
        stayers = sum(
            len(days) for eid, days in self.first_alert.items() if enr.at[eid, "end_kind"] != feat.DROPPED
        )
        by_reason = {}
        for reason in sorted({reasons.get(int(e), "") for e in left.index}):
            group = [int(e) for e in left.index if reasons.get(int(e), "") == reason]
            found = [leads[e] for e in group if e in leads]
            by_reason[reason or "—"] = {
                "leavers": len(group),
                "flagged": len(found),
                "lead_days_median": float(np.median(found)) if found else None,
            }
        values = np.array(list(leads.values()), dtype=float)
        return {
            "flagged_before_leaving": len(leads),
            "flagged_share": round(len(leads) / max(len(left), 1), 3),
            "lead_days_median": float(np.median(values)) if len(values) else None,
            "lead_days_p25": float(np.percentile(values, 25)) if len(values) else None,
            "lead_days_p75": float(np.percentile(values, 75)) if len(values) else None,
            "alerts": self.total,
            "alerts_to_stayers": stayers,
            "alerts_per_teacher_week": round(self.total / max(self.recipient_weeks, 1), 2),
            "by_reason": by_reason,
        }


def leaver_timelines(*, org, count: int = 5, weeks: int = 26, today: dt.date | None = None, data=None):
    """For `count` children who left in the last `weeks` weeks (those who left for lost interest first):
    their attendance marks, then per week the score and its three strongest factors. Shows whether an
    alert came late because of the thresholds, lagging signals, the model, or a story that gave no sign."""
    from kruzhok.school.models import Enrollment
    from kruzhok.school.services.people import org_today

    today = today or org_today(org)
    data = data if data is not None else feat.load_risk_data(org=org, until=today)
    model = load_estimator(prior_version(org=org))
    names = list(model.feature_names_in_)
    last = today.toordinal()
    enr = data.enrollments
    left = enr[(enr["end_kind"] == feat.DROPPED) & (enr["ended"] > last - 7 * weeks) & (enr["ended"] <= last)]
    reasons = dict(
        Enrollment.all_objects.filter(organization_id=org.id, pk__in=left.index.tolist()).values_list(
            "pk", "drop_reason"
        )
    )
    chosen = sorted(left.index, key=lambda e: (reasons.get(e) != "lost_interest", e))[:count]
    lines = []
    for eid in chosen:
        row = left.loc[eid]
        started, ended = int(row["started"]), int(row["ended"])
        marks = data.marks[data.marks["enrollment_id"] == eid].sort_values("day")
        register = "".join("PLAE"[s] for s in marks["status"].to_numpy())
        lines.append(
            f"#{eid} {reasons.get(eid) or '—'}: {feat.day_date(started)} → {feat.day_date(ended)}; "
            f"marks (P present, L late, A absent, E excused): {register}"
        )
        for as_of in range(max(started, ended - 7 * 12), ended, 7):
            X = feat.compute_features(data, as_of=as_of, enrollment_ids=[eid])
            values = X.reindex(columns=names).to_numpy(dtype=float)
            p = float(model.predict_proba(values)[0, 1])
            contributions = model.contributions(values)[0, :-1]
            top = np.argsort(-contributions, kind="stable")[:3]
            factors = ", ".join(f"{names[j]}={values[0, j]:.2f} ({contributions[j]:+.2f})" for j in top)
            lines.append(f"  {feat.day_date(as_of)} ({ended - as_of:>2} days before) p={p:.2f}  {factors}")
    return lines
