"""Scoring (nightly for everyone, within seconds for one enrollment) and what staff do with alerts."""

import datetime as dt
from contextlib import nullcontext

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kruzhok.risk.alerts import (
    alert_acknowledge,
    alert_assign,
    alert_close,
    alert_log_action,
    alert_not_useful,
    alerts_close_for_ended,
    alerts_close_when_risk_fell,
    alerts_raise,
    risk_settings_for,
)
from kruzhok.risk.models import RiskBand, RiskScore


def alert_threshold(org=None) -> float:
    """The organisation's alert threshold (RiskSettings, 5–95 %); the server default without one."""
    if org is None:
        return float(getattr(settings, "RISK_ALERT_THRESHOLD", 0.5))
    from kruzhok.risk.alerts import risk_settings_for

    return risk_settings_for(org=org).threshold


def band_for(probability: float, *, threshold: float | None = None) -> str:
    threshold = alert_threshold() if threshold is None else threshold
    if probability >= threshold:
        return RiskBand.HIGH
    if probability >= threshold / 2:
        return RiskBand.MEDIUM
    return RiskBand.LOW


JUMP = 0.15  # a rise of 15 points in a week raises an alert even below the threshold


def risk_score_compute(
    *,
    org,
    enrollment_ids=None,
    as_of: dt.date | None = None,
    raise_alerts: bool = True,
    timings: dict[str, float] | None = None,
) -> dict[str, int]:
    """Score open enrollments (all, or `enrollment_ids`) as of a day and store one RiskScore per
    enrollment and day. Running it again the same day overwrites that day's row; two runs at once
    upsert into the same rows (a single INSERT … ON CONFLICT DO UPDATE). `timings`, when given, gets the
    seconds spent in each stage (the bench prints them)."""
    # Heavy scientific imports stay out of URL loading (views import this module).
    import time

    import numpy as np

    from kruzhok.risk import changepoint, explain
    from kruzhok.risk import features as feat
    from kruzhok.risk.orgcache import org_static
    from kruzhok.risk.training import load_estimator, prior_version
    from kruzhok.school.services.people import org_today

    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + now - clock[0]
        clock[0] = now

    as_of = as_of or org_today(org)
    day = feat.day_number(as_of)
    # Scored as of this one day only: loaders may leave out rows no signal reads today (old XP awards).
    data = feat.load_risk_data(org=org, enrollment_ids=enrollment_ids, until=as_of, one_day=True)
    open_ids = feat.open_enrollment_ids(data, day)
    if enrollment_ids is not None:
        open_ids = open_ids[np.isin(open_ids, np.asarray(list(enrollment_ids), dtype=np.int64))]
    lap("load")
    if not len(open_ids):
        return {"scored": 0, "alerts": 0}
    X = feat.compute_features(data, as_of=day, enrollment_ids=open_ids)
    lap("features")
    # The active model: from the per-organisation cache on an event rescore (no query), read fresh at night.
    static = org_static(org.id) if enrollment_ids is not None else None
    version = static.version if static is not None and static.version is not None else None
    version = version or prior_version(org=org)
    model = load_estimator(version)
    names = list(model.feature_names_in_)
    values = X.reindex(columns=names).to_numpy(dtype=float)  # a signal no provider computes any more: NaN
    probability = np.clip(model.predict_proba(values)[:, 1], 0.0, 1.0)
    lap("predict")
    # The organisation's alert rules: cached with the model on an event rescore, read fresh at night.
    rules = static.rules if static is not None and static.rules is not None else risk_settings_for(org=org)
    threshold = rules.threshold
    # Explanations and change points cost far more than predictions: only for rows someone will read.
    explain_rows = np.flatnonzero(probability >= threshold / 2)
    factors: dict[int, list] = {}
    if len(explain_rows):
        contributions = model.contributions(values[explain_rows])
        for k, r in enumerate(explain_rows):
            factors[int(r)] = explain.top_factors(names, values[r], contributions[k])
    lap("explain")
    # A change point is looked for only where a fall is visible at all, for the children over the threshold.
    falling = X["att_drop"].fillna(0).to_numpy() >= 0.2
    falling |= X["absent_run"].fillna(0).to_numpy() >= 2
    falling |= X["days_since_attended"].fillna(0).to_numpy() >= 14
    decline_rows = explain_rows[falling[explain_rows] & (probability[explain_rows] >= threshold)]
    series = feat.weekly_attendance(data, as_of=day, enrollment_ids=X.index[decline_rows])
    declines = changepoint.decline_starts(series, as_of=as_of)
    lap("decline")
    bands = np.where(
        probability >= threshold,
        RiskBand.HIGH,
        np.where(probability >= threshold / 2, RiskBand.MEDIUM, RiskBand.LOW),
    )
    rows = [
        (int(eid), float(probability[r]), str(bands[r]), factors.get(r, []), declines.get(int(eid)))
        for r, eid in enumerate(X.index.tolist())
    ]
    _upsert_scores(org_id=org.id, scored_on=as_of, version_id=version.pk, rows=rows)
    lap("store")
    alerts = 0
    if raise_alerts:
        # Only rows near the threshold can open an alert: model objects for those alone.
        scores = [
            RiskScore(
                organization_id=org.id,
                enrollment_id=eid,
                scored_on=as_of,
                probability=p,
                band=band,
                factors=reasons,
                model_version_id=version.pk,
                decline_started_on=decline,
            )
            for eid, p, band, reasons, decline in rows
            if p >= threshold * 0.6
        ]
        alerts = _raise_alerts(org=org, scores=scores, as_of=as_of, rules=rules)
        if enrollment_ids is None:
            # Nightly: alerts whose risk has stayed low for RISK_FELL_DAYS close by themselves.
            alerts_close_when_risk_fell(org=org, as_of=as_of, rules=rules)
        lap("alerts")
    return {"scored": len(rows), "alerts": alerts}


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


def _upsert_scores(*, org_id: int, scored_on: dt.date, version_id: int, rows: list[tuple]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE per batch (SQLite and PostgreSQL both speak it): two runs at
    once end with one row per enrollment and day, and no per-row ORM work slows the nightly run.
    rows: (enrollment_id, probability, band, factors, decline_started_on)."""
    import json

    from django.db import connection

    now = timezone.now()
    table = RiskScore._meta.db_table
    updated = ("probability", "band", "factors", "model_version_id", "decline_started_on", "updated_at")
    conflict = " ON CONFLICT (enrollment_id, scored_on) DO UPDATE SET " + ", ".join(
        f"{c} = excluded.{c}" for c in updated
    )
    factors = [json.dumps(reasons, ensure_ascii=False) if reasons else "[]" for _, _, _, reasons, _ in rows]
    if connection.vendor == "postgresql":
        # One array per column and unnest: five parameters for the whole night. A VALUES list of 25,000
        # rows has 250,000 placeholders, and psycopg rewrites such a long statement's placeholders in
        # Python on every execution (not cached): that was most of the nightly run's CPU on PostgreSQL.
        sql = (
            f"INSERT INTO {table} ({', '.join(UPSERT_COLUMNS)}) "  # noqa: S608 - names are constants
            "SELECT %s, u.eid, %s, u.p, u.band, u.factors::jsonb, %s, u.decline, %s, %s "
            "FROM unnest(%s::bigint[], %s::float8[], %s::varchar[], %s::text[], %s::date[]) "
            "AS u(eid, p, band, factors, decline)" + conflict
        )
        columns = [[row[k] for row in rows] for k in (0, 1, 2)]
        params = [org_id, scored_on, version_id, now, now, *columns, factors, [row[4] for row in rows]]
        # One statement is atomic by itself: no BEGIN and COMMIT round trips around it (an event rescore
        # waits for each one).
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return

    placeholders = "(" + ", ".join(["%s"] * len(UPSERT_COLUMNS)) + ")"

    def statement(count: int) -> str:
        # Many rows per statement: one call into SQLite per batch, not one per row.
        return (
            f"INSERT INTO {table} ({', '.join(UPSERT_COLUMNS)}) VALUES "  # noqa: S608 - names are constants
            + ", ".join([placeholders] * count)
            + conflict
        )

    ops = connection.ops
    day, stamp = ops.adapt_datefield_value(scored_on), ops.adapt_datetimefield_value(now)
    params = [
        (
            org_id,
            eid,
            day,
            p,
            band,
            text,
            version_id,
            ops.adapt_datefield_value(decline) if decline else None,
            stamp,
            stamp,
        )
        for (eid, p, band, _, decline), text in zip(rows, factors, strict=True)
    ]
    batch = 500  # 5,000 parameters: under SQLite's limit of 32,766 variables
    # A transaction only when there are several statements (the nightly run): one is atomic by itself.
    with transaction.atomic() if len(params) > batch else nullcontext(), connection.cursor() as cursor:
        for start in range(0, len(params), batch):
            chunk = params[start : start + batch]
            cursor.execute(statement(len(chunk)), [value for row in chunk for value in row])


# Alert raising lives in alerts.py (who gets it, budget, notification); this name stays for the scorer.
_raise_alerts = alerts_raise


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


# The alert functions moved to kruzhok/risk/alerts.py; these names stay for existing callers.
__all__ = [
    "alert_acknowledge",
    "alert_assign",
    "alert_close",
    "alert_log_action",
    "alert_not_useful",
    "alert_threshold",
    "alerts_close_for_ended",
    "band_for",
    "risk_score_all",
    "risk_score_compute",
]
