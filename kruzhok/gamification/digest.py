"""The gamification line of the weekly digest to parents: what the child earned this week.

Registered in messaging's DIGEST_SECTIONS from GamificationConfig.ready(), so messaging never imports us."""

import datetime as dt

from django.db.models import Sum

from kruzhok.gamification.models import BadgeAward, QuestCompletion, XpAward


def digest_achievements_lines(*, org, student_id: int, since: dt.datetime, until: dt.datetime) -> list[str]:
    first, last = since.date(), until.date()
    xp = (
        XpAward.objects.filter(
            organization=org, student_id=student_id, occurred_on__gte=first, occurred_on__lte=last
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    badges = list(
        BadgeAward.objects.filter(
            organization=org, student_id=student_id, awarded_on__gte=first, awarded_on__lte=last
        )
        .select_related("badge")
        .order_by("awarded_on", "pk")
        .values_list("badge__name", flat=True)
    )
    quests = list(
        QuestCompletion.objects.filter(
            organization=org, student_id=student_id, completed_on__gte=first, completed_on__lte=last
        )
        .order_by("completed_on", "pk")
        .values_list("quest__title", flat=True)
    )
    lines = []
    if xp > 0:
        lines.append(f"Достижения: +{xp} очков опыта за неделю.")
    if badges:
        lines.append("Новые значки: " + ", ".join(f"«{name}»" for name in badges) + ".")
    if quests:
        lines.append("Пройденные квесты: " + ", ".join(f"«{title}»" for title in quests) + ".")
    return lines
