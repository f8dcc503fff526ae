"""Feedback (kruzhok.feedback) as canonical `feedback` events: value = score on 1–5 (a parent's rating, a
survey's NPS scaled to 1–5, or the teacher's engagement pulse), text = sentiment of the words."""

from kruzhok.risk.features import register_loader
from kruzhok.risk.signals.common import days, events_frame, local_days, rows_of, scoped, until_limit


@register_loader("feedback")
def load_feedback(*, org, enrollments, until):
    import datetime as dt

    from kruzhok.feedback.models import Feedback, TeacherPulse

    notes = scoped(rows_of(Feedback, org, enrollments).filter(enrollment_id__isnull=False), enrollments)
    if until is not None:
        notes = notes.filter(
            created_at__lt=dt.datetime.combine(until + dt.timedelta(days=2), dt.time.min, tzinfo=dt.UTC)
        )
    rows = list(notes.values_list("enrollment_id", "created_at", "score", "nps", "sentiment"))
    when = local_days([r[1] for r in rows], org.timezone)
    events = []
    for (eid, _, score, nps, sentiment), d in zip(rows, when, strict=True):
        value = float(score) if score is not None else (1 + nps * 0.4 if nps is not None else float("nan"))
        events.append((eid, d, "feedback", value, sentiment or ""))
    pulses = scoped(rows_of(TeacherPulse, org, enrollments).filter(enrollment_id__isnull=False), enrollments)
    pulse_rows = list(
        pulses.filter(**until_limit(until, "on_date")).values_list("enrollment_id", "on_date", "score")
    )
    for (eid, _, score), d in zip(pulse_rows, days([r[1] for r in pulse_rows]), strict=True):
        events.append((eid, d, "feedback", float(score), "pulse"))
    return {"events": events_frame(events)}
