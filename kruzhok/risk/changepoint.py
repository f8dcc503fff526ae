"""When interest began to fall: a change point in the weekly attendance series (ruptures, binary segmentation)."""

import datetime as dt

import pandas as pd

MIN_WEEKS = 4
MIN_DROP = 0.25
PENALTY = 0.3


def decline_start(series: pd.Series, *, as_of: dt.date) -> dt.date | None:
    """`series`: weekly attendance rates indexed by weeks before `as_of`, oldest first.

    Returns the first day of the week where the latest downward shift of at least MIN_DROP began, or
    None when there is no such shift (or too little history to tell).
    """
    import ruptures as rpt  # imported on first use: it pulls in scipy.signal (about a second)

    if len(series) < MIN_WEEKS:
        return None
    signal = series.to_numpy(dtype=float).reshape(-1, 1)
    breaks = rpt.Binseg(model="l2", min_size=2, jump=1).fit(signal).predict(pen=PENALTY)
    bounds = [0, *breaks]
    found = None
    for left, cut, right in zip(bounds, bounds[1:], bounds[2:], strict=False):
        before = signal[left:cut].mean()
        after = signal[cut:right].mean()
        if before - after >= MIN_DROP:
            found = cut
    if found is None:
        return None
    weeks_ago = int(series.index[found])
    return as_of - dt.timedelta(days=7 * weeks_ago + 6)


def decline_starts(series_by_enrollment: dict, *, as_of: dt.date) -> dict[int, dt.date | None]:
    return {eid: decline_start(s, as_of=as_of) for eid, s in series_by_enrollment.items() if len(s)}
