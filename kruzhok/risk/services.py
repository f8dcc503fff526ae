"""Scoring (nightly for everyone, within seconds for one enrollment) and what staff do with alerts."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kruzhok.risk.models import (
    OPEN_ALERT_STATUSES,
    ActionKind,
    AlertStatus,
    RiskAlert,
    RiskAlertAction,
    RiskBand,
    RiskScore,
)


def alert_threshold() -> float:
    return float(getattr(settings, "RISK_ALERT_THRESHOLD", 0.5))


def band_for(probability: float) -> str:
    threshold = alert_threshold()
    if probability >= threshold:
        return RiskBand.HIGH
    if probability >= threshold / 2:
        return RiskBand.MEDIUM
    return RiskBand.LOW


JUMP = 0.15  # a rise of 15 points in a week raises an alert even below the threshold


def risk_score_compute(*, org, enrollment_ids=None, as_of: dt.date | None = None) -> dict[str, int]:
    """Score open enrollments (all, or `enrollment_ids`) as of a day and store one RiskScore per
    enrollment and day. Running it again the same day overwrites that day's row; two runs at once
    upsert into the same rows (a single INSERT … ON CONFLICT DO UPDATE)."""
    # Heavy scientific imports stay out of URL loading (views import this module).
    import numpy as np

    from kruzhok.risk import changepoint, explain
    from kruzhok.risk import features as feat
    from kruzhok.risk.training import load_estimator, prior_version
    from kruzhok.school.services.people import org_today

    as_of = as_of or org_today(org)
    day = feat.day_number(as_of)
    data = feat.load_risk_data(org=org, enrollment_ids=enrollment_ids, until=as_of)
    open_ids = feat.open_enrollment_ids(data, day)
    if enrollment_ids is not None:
        wanted = {int(i) for i in enrollment_ids}
        open_ids = np.array([i for i in open_ids if i in wanted], dtype=np.int64)
    if not len(open_ids):
        return {"scored": 0, "alerts": 0}
    X = feat.compute_features(data, as_of=day, enrollment_ids=open_ids)
    version = prior_version(org=org)
    model = load_estimator(version)
    names = list(model.feature_names_in_)
    for name in names:
        if name not in X.columns:
            X[name] = np.nan  # a signal the model knew but no provider computes any more
    values = X[names].to_numpy(dtype=float)
    probability = model.predict_proba(values)[:, 1]
    threshold = alert_threshold()
    # Explanations and change points cost far more than predictions: only for rows someone will read.
    explain_rows = np.flatnonzero(probability >= threshold / 2)
    contributions = model.contributions(values[explain_rows]) if len(explain_rows) else None
    # A change point is looked for only where a fall is visible at all.
    falling = X["att_drop"].fillna(0).to_numpy() >= 0.2
    falling |= X["absent_run"].fillna(0).to_numpy() >= 2
    falling |= X["days_since_attended"].fillna(0).to_numpy() >= 14
    # Change points cost ~1 ms each (ruptures, per series): for the children staff will look at first.
    decline_rows = explain_rows[falling[explain_rows] & (probability[explain_rows] >= threshold)]
    series = feat.weekly_attendance(data, as_of=day, enrollment_ids=X.index[decline_rows])
    declines = changepoint.decline_starts(series, as_of=as_of)

    factors: dict[int, list] = {}
    for k, r in enumerate(explain_rows):
        factors[r] = explain.top_factors(names, values[r], contributions[k])
    scores = [
        RiskScore(
            organization_id=org.id,
            enrollment_id=int(eid),
            scored_on=as_of,
            probability=float(np.clip(probability[r], 0.0, 1.0)),
            band=band_for(float(probability[r])),
            factors=factors.get(r, []),
            model_version_id=version.pk,
            decline_started_on=declines.get(int(eid)),
        )
        for r, eid in enumerate(X.index)
    ]
    _upsert_scores(scores)
    alerts = _raise_alerts(org=org, scores=scores, as_of=as_of)
    return {"scored": len(scores), "alerts": alerts}


UPSERT_COLUMNS = (
    "organization_id",
    "enrollment_id",
    "scored_on",
    "probability",
    "band",
    "factors",
    "model_version_id",
    "decline_started_on",
    "created_at",
    "updated_at",
)


def _upsert_scores(scores: list[RiskScore]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE per batch (SQLite and PostgreSQL both speak it): two runs at
    once end with one row per enrollment and day, and no per-row ORM work slows the nightly run."""
    import json

    from django.db import connection

    now = timezone.now()
    table = RiskScore._meta.db_table
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    placeholders = ", ".join("%s" + (json_cast if c == "factors" else "") for c in UPSERT_COLUMNS)
    updated = ("probability", "band", "factors", "model_version_id", "decline_started_on", "updated_at")
    sql = (
        f"INSERT INTO {table} ({', '.join(UPSERT_COLUMNS)}) VALUES ({placeholders}) "  # noqa: S608 - names are constants
        f"ON CONFLICT (enrollment_id, scored_on) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in updated)
    )
    ops = connection.ops
    rows = [
        (
            s.organization_id,
            s.enrollment_id,
            ops.adapt_datefield_value(s.scored_on),
            s.probability,
            s.band,
            json.dumps(s.factors, ensure_ascii=False),
            s.model_version_id,
            ops.adapt_datefield_value(s.decline_started_on),
            ops.adapt_datetimefield_value(now),
            ops.adapt_datetimefield_value(now),
        )
        for s in scores
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 2000):
            cursor.executemany(sql, rows[start : start + 2000])


def _raise_alerts(*, org, scores: list[RiskScore], as_of: dt.date) -> int:
    """One alert per crossing: a score over the threshold (or 15 points above a week ago) opens an
    alert unless one is already open for that enrollment; the partial unique index settles races."""
    threshold = alert_threshold()
    candidates = {s.enrollment_id: s for s in scores if s.probability >= threshold * 0.6}
    if not candidates:
        return 0
    week_ago = dict(
        RiskScore.objects.filter(
            organization_id=org.id,
            enrollment_id__in=list(candidates),
            scored_on__gte=as_of - dt.timedelta(days=8),
            scored_on__lte=as_of - dt.timedelta(days=6),
        )
        .order_by("scored_on")
        .values_list("enrollment_id", "probability")
    )
    already = set(
        RiskAlert.objects.filter(
            organization_id=org.id, enrollment_id__in=list(candidates), status__in=OPEN_ALERT_STATUSES
        ).values_list("enrollment_id", flat=True)
    )
    # The last closed alert's day: the score must fall below the threshold after it for a new crossing.
    from kruzhok.school.models import Enrollment

    teachers = dict(
        Enrollment.objects.filter(organization_id=org.id, pk__in=list(candidates)).values_list(
            "pk", "group__teacher_id"
        )
    )
    # No storms: at most RISK_ALERTS_PER_TEACHER_WEEK new alerts per teacher in 7 days, riskiest first.
    budget = int(getattr(settings, "RISK_ALERTS_PER_TEACHER_WEEK", 5))
    spent: dict = {}
    for teacher_id in RiskAlert.objects.filter(
        organization_id=org.id, opened_on__gt=as_of - dt.timedelta(days=7)
    ).values_list("assigned_to_id", flat=True):
        spent[teacher_id] = spent.get(teacher_id, 0) + 1
    created = 0
    for eid, score in sorted(candidates.items(), key=lambda item: -item[1].probability):
        if eid in already or spent.get(teachers.get(eid), 0) >= budget:
            continue
        crossed = score.probability >= threshold
        jumped = eid in week_ago and score.probability - week_ago[eid] >= JUMP
        if not (crossed or jumped) or _closed_since_last_dip(org=org, enrollment_id=eid, threshold=threshold):
            continue
        try:
            with transaction.atomic():
                RiskAlert.objects.create(
                    organization_id=org.id,
                    enrollment_id=eid,
                    opened_on=as_of,
                    probability=score.probability,
                    reason="threshold" if crossed else "jump",
                    factors=score.factors,
                    assigned_to_id=teachers.get(eid),
                )
            created += 1
            spent[teachers.get(eid)] = spent.get(teachers.get(eid), 0) + 1
        except IntegrityError:
            continue  # another run opened it a moment ago
    return created


def _closed_since_last_dip(*, org, enrollment_id: int, threshold: float) -> bool:
    """True when an alert was closed and the risk has not gone below the threshold since: the same
    crossing must not raise a second alert."""
    closed = (
        RiskAlert.objects.filter(
            organization_id=org.id, enrollment_id=enrollment_id, status=AlertStatus.CLOSED
        )
        .order_by("-opened_on")
        .values_list("opened_on", flat=True)
        .first()
    )
    if closed is None:
        return False
    dipped = RiskScore.objects.filter(
        organization_id=org.id, enrollment_id=enrollment_id, scored_on__gt=closed, probability__lt=threshold
    ).exists()
    return not dipped


def risk_score_all(*, as_of: dt.date | None = None) -> dict[str, int]:
    """Nightly: every organisation's open enrollments."""
    from kruzhok.accounts.models import Organization
    from kruzhok.lib.tenancy import tenant_context

    total = {"orgs": 0, "scored": 0, "alerts": 0}
    for org in Organization.objects.all():
        with tenant_context(org.id):
            result = risk_score_compute(org=org, as_of=as_of)
        total["orgs"] += 1
        total["scored"] += result["scored"]
        total["alerts"] += result["alerts"]
    return total


# ---------------------------------------------------------------------------------------------- alerts


def _open_alert(alert: RiskAlert) -> RiskAlert:
    locked = RiskAlert.objects.select_for_update().get(pk=alert.pk, organization_id=alert.organization_id)
    if not locked.is_open:
        raise ValidationError("Сигнал уже закрыт.", code="alert_closed")
    return locked


def alert_acknowledge(*, alert: RiskAlert, actor) -> RiskAlert:
    with transaction.atomic():
        alert = _open_alert(alert)
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        if alert.assigned_to_id is None:
            alert.assigned_to = actor
        alert.full_clean()
        alert.save()
    return alert


def alert_not_useful(*, alert: RiskAlert, actor) -> RiskAlert:
    """Closes the alert and keeps the verdict as feedback for the model."""
    with transaction.atomic():
        alert = _open_alert(alert)
        alert.not_useful = True
        alert.status = AlertStatus.CLOSED
        alert.closed_at = timezone.now()
        alert.full_clean()
        alert.save()
    return alert


def alert_log_action(
    *, alert: RiskAlert, actor, kind: str, note: str = "", close: bool = True
) -> RiskAlertAction:
    if kind not in ActionKind.values:
        raise ValidationError("Выберите действие из списка.", code="invalid_action")
    with transaction.atomic():
        alert = _open_alert(alert)
        action = RiskAlertAction(
            organization_id=alert.organization_id,
            alert=alert,
            kind=kind,
            note=(note or "")[:500],
            actor=actor,
        )
        action.full_clean()
        action.save()
        if alert.acknowledged_at is None:
            alert.acknowledged_at = timezone.now()
        alert.status = AlertStatus.CLOSED if close else AlertStatus.ACKNOWLEDGED
        if close:
            alert.closed_at = timezone.now()
        alert.save()
    return action


def alerts_close_for_ended(*, org, enrollment_id: int) -> int:
    """An enrollment that ended (dropped, completed, transferred) keeps no open alert."""
    from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment

    if Enrollment.objects.filter(
        organization_id=org.id, pk=enrollment_id, status__in=OPEN_ENROLLMENT_STATUSES
    ).exists():
        return 0
    return RiskAlert.objects.filter(
        organization_id=org.id, enrollment_id=enrollment_id, status__in=OPEN_ALERT_STATUSES
    ).update(status=AlertStatus.CLOSED, closed_at=timezone.now(), updated_at=timezone.now())
