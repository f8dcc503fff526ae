import math

import numpy as np
import pytest
from scipy.stats import betabinom

from kruzhok.analytics.fairness import beta_prior, compare, wilson


def test_wilson_matches_the_textbook_values():
    # 8 of 10: Wilson 95 % interval is 0.490–0.943 (Agresti & Coull 1998, Table 1 style check).
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_small_perfect_unit_is_not_ranked_above_a_large_good_one():
    units = [
        ("a", "Шесть детей", 6, 6),
        ("b", "Большая", 450, 500),
        ("c", "Средняя", 140, 200),
        ("d", "Слабая", 120, 200),
    ]
    rated, mean = compare(units)
    by_key = {r.key: r for r in rated}
    assert by_key["a"].raw == 1.0
    assert by_key["a"].shrunk < 1.0 and by_key["a"].small
    assert rated[0].key == "b"
    # Shrinkage pulls the small unit further than the large one.
    assert abs(by_key["a"].shrunk - by_key["a"].raw) > abs(by_key["b"].shrunk - by_key["b"].raw)
    assert all(r.low <= r.shrunk <= r.high for r in rated)
    assert [r.rank for r in rated] == [1, 2, 3, 4]


def _identical_network(seed: int, *, units: int = 40, rate: float = 0.8) -> list[tuple[str, str, int, int]]:
    """Units that differ only by binomial noise: the same true rate, sizes from 5 to 200."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 200, units)
    return [(str(i), f"u{i}", int(rng.binomial(n, rate)), int(n)) for i, n in enumerate(sizes)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_network_of_identical_units_shrinks_hard_and_pulls_small_units_in(seed):
    units = _identical_network(seed)
    a, b = beta_prior([(k, n) for *_, k, n in units])
    # No spread beyond noise: the prior is worth more than the largest unit, so every unit is pulled
    # more than half of the way to the mean.
    assert a + b > max(n for *_, n in units)
    rated, mean = compare(units)
    assert mean == pytest.approx(0.8, abs=0.02)
    for r in rated:
        assert abs(r.shrunk - mean) <= abs(r.raw - mean) / 2 + 1e-12, r
        if r.small:
            # A child more or less moves a small unit's raw rate by 3–20 points; its estimate hardly moves.
            assert abs(r.shrunk - mean) < 0.02, r
            assert r.low < mean < r.high


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_truly_different_large_unit_stays_apart(seed):
    units = _identical_network(seed) + [("big", "Сильная", 475, 500), ("six", "Шесть из шести", 6, 6)]
    rated, mean = compare(units)
    by_key = {r.key: r for r in rated}
    big = by_key["big"]
    assert rated[0].key == "big"
    # Its whole interval is above the network mean, and the estimate stays near its own 95 %.
    assert big.low > mean
    assert big.shrunk > 0.9
    assert by_key["six"].rank > 1 and by_key["six"].low < mean


def test_identical_units_get_a_strong_prior_and_varied_ones_a_weak_one():
    same_a, same_b = beta_prior([(80, 100)] * 10)
    varied_a, varied_b = beta_prior([(10, 100), (90, 100), (50, 100), (30, 100), (70, 100)])
    assert same_a / (same_a + same_b) == pytest.approx(0.8, abs=1e-3)
    # The likelihood rises without end for identical units; the fit stops at the network's 1000
    # observations (see beta_prior).
    assert same_a + same_b == pytest.approx(1000)
    assert varied_a + varied_b < 10


def _grid_fit(k: np.ndarray, n: np.ndarray, log_a: np.ndarray, log_b: np.ndarray):
    """Brute force: the beta-binomial log-likelihood (scipy.stats.betabinom) at every grid point."""
    a = np.exp(log_a)[:, None, None]
    b = np.exp(log_b)[None, :, None]
    loglik = betabinom.logpmf(k[None, None, :], n[None, None, :], a, b).sum(axis=2)
    i, j = np.unravel_index(np.argmax(loglik), loglik.shape)
    return log_a[i], log_b[j], loglik[i, j]


@pytest.mark.parametrize(("alpha", "beta", "seed"), [(12.0, 4.0, 5), (2.0, 3.0, 6), (40.0, 9.0, 7)])
def test_the_fit_agrees_with_a_brute_force_grid_of_the_same_likelihood(alpha, beta, seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(3, 60, 150)
    k = betabinom.rvs(n, alpha, beta, random_state=rng)
    a, b = beta_prior(list(zip(k.tolist(), n.tolist(), strict=True)))

    # Coarse grid over a wide box, then a fine one around its best point.
    ga, gb, _ = _grid_fit(k, n, np.linspace(-2, 7, 91), np.linspace(-2, 7, 91))
    fine_a, fine_b = np.linspace(ga - 0.2, ga + 0.2, 81), np.linspace(gb - 0.2, gb + 0.2, 81)
    ga, gb, grid_best = _grid_fit(k, n, fine_a, fine_b)

    ours = betabinom.logpmf(k, n, a, b).sum()
    assert ours >= grid_best - 1e-9  # no grid point explains the data better
    assert math.log(a) == pytest.approx(ga, abs=0.02) and math.log(b) == pytest.approx(gb, abs=0.02)
    # And the fit finds the truth about as well as 150 units allow.
    assert a / (a + b) == pytest.approx(alpha / (alpha + beta), abs=0.05)


@pytest.mark.parametrize(
    "units",
    [
        [],
        [(3, 5)],
        [(0, 10), (0, 5)],
        [(10, 10), (7, 7)],
        [(10, 10), (0, 10), (10, 10), (0, 10)],
        [(1, 1), (0, 1), (1, 1)],
        [(0, 0), (4, 5)],
    ],
)
def test_too_few_or_degenerate_units_still_get_a_proper_prior(units):
    a, b = beta_prior(units)
    assert a > 0 and b > 0 and math.isfinite(a + b)
    rated, mean = compare([(str(i), str(i), k, n) for i, (k, n) in enumerate(units)])
    assert all(0 <= r.low <= r.shrunk <= r.high <= 1 for r in rated)


def test_one_unit_is_hardly_shrunk():
    a, b = beta_prior([(30, 40)])
    assert (30 + a) / (40 + a + b) == pytest.approx(0.75, abs=0.01)


def test_no_units_no_crash():
    assert compare([]) == ([], None)
