"""Retention curves: lifelines' Kaplan–Meier on the page agrees with a product-limit estimator written
here in numpy, computed on the CSV the page offers for download."""

import csv
import datetime as dt
import io
import random

import numpy as np
import pytest

from kruzhok.analytics.dashboards import retention_curves
from kruzhok.analytics.selectors import Facts
from kruzhok.analytics.survival import CHECKPOINTS
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _cohort(world, n=60, seed=3):
    rng = random.Random(seed)
    today = dt.date(2026, 11, 20)
    for _ in range(n):
        start = dt.date(2026, 1, 10) + dt.timedelta(days=rng.randint(0, 300))
        student = f.StudentFactory(organization=world.org, branch=world.branch)
        kind = rng.random()
        if kind < 0.45:
            end = min(today, start + dt.timedelta(days=rng.randint(1, 200)))
            status, ended = "dropped", end
        elif kind < 0.6:
            status, ended = "completed", min(today, start + dt.timedelta(days=rng.randint(30, 250)))
        else:
            status, ended = "active", None
        f.EnrollmentFactory(
            organization=world.org,
            student=student,
            group=world.group,
            started_on=start,
            status=status,
            ended_on=ended,
        )


def product_limit(durations: np.ndarray, events: np.ndarray):
    """S(t) = Π over event times t_i ≤ t of (1 − d_i / n_i)."""
    times = np.unique(durations[events == 1])
    surv, s = [], 1.0
    for t in times:
        at_risk = np.sum(durations >= t)
        deaths = np.sum((durations == t) & (events == 1))
        s *= 1 - deaths / at_risk
        surv.append(s)
    return times, np.array(surv)


def s_at(times, surv, t):
    idx = np.searchsorted(times, t, side="right") - 1
    return 1.0 if idx < 0 else float(surv[idx])


def test_the_curve_matches_an_independent_estimate_on_the_export(alpha, client_as):
    _cohort(alpha)
    export = client_as(alpha.owner).get("/analytics/retention.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert len(rows) == 61  # the cohort and the world's own child
    durations = np.array([int(r["duration_days"]) for r in rows])
    events = np.array([int(r["dropped"]) for r in rows])
    times, surv = product_limit(durations, events)

    overall, _ = retention_curves(Facts.load(alpha.org), None)
    for d in CHECKPOINTS:
        assert overall.at[d] == pytest.approx(s_at(times, surv, d), abs=1e-9), d
    below = np.nonzero(surv <= 0.5)[0]
    expected_median = float(times[below[0]]) if below.size else None
    assert overall.median_days == expected_median
    assert overall.n == 61 and overall.events == int(events.sum())
    # The band holds the curve.
    assert all(lo <= s <= hi for _t, s, lo, hi in overall.points)


def test_the_page_shows_the_same_numbers(alpha, client_as):
    _cohort(alpha)
    overall, _ = retention_curves(Facts.load(alpha.org), None)
    html = client_as(alpha.owner).get("/analytics/retention/?by=age").content.decode()
    shown = f"{overall.at[90] * 100:.0f} %"
    assert shown in html


def test_curves_by_dimension_need_five_enrollments(alpha):
    _cohort(alpha, n=8)
    _overall, by_course = retention_curves(Facts.load(alpha.org), "course")
    assert [c.n for c in by_course] == [9]
    _overall, by_branch = retention_curves(Facts.load(alpha.org), "branch")
    assert len(by_branch) == 1
