"""Fair comparisons of branches, teachers and groups.

A teacher with six children who all came every time is not "the best teacher": six is noise. Each unit's
rate is shown raw with its Wilson interval, and shrunk toward the network mean by empirical Bayes: a
Beta(α, β) prior is fitted to all units by maximum marginal likelihood of the beta-binomial, so the data
decide how far a unit is pulled. Units are ranked on the shrunk value, and the posterior interval says how
sure that is.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, logit
from scipy.stats import beta as beta_dist

Z95 = 1.959963984540054
SMALL_N = 30
# Prior strength (α + β, in pseudo-observations) of the fallbacks that cannot estimate a spread (one unit,
# units of one observation each): a uniform-weight prior that moves a rate by at most one observation.
WEAK_STRENGTH = 2.0
# Below this a prior moves no unit's rate by a visible amount; it keeps α, β away from 0 where betaln and
# digamma lose precision (units each at 0 % or 100 %, some of both, push the fit there).
MIN_STRENGTH = 0.1


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
    # α + β of the fitted prior (the same for every unit): how many observations at the mean it adds.
    prior_strength: float = 0.0


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def beta_prior(units: list[tuple[int, int]]) -> tuple[float, float]:
    """Beta(α, β) fitted to the units' (successes, n) by maximum marginal likelihood of the beta-binomial.

    The mean μ = α / (α + β) and the strength s = α + β are fitted on (logit μ, log s): the two are
    nearly orthogonal there, so Newton's method (`_newton`) converges in a few steps from the method of
    moments' estimate, and the bound on s is a box. About 1 ms for the ~600 teachers of the 30 000-child
    demo (`manage.py demo_story --students 30000 --time`).

    s is bounded above by N, the observations of all units together. The prior's mean is itself
    estimated from those N observations; a prior worth more pseudo-observations would claim to know the
    network mean better than the data do, and a unit's posterior interval would come out narrower than
    the network mean's own. When the rates are no more spread than binomial noise the likelihood keeps
    rising toward s = ∞ (every unit the same), and the fit stops at N: each unit is pulled almost all the
    way to the mean, with about the mean's uncertainty.
    """
    k, n, w = _distinct_units(units)
    if not len(n):
        return 1.0, 1.0
    total_n = float(np.dot(w, n))
    total_k = float(np.dot(w, k))
    if (len(n) == 1 and w[0] == 1) or n.max() <= 1:
        # One unit, or units of one observation: nothing says how much units differ.
        mean = (total_k + 0.5) / (total_n + 1.0)
        return mean * WEAK_STRENGTH, (1 - mean) * WEAK_STRENGTH
    if total_k == 0 or total_k == total_n:
        # Every unit at 0 % (or 100 %): no spread to see; the mean is kept off the edge (Jeffreys).
        mean = (total_k + 0.5) / (total_n + 1.0)
        return mean * total_n, (1 - mean) * total_n
    mean0, s0 = _moments(k, n, w)
    x = _newton(
        (float(logit(mean0)), math.log(min(max(s0, MIN_STRENGTH), total_n))),
        (k, n, w),
        log_s_bounds=(math.log(MIN_STRENGTH), math.log(max(total_n, MIN_STRENGTH))),
    )
    mean, strength = float(expit(x[0])), math.exp(x[1])
    return mean * strength, (1 - mean) * strength


def beta_prior_moments(units: list[tuple[int, int]]) -> tuple[float, float]:
    """Method-of-moments Beta(α, β) (the fit's starting point; also the baseline of `demo_story --time`)."""
    k, n, w = _distinct_units(units)
    if len(n) < 1:
        return 1.0, 1.0
    mean, strength = _moments(k, n, w)
    return mean * strength, (1 - mean) * strength


def _distinct_units(units: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, n, how many units have that k and n): many units share a (k, n), and the likelihood does not
    care which is which, so each distinct pair is evaluated once."""
    pairs = np.array(units, dtype=float).reshape(-1, 2)
    pairs = pairs[pairs[:, 1] > 0]
    if not len(pairs):
        return np.empty(0), np.empty(0), np.empty(0)
    # One integer key per pair: np.unique on rows (axis=0) costs ~1 ms for 600 units, this ~0.05 ms.
    width = pairs[:, 1].max() + 1
    keys, counts = np.unique(pairs[:, 1] * width + pairs[:, 0], return_counts=True)
    n, k = np.divmod(keys, width)
    return k, n, counts.astype(float)


def _moments(k: np.ndarray, n: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Size-weighted mean, and the strength whose spread matches the rates' spread less binomial noise."""
    total_n = float(np.dot(w, n))
    mean = min(max(float(np.dot(w, k)) / total_n, 1e-3), 1 - 1e-3)
    variance = float(np.dot(w, n * (k / n - mean) ** 2)) / total_n
    noise = mean * (1 - mean) * float(w.sum()) / total_n
    true_var = variance - noise
    strength = total_n if true_var <= 0 else max(WEAK_STRENGTH, mean * (1 - mean) / true_var - 1)
    return mean, min(strength, total_n)


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
                prior_strength=a + b,
            )
        )
    rated.sort(key=lambda r: (-(r.shrunk or 0), r.label))
    return [_ranked(r, i + 1) for i, r in enumerate(rated)], mean


def _newton(x0: tuple[float, float], data, *, log_s_bounds: tuple[float, float]) -> tuple[float, float]:
    """Maximise the log-likelihood over (logit μ, log s) by Newton's method with a backtracking line search,
    log s kept within its bounds (projected: at a bound the likelihood still rising past it, only μ moves).

    Hand-written rather than scipy.optimize.minimize: L-BFGS-B calls the threaded OpenBLAS on its tiny
    matrices, and on a busy machine a fit of 1 ms then takes 30–100 ms waiting on BLAS threads. Two
    parameters need no BLAS, and Newton from the moments' estimate converges in a few steps."""
    lo, hi = log_s_bounds
    x = (x0[0], min(max(x0[1], lo), hi))
    f, g, h = _loglik(x, *data, hessian=True)
    for _ in range(100):
        at_bound = (x[1] >= hi and g[1] > 0) or (x[1] <= lo and g[1] < 0)
        det = h[0][0] * h[1][1] - h[0][1] ** 2
        if at_bound:
            step = (-g[0] / h[0][0], 0.0) if h[0][0] < 0 else (math.copysign(1.0, g[0]), 0.0)
        elif h[0][0] < 0 and det > 0:
            # Newton step −H⁻¹g, the 2 × 2 inverse written out.
            step = (
                -(h[1][1] * g[0] - h[0][1] * g[1]) / det,
                -(h[0][0] * g[1] - h[0][1] * g[0]) / det,
            )
        else:
            # Not concave here (e.g. out on the flat tail toward s = ∞, where log L is convex in log s):
            # Newton in each coordinate where it curves down, else a step of one uphill.
            step = tuple(-g[i] / h[i][i] if h[i][i] < 0 else math.copysign(1.0, g[i]) for i in (0, 1))
        t = 1.0
        while t >= 1e-6:
            new = (x[0] + t * step[0], min(max(x[1] + t * step[1], lo), hi))
            f_new = _loglik(new, *data)[0]
            if f_new >= f:
                break
            t /= 2
        else:
            break  # no step goes uphill: at the top, to rounding
        gain = f_new - f
        x = new
        f, g, h = _loglik(x, *data, hessian=True)
        if gain <= 1e-12 * max(1.0, abs(f)):
            break
    return x


def _loglik(x: tuple[float, float], k: np.ndarray, n: np.ndarray, w: np.ndarray, *, hessian: bool = False):
    """log L of the beta-binomial (without the binomial coefficients, which do not depend on α, β) at
    x = (logit μ, log s), with its gradient and Hessian in x when asked."""
    mean, strength = float(expit(x[0])), math.exp(x[1])
    a, b = mean * strength, (1 - mean) * strength
    units = float(w.sum())
    f = float(np.dot(w, betaln(k + a, n - k + b))) - units * float(betaln(a, b))
    if not hessian:
        return f, None, None
    # Derivatives in (a, b) first: d betaln(a, b)/da = ψ(a) − ψ(a + b), and ψ' (trigamma) for the second.
    psi_n, tri_n = digamma(n + strength), _trigamma(n + strength)
    psi_s, tri_s = float(digamma(strength)), float(_trigamma(strength))
    g_a = float(np.dot(w, digamma(k + a) - psi_n)) - units * (float(digamma(a)) - psi_s)
    g_b = float(np.dot(w, digamma(n - k + b) - psi_n)) - units * (float(digamma(b)) - psi_s)
    common = units * tri_s - float(np.dot(w, tri_n))
    h_aa = float(np.dot(w, _trigamma(k + a))) - units * float(_trigamma(a)) + common
    h_bb = float(np.dot(w, _trigamma(n - k + b))) - units * float(_trigamma(b)) + common
    h_ab = common
    # Chain rule to x: a = μ s, b = (1 − μ) s, dμ/d logit μ = μ (1 − μ) =: v, ds/d log s = s.
    v = mean * (1 - mean)
    da, db = (v * strength, a), (-v * strength, b)  # (d/d logit μ, d/d log s) of a and of b
    g = (g_a * da[0] + g_b * db[0], g_a * da[1] + g_b * db[1])

    def quad(i: int, j: int) -> float:
        return h_aa * da[i] * da[j] + h_ab * (da[i] * db[j] + db[i] * da[j]) + h_bb * db[i] * db[j]

    # Second derivatives of a, b themselves: d²a/dt² = s v (1 − 2μ) = −d²b/dt², d²a/dt du = v s = −d²b/dt du,
    # d²a/du² = a, d²b/du² = b (t = logit μ, u = log s).
    h_tt = quad(0, 0) + (g_a - g_b) * strength * v * (1 - 2 * mean)
    h_tu = quad(0, 1) + (g_a - g_b) * v * strength
    h_uu = quad(1, 1) + g_a * a + g_b * b
    return f, g, ((h_tt, h_tu), (h_tu, h_uu))


def _ranked(r: Rated, rank: int) -> Rated:
    return Rated(**{**r.__dict__, "rank": rank})


def _trigamma(x) -> np.ndarray:
    """ψ'(x) for x > 0: the recurrence ψ'(x) = ψ'(x + 1) + 1/x² up to x ≥ 6, then the asymptotic series
    (relative error below 1e-8). scipy's polygamma(1, x) goes through the Hurwitz zeta and costs ten times more,
    which was most of the fit's time."""
    x = np.asarray(x, dtype=float)
    acc = np.zeros_like(x)
    for _ in range(6):
        small = x < 6
        if not small.any():
            break
        acc += np.where(small, 1 / x**2, 0.0)
        x = np.where(small, x + 1, x)
    inv = 1 / x
    inv2 = inv * inv
    series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)))
    return acc + series
