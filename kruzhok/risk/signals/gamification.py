"""Gamification (kruzhok.gamification) as canonical events for every loaded enrollment of the child (XP and
the shop belong to the child, not to one course): `xp` (value = points) on the award day, and `shop` (value =
price) on the day the child asked for a reward — a child who stops visiting the shop is losing interest too."""

from kruzhok.lib import prepared
from kruzhok.risk.features import lesson_limit, org_rows, register_loader
from kruzhok.risk.signals.common import days, local_days, narrow, student_id_list, until_or_never


def _awards(org, until, students=None, *, narrow_rows=True):
    from kruzhok.gamification.models import XpAward

    awards = org_rows(XpAward, org, narrow=narrow_rows).filter(amount__gt=0, occurred_on__lte=until)
    if students is not None:
        awards = awards.filter(student_id__in=students)
    return awards.values_list("student_id", "occurred_on", "amount")


def _shop_requests(org, limit, students=None, *, narrow_rows=True):
    from kruzhok.gamification.models import RewardRequest

    asked = org_rows(RewardRequest, org, narrow=narrow_rows).filter(created_at__lt=limit)
    if students is not None:
        asked = asked.filter(student_id__in=students)
    return asked.values_list("student_id", "created_at", "price")


@register_loader("gamification")
def load_gamification(*, org, enrollments, until):
    last_day, limit = until_or_never(until), lesson_limit(until)
    if narrow(enrollments):
        students = student_id_list(enrollments)
        rows = prepared.rows(_awards, org=org.id, until=last_day, students=students)
        asked = prepared.rows(_shop_requests, org=org.id, limit=limit, students=students)
    else:
        rows = list(_awards(org.id, last_day, narrow_rows=False))
        asked = list(_shop_requests(org.id, limit, narrow_rows=False))
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
    asked_on = local_days([r[1] for r in asked], org.timezone)
    events += [
        (eid, int(day), "shop", float(price), "")
        for (sid, _, price), day in zip(asked, asked_on, strict=True)
        for eid in of_student.get(sid, ())
    ]
    return {"events": events}
