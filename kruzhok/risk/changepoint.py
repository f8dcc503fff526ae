"""When interest began to fall: a change point in the weekly attendance series.

The method is ruptures' binary segmentation with the l2 cost (`rpt.Binseg(model="l2", min_size=2,
jump=1).fit(x).predict(pen=PENALTY)`), ported to a few numpy lines over prefix sums: ruptures builds
Python objects per call (~1–2 ms a series), which the nightly run cannot afford for thousands of
children; the port takes ~30 µs. A test keeps the two giving the same breakpoints.
"""

import datetime as dt

import numpy as np
import pandas as pd

MIN_WEEKS = 4
MIN_DROP = 0.25
PENALTY = 0.3
MIN_SIZE = 2


def binseg_l2(signal: np.ndarray, *, pen: float = PENALTY, min_size: int = MIN_SIZE) -> list[int]:
    """Breakpoints (segment ends, the last one = len(signal)) exactly as ruptures' Binseg/l2 finds them."""
    x = np.asarray(signal, dtype=float).ravel()
    n = len(x)
    s1 = np.r_[0.0, np.cumsum(x)]
    s2 = np.r_[0.0, np.cumsum(x * x)]

    def cost(a, b):
        return (s2[b] - s2[a]) - (s1[b] - s1[a]) ** 2 / (b - a)

    def best_split(a: int, b: int) -> tuple[int | None, float]:
        cuts = np.arange(a + min_size, b - min_size + 1)
        if not len(cuts):
            return None, 0.0
        gains = cost(a, b) - cost(a, cuts) - cost(cuts, b)
        # ruptures takes max((gain, bkp)): on a tie the later cut wins.
        top = np.flatnonzero(gains == gains.max())[-1]
        return int(cuts[top]), float(gains[top])

    bkps = [n]
    while True:
        candidates = [best_split(a, b) for a, b in zip([0, *bkps], bkps, strict=False)]
        bkp, gain = max(candidates, key=lambda c: c[1])
        if bkp is None or not gain > pen:
            return bkps
        bkps = sorted([*bkps, bkp])


def decline_start(series: pd.Series, *, as_of: dt.date) -> dt.date | None:
    """`series`: weekly attendance rates indexed by weeks before `as_of`, oldest first.

    Returns the first day of the week where the latest downward shift of at least MIN_DROP began, or
    None when there is no such shift (or too little history to tell).
    """
    return decline_start_of(series.index.to_numpy(), series.to_numpy(dtype=float), as_of=as_of)


def decline_start_of(weeks_ago: np.ndarray, signal: np.ndarray, *, as_of: dt.date) -> dt.date | None:
    """decline_start on plain arrays: weeks before `as_of` (oldest first) and their rates."""
    if len(signal) < MIN_WEEKS:
        return None
    signal = np.asarray(signal, dtype=float)
    bounds = [0, *binseg_l2(signal)]
    found = None
    for left, cut, right in zip(bounds, bounds[1:], bounds[2:], strict=False):
        if signal[left:cut].mean() - signal[cut:right].mean() >= MIN_DROP:
            found = cut
    if found is None:
        return None
    return as_of - dt.timedelta(days=7 * int(weeks_ago[found]) + 6)


def decline_starts(series_by_enrollment: dict, *, as_of: dt.date) -> dict[int, dt.date | None]:
    """Per enrollment, from `features.weekly_attendance`: (weeks before as_of, rates) pairs."""
    return {
        eid: decline_start_of(weeks_ago, rates, as_of=as_of)
        for eid, (weeks_ago, rates) in series_by_enrollment.items()
        if len(rates)
    }
