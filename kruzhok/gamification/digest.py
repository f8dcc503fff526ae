"""The gamification line of the weekly digest to parents: what the child earned this week.

Registered in messaging's DIGEST_SECTIONS from GamificationConfig.ready(), so messaging never imports us."""

import datetime as dt

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
        lines.append(
            ngettext(
                "Достижения: +%(xp)s очко опыта за неделю.", "Достижения: +%(xp)s очков опыта за неделю.", xp
            )
            % {"xp": xp}
        )
    if badges:
        names = ", ".join(f"«{name}»" for name in badges)
        lines.append(_("Новые значки: %(names)s.") % {"names": names})
    if quests:
        titles = ", ".join(f"«{title}»" for title in quests)
        lines.append(_("Пройденные квесты: %(titles)s.") % {"titles": titles})
    return lines
