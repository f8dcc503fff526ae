from django import template

from kruzhok.gamification import selectors

register = template.Library()


@register.inclusion_tag("gamification/_home_card.html")
def gamification_card(student, org):
    """The small level card on a student's home page; the family app includes it without knowing XP."""
    xp = selectors.student_xp(org=org, student=student)
    return {"xp": xp, "level": selectors.level_for(xp)}
