"""Retention curves: lifelines' Kaplan–Meier on the page agrees with a product-limit estimator written
here in numpy, computed on the CSV the page offers for download."""

import csv
import datetime as dt
import io
import random
import re

import numpy as np
import pytest

from kruzhok.analytics.dashboards import retention_curves
from kruzhok.analytics.selectors import Facts
from kruzhok.analytics.survival import CHECKPOINTS
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _enrol(world, started, *, status="active", ended=None, **student):
    """A new child of the world's branch in its group."""
    f.EnrollmentFactory(
        organization=world.org,
        student=f.StudentFactory(organization=world.org, branch=world.branch, **student),
        group=world.group,
        started_on=started,
        status=status,
        ended_on=ended,
    )


def _cohort(world, n=60, seed=3):
    rng = random.Random(seed)
    today = dt.date(2026, 11, 20)
    for _ in range(n):
        start = dt.date(2026, 1, 10) + dt.timedelta(days=rng.randint(0, 300))
        kind = rng.random()
        if kind < 0.45:
            end = min(today, start + dt.timedelta(days=rng.randint(1, 200)))
            status, ended = "dropped", end
        elif kind < 0.6:
            status, ended = "completed", min(today, start + dt.timedelta(days=rng.randint(30, 250)))
        else:
            status, ended = "active", None
        _enrol(world, start, status=status, ended=ended)


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


# -- a past month's page: retention as the centre knew it at the month's end


def _october_and_november(world):
    """The world's own child (since 21 October), two September children (one left on 12 October, one on
    5 November) and one who started on 3 November."""
    _enrol(
        world, dt.date(2026, 9, 1), status="dropped", ended=dt.date(2026, 10, 12), last_name="Ушла-в-октябре"
    )
    _enrol(
        world, dt.date(2026, 9, 1), status="dropped", ended=dt.date(2026, 11, 5), last_name="Ушёл-в-ноябре"
    )
    _enrol(world, dt.date(2026, 11, 3), last_name="Пришёл-в-ноябре")


def _overall_row(html: str) -> tuple[int, int]:
    """(enrollments, left) of the «Все» row of the retention table."""
    row = re.search(r'<tr class="an-total"><td>Все</td><td>(\d+)</td><td>(\d+)</td>', html)
    assert row is not None
    return int(row.group(1)), int(row.group(2))


def test_octobers_retention_page_is_what_the_centre_saw_on_31_october(alpha, client_as):
    _october_and_november(alpha)
    client = client_as(alpha.owner)
    october = client.get("/analytics/retention/?month=2026-10&by=branch")
    assert october.status_code == 200
    html = october.content.decode()
    # The November child is not there yet; the one who left in November was still attending.
    assert _overall_row(html) == (3, 1)
    assert "По состоянию на 31.10.2026" in html
    # The current month is today: everyone, both who left.
    assert _overall_row(client.get("/analytics/retention/?by=branch").content.decode()) == (4, 2)


def test_octobers_drill_downs_follow_the_same_cut(alpha, client_as):
    _october_and_november(alpha)
    client = client_as(alpha.owner)
    rows = f"/analytics/retention/children/?month=2026-10&by=branch&key={alpha.branch.pk}"
    left = client.get(rows + "&left=1").content.decode()
    assert "Ушла-в-октябре" in left and "Ушёл-в-ноябре" not in left
    assert f"Ушли · Филиал: {alpha.branch.name}: на 31.10.2026" in left
    everyone = client.get(rows).content.decode()
    assert "Ушёл-в-ноябре" in everyone and "Пришёл-в-ноябре" not in everyone
    november_left = client.get(rows.replace("month=2026-10", "month=2026-11") + "&left=1").content.decode()
    assert "Ушёл-в-ноябре" in november_left and "на 20.11.2026" in november_left


def test_octobers_export_is_what_octobers_curve_is_fitted_on(alpha, client_as):
    _october_and_november(alpha)
    export = client_as(alpha.owner).get("/analytics/retention.csv?month=2026-10")
    assert 'filename="retention-2026-10-31.csv"' in export["Content-Disposition"]
    rows = {
        r["started_on"] + r["duration_days"]: r for r in csv.DictReader(io.StringIO(export.content.decode()))
    }
    # Started on 21 October: 10 days; left on 12 October: 41 days, dropped; left on 5 November: 60 days
    # open on 31 October.
    assert sorted((k, r["status"], r["dropped"]) for k, r in rows.items()) == [
        ("2026-09-0141", "dropped", "1"),
        ("2026-09-0160", "active", "0"),
        ("2026-10-2110", "active", "0"),
    ]


def test_the_dashboards_retention_block_follows_its_month(alpha, client_as):
    _october_and_november(alpha)
    client = client_as(alpha.owner)
    # November first: the curve cached for it must not be shown for October.
    assert "4 зачислений, из них ушли 2." in client.get("/analytics/").content.decode()
    assert "3 зачислений, из них ушли 1." in client.get("/analytics/?month=2026-10").content.decode()


@pytest.mark.parametrize(
    "path", ["/analytics/retention/?by=course&", "/analytics/retention/children/?by=course&key=1&"]
)
def test_a_month_outside_the_list_gets_the_forms_message(alpha, client_as, path):
    page = client_as(alpha.owner).get(path + "month=2019-01")
    assert page.status_code == 400
    assert "Такого значения в списке нет: выберите месяц из списка." in page.content.decode()
