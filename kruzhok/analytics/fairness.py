"""Fair comparisons of branches, teachers and groups.

A teacher with six children who all came every time is not "the best teacher": six is noise. Each unit's
rate is shown raw with its Wilson interval, and shrunk toward the network mean by empirical Bayes with a
beta-binomial prior fitted to all units (method of moments). Units are ranked on the shrunk value, and
the posterior interval says how sure that is.
"""

import math
from dataclasses import dataclass

from scipy.stats import beta as beta_dist

Z95 = 1.959963984540054
SMALL_N = 30
# A prior never stronger than this many pseudo-observations, so real differences are not flattened.
MAX_PRIOR_STRENGTH = 400.0


@dataclass(frozen=True)
class Rated:
    key: str
    label: str
    successes: int
    n: int
    raw: float | None
    raw_low: float | None
    raw_high: float | None
    shrunk: float | None
    low: float | None
    high: float | None
    small: bool
    rank: int = 0


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def beta_prior(units: list[tuple[int, int]]) -> tuple[float, float]:
    """Method-of-moments fit of Beta(α, β) to the units' rates, weighted by their size.

    The spread of observed rates is the true spread plus binomial noise; the noise part is removed so
    that a network of identical units gets a strong prior (heavy shrinkage) and a varied one a weak one."""
    units = [(k, n) for k, n in units if n > 0]
    total_k = sum(k for k, _ in units)
    total_n = sum(n for _, n in units)
    if not units or total_n == 0:
        return 1.0, 1.0
    mean = total_k / total_n
    if mean <= 0 or mean >= 1:
        mean = min(max(mean, 1e-3), 1 - 1e-3)
    if len(units) < 2:
        return mean * 2, (1 - mean) * 2
    variance = sum(n * (k / n - mean) ** 2 for k, n in units) / total_n
    # Expected size-weighted variance of the observed rates if every unit had the same true rate.
    noise = mean * (1 - mean) * len(units) / total_n
    true_var = variance - noise
    if true_var <= 0:
        strength = MAX_PRIOR_STRENGTH
    else:
        strength = min(MAX_PRIOR_STRENGTH, max(2.0, mean * (1 - mean) / true_var - 1))
    return mean * strength, (1 - mean) * strength


def compare(units: list[tuple[str, str, int, int]]) -> tuple[list[Rated], float | None]:
    """units: (key, label, successes, n). Returns the rated units, best shrunk rate first, and the mean."""
    a, b = beta_prior([(k, n) for _, _, k, n in units])
    mean = a / (a + b) if units else None
    # One vectorised call for every unit's posterior interval: per-unit scalar calls cost 0.13 s for the
    # ~600 teachers of the 30 000-child demo, on every page right after a mark.
    post_as = [a + k for _, _, k, _ in units]
    post_bs = [b + (n - k) for _, _, k, n in units]
    lows = beta_dist.ppf(0.025, post_as, post_bs) if units else []
    highs = beta_dist.ppf(0.975, post_as, post_bs) if units else []
    rated = []
    for (key, label, k, n), post_a, post_b, low, high in zip(
        units, post_as, post_bs, lows, highs, strict=True
    ):
        lo, hi = wilson(k, n)
        rated.append(
            Rated(
                key=key,
                label=label,
                successes=k,
                n=n,
                raw=(k / n) if n else None,
                raw_low=lo if n else None,
                raw_high=hi if n else None,
                shrunk=post_a / (post_a + post_b),
                low=float(low),
                high=float(high),
                small=n < SMALL_N,
            )
        )
    rated.sort(key=lambda r: (-(r.shrunk or 0), r.label))
    return [_ranked(r, i + 1) for i, r in enumerate(rated)], mean


def _ranked(r: Rated, rank: int) -> Rated:
    return Rated(**{**r.__dict__, "rank": rank})
