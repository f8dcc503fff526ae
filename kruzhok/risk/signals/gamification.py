"""Gamification (kruzhok.gamification) as canonical `xp` events (value = points) on the award day, for every
loaded enrollment of the child (XP belongs to the child, not to one course)."""

from kruzhok.lib import prepared
from kruzhok.risk.features import org_rows, register_loader
from kruzhok.risk.signals.common import days, narrow, student_id_list, until_or_never


def _awards(org, until, students=None, *, narrow_rows=True):
    from kruzhok.gamification.models import XpAward

    awards = org_rows(XpAward, org, narrow=narrow_rows).filter(amount__gt=0, occurred_on__lte=until)
    if students is not None:
        awards = awards.filter(student_id__in=students)
    return awards.values_list("student_id", "occurred_on", "amount")


@register_loader("gamification")
def load_gamification(*, org, enrollments, until):
    last_day = until_or_never(until)
    if narrow(enrollments):
        rows = prepared.rows(_awards, org=org.id, until=last_day, students=student_id_list(enrollments))
    else:
        rows = list(_awards(org.id, last_day, narrow_rows=False))
    # XP belongs to the child: the same award counts for each of the child's loaded enrollments.
    of_student: dict = {}
    for eid, sid in zip(enrollments.index.tolist(), enrollments["student_id"].tolist(), strict=True):
        of_student.setdefault(sid, []).append(eid)
    on_day = days([r[1] for r in rows])
    events = [
        (eid, int(day), "xp", float(amount), "")
        for (sid, _, amount), day in zip(rows, on_day, strict=True)
        for eid in of_student.get(sid, ())
    ]
    return {"events": events}
