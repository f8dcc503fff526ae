"""Homework and grades (kruzhok.homework) as canonical events on the lesson's local day:
homework_submitted (value = 1 when handed in late, else 0), homework_missed, grade (1–5)."""

from kruzhok.lib import prepared
from kruzhok.risk.features import lesson_limit, org_rows, register_loader
from kruzhok.risk.signals.common import enrollment_id_list, local_days, narrow

FIELDS = ("enrollment_id", "lesson__starts_at", "status", "is_late", "grade")


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
    else:
        rows = list(
            HomeworkResult.objects.filter(organization_id=org.id, lesson__starts_at__lt=limit).values_list(
                *FIELDS
            )
        )
    day = local_days([r[1] for r in rows], org.timezone)
    events = []
    for (eid, _, status, late, grade), d in zip(rows, day, strict=True):
        if status == HomeworkStatus.SUBMITTED:
            events.append((eid, d, "homework_submitted", 1.0 if late else 0.0, ""))
            if grade is not None:
                events.append((eid, d, "grade", float(grade), ""))
        else:
            events.append((eid, d, "homework_missed", float("nan"), ""))
    return {"events": events}
