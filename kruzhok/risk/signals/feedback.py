"""Feedback (kruzhok.feedback) as canonical `feedback` events: value = score on 1–5 (a parent's rating, a
survey's NPS scaled to 1–5, or the teacher's engagement pulse), text = sentiment of the words."""

from kruzhok.lib import prepared
from kruzhok.risk.features import lesson_limit, org_rows, register_loader
from kruzhok.risk.signals.common import (
    days,
    enrollment_id_list,
    local_days,
    narrow,
    until_or_never,
)

NOTE_FIELDS = ("enrollment_id", "created_at", "score", "nps", "sentiment")
PULSE_FIELDS = ("enrollment_id", "on_date", "score")


def _notes(org, limit, enrollments=None, *, narrow_rows=True):
    from kruzhok.feedback.models import Feedback

    notes = org_rows(Feedback, org, narrow=narrow_rows).filter(
        enrollment_id__isnull=False, created_at__lt=limit
    )
    if enrollments is not None:
        notes = notes.filter(enrollment_id__in=enrollments)
    return notes.values_list(*NOTE_FIELDS)


def _pulses(org, until, enrollments=None, *, narrow_rows=True):
    from kruzhok.feedback.models import TeacherPulse

    pulses = org_rows(TeacherPulse, org, narrow=narrow_rows).filter(
        enrollment_id__isnull=False, on_date__lte=until
    )
    if enrollments is not None:
        pulses = pulses.filter(enrollment_id__in=enrollments)
    return pulses.values_list(*PULSE_FIELDS)


@register_loader("feedback")
def load_feedback(*, org, enrollments, until):
    limit, last_day = lesson_limit(until), until_or_never(until)
    if narrow(enrollments):
        ids = enrollment_id_list(enrollments)
        rows = prepared.rows(_notes, org=org.id, limit=limit, enrollments=ids)
        pulse_rows = prepared.rows(_pulses, org=org.id, until=last_day, enrollments=ids)
    else:
        rows = list(_notes(org.id, limit, narrow_rows=False))
        pulse_rows = list(_pulses(org.id, last_day, narrow_rows=False))
    when = local_days([r[1] for r in rows], org.timezone)
    events = []
    for (eid, _, score, nps, sentiment), d in zip(rows, when, strict=True):
        value = float(score) if score is not None else (1 + nps * 0.4 if nps is not None else float("nan"))
        events.append((eid, d, "feedback", value, sentiment or ""))
    for (eid, _, score), d in zip(pulse_rows, days([r[1] for r in pulse_rows]), strict=True):
        events.append((eid, d, "feedback", float(score), "pulse"))
    return {"events": events}
