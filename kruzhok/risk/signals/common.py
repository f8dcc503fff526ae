"""Helpers the signal modules share: sizing a load, id lists for its statements, dates into day numbers."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

# Above this many enrollments a loader reads the whole organisation (one scan) instead of an IN list.
SCOPE_LIMIT = 2000


def narrow(enrollments: pd.DataFrame) -> bool:
    return len(enrollments) <= SCOPE_LIMIT


# The "until" of a load that has none, for statements that always bind one (prepared.rows).
NO_UNTIL = dt.date(9000, 1, 1)


def until_or_never(until: dt.date | None) -> dt.date:
    return until if until is not None else NO_UNTIL


def enrollment_id_list(enrollments: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in enrollments.index)


def student_id_list(enrollments: pd.DataFrame) -> list[int]:
    return sorted({int(s) for s in enrollments["student_id"]})


def days(values) -> np.ndarray:
    return np.array([v.toordinal() for v in values], dtype=np.int64)


def local_days(values, tz_name: str) -> np.ndarray:
    zone = ZoneInfo(tz_name)
    return np.array([v.astimezone(zone).toordinal() for v in values], dtype=np.int64)
