"""Homework and grades (kruzhok.homework) as canonical events on the lesson's local day:
homework_submitted (value = 1 when handed in late, else 0), homework_missed, grade (1–5)."""

import numpy as np
import pandas as pd

from kruzhok.lib import prepared
from kruzhok.risk.features import (
    _fetch,
    _raw_local_days,
    iso_text,
    lesson_limit,
    org_rows,
    register_loader,
)
from kruzhok.risk.signals.common import enrollment_id_list, local_days, narrow

FIELDS = ("enrollment_id", "lesson__starts_at", "status", "is_late", "grade")
BULK_FIELDS = ("enrollment_id", "starts", "status", "is_late", "grade")


def _results_of(org, enrollments, limit):
    """A one-child rescore's statement (compiled once per shape, see prepared.rows)."""
    from kruzhok.homework.models import HomeworkResult

    return (
        org_rows(HomeworkResult, org, narrow=True)
        .filter(enrollment_id__in=enrollments, lesson__starts_at__lt=limit)
        .values_list(*FIELDS)
    )


@register_loader("homework")
def load_homework(*, org, enrollments, until):
    from kruzhok.homework.models import HomeworkResult, HomeworkStatus

    limit = lesson_limit(until)
    if narrow(enrollments):
        rows = prepared.rows(
            _results_of, org=org.id, enrollments=enrollment_id_list(enrollments), limit=limit
        )
        day = local_days([r[1] for r in rows], org.timezone)
    else:
        # The whole organisation (~140k results on the 30,000-child network): raw cursor rows, the lesson
        # start as text and days converted in one vectorised pass; Django's per-row datetime converters
        # were half the nightly run's CPU. is_late and grade are only tested for truth and None.
        query = HomeworkResult.objects.filter(organization_id=org.id, lesson__starts_at__lt=limit)
        rows = _fetch(query.annotate(starts=iso_text("lesson__starts_at")).values_list(*BULK_FIELDS))
        day = _raw_local_days(pd.Series([r[1] for r in rows], dtype=object), org.timezone)
        return {"events": _events_of(rows, day)}
    events = []
    for (eid, _, status, late, grade), d in zip(rows, day, strict=True):
        if status == HomeworkStatus.SUBMITTED:
            events.append((eid, d, "homework_submitted", 1.0 if late else 0.0, ""))
            if grade is not None:
                events.append((eid, d, "grade", float(grade), ""))
        else:
            events.append((eid, d, "homework_missed", float("nan"), ""))
    return {"events": events}


def _events_of(rows: list[tuple], day) -> pd.DataFrame:
    """The events of the per-row loop above, built with numpy for the whole organisation. Kind by kind
    (submitted, grades, missed), each in row order: the providers never compare events of different kinds,
    so only the order within a kind matters (grades of one day are ranked by it)."""
    from kruzhok.homework.models import HomeworkStatus

    count = len(rows)
    eid = np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
    submitted = np.fromiter((r[2] == HomeworkStatus.SUBMITTED for r in rows), dtype=bool, count=count)
    late = np.fromiter((1.0 if r[3] else 0.0 for r in rows), dtype=float, count=count)
    grade = np.fromiter((np.nan if r[4] is None else float(r[4]) for r in rows), dtype=float, count=count)
    graded = submitted & ~np.isnan(grade)
    missed = ~submitted
    day = np.asarray(day, dtype=np.int64)
    parts = (
        (submitted, "homework_submitted", late),
        (graded, "grade", grade),
        (missed, "homework_missed", np.full(count, np.nan)),
    )
    return pd.DataFrame(
        {
            "enrollment_id": np.concatenate([eid[mask] for mask, _, _ in parts]),
            "day": np.concatenate([day[mask] for mask, _, _ in parts]),
            "kind": np.concatenate([np.full(int(mask.sum()), kind, dtype=object) for mask, kind, _ in parts]),
            "value": np.concatenate([value[mask] for mask, _, value in parts]),
            "text": np.full(int(submitted.sum() + graded.sum() + missed.sum()), "", dtype=object),
        }
    )
