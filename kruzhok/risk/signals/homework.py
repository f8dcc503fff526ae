"""Homework and grades (kruzhok.homework) as canonical events on the lesson's local day:
homework_submitted (value = 1 when handed in late, else 0), homework_missed, grade (1–5)."""

from kruzhok.risk.features import register_loader
from kruzhok.risk.signals.common import events_frame, local_days, rows_of, scoped


@register_loader("homework")
def load_homework(*, org, enrollments, until):
    import datetime as dt

    from kruzhok.homework.models import HomeworkResult, HomeworkStatus

    results = scoped(rows_of(HomeworkResult, org, enrollments), enrollments)
    if until is not None:
        results = results.filter(
            lesson__starts_at__lt=dt.datetime.combine(
                until + dt.timedelta(days=2), dt.time.min, tzinfo=dt.UTC
            )
        )
    rows = list(results.values_list("enrollment_id", "lesson__starts_at", "status", "is_late", "grade"))
    day = local_days([r[1] for r in rows], org.timezone)
    events = []
    for (eid, _, status, late, grade), d in zip(rows, day, strict=True):
        if status == HomeworkStatus.SUBMITTED:
            events.append((eid, d, "homework_submitted", 1.0 if late else 0.0, ""))
            if grade is not None:
                events.append((eid, d, "grade", float(grade), ""))
        else:
            events.append((eid, d, "homework_missed", float("nan"), ""))
    return {"events": events_frame(events)}
