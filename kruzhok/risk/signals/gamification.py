"""Gamification (kruzhok.gamification) as canonical `xp` events (value = points) on the award day, for every
loaded enrollment of the child (XP belongs to the child, not to one course)."""

import pandas as pd

from kruzhok.risk.features import register_loader
from kruzhok.risk.signals.common import SCOPE_LIMIT, days, per_student, rows_of, until_limit


@register_loader("gamification")
def load_gamification(*, org, enrollments, until):
    from kruzhok.gamification.models import XpAward

    awards = rows_of(XpAward, org, enrollments).filter(amount__gt=0, **until_limit(until, "occurred_on"))
    if len(enrollments) <= SCOPE_LIMIT:
        awards = awards.filter(student_id__in=[int(s) for s in enrollments["student_id"].unique()])
    rows = list(awards.values_list("student_id", "occurred_on", "amount"))
    frame = pd.DataFrame(rows, columns=["student_id", "day", "value"])
    frame["day"] = days(frame["day"])
    frame["value"] = frame["value"].astype(float)
    frame["kind"], frame["text"] = "xp", ""
    return {"events": per_student(frame, enrollments)}
