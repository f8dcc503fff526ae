"""Helpers the signal modules share: scoping a bulk query and turning dates into day numbers."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from kruzhok.risk.features import EVENT_COLUMNS, org_rows

# Above this many enrollments a loader reads the whole organisation (one scan) instead of an IN list.
SCOPE_LIMIT = 2000


def narrow(enrollments: pd.DataFrame) -> bool:
    return len(enrollments) <= SCOPE_LIMIT


def rows_of(model, org, enrollments: pd.DataFrame):
    """The organisation's rows, written for the planner that fits the size of the load (see org_rows)."""
    return org_rows(model, org.id, narrow=narrow(enrollments))


def scoped(queryset, enrollments: pd.DataFrame, *, field: str = "enrollment_id"):
    if narrow(enrollments):
        return queryset.filter(**{f"{field}__in": [int(i) for i in enrollments.index]})
    return queryset


def days(values) -> np.ndarray:
    return np.array([v.toordinal() for v in values], dtype=np.int64)


def local_days(values, tz_name: str) -> np.ndarray:
    zone = ZoneInfo(tz_name)
    return np.array([v.astimezone(zone).toordinal() for v in values], dtype=np.int64)


def until_limit(until: dt.date | None, field: str, *, slack_days: int = 0) -> dict:
    """A filter that only trims the load; RiskData.until() is what guarantees nothing later is seen."""
    if until is None:
        return {}
    return {f"{field}__lte": until + dt.timedelta(days=slack_days)}


def events_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["value"] = frame["value"].astype(float)
    return frame


def per_student(frame: pd.DataFrame, enrollments: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by student_id, repeated for each of that student's loaded enrollments."""
    if frame.empty:
        return frame.drop(columns="student_id").assign(enrollment_id=pd.Series(dtype=np.int64))
    pairs = pd.DataFrame(
        {"enrollment_id": enrollments.index, "student_id": enrollments["student_id"].to_numpy()}
    )
    return frame.merge(pairs, on="student_id").drop(columns="student_id")
