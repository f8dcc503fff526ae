"""Display helpers for the people pages: phones, ages and enrollment badges."""

import datetime as dt

from django import template
from django.utils import timezone, translation

from kruzhok.school.models import EnrollmentStatus

register = template.Library()

BADGE_CLASS = {
    "active": "ok",
    "trial": "people-info",
    "paused": "warn",
    "dropped": "bad",
    "completed": "",
    "transferred": "",
}


@register.filter
def phone(value: str) -> str:
    """ "+79161234567" → "+7 916 123-45-67"; other numbers as stored."""
    value = value or ""
    if len(value) == 12 and value.startswith("+7") and value[1:].isdigit():
        return f"+7 {value[2:5]} {value[5:8]}-{value[8:10]}-{value[10:12]}"
    return value


@register.filter
def age(birth_date: dt.date | None) -> str:
    """Full years today, with the right Russian word ("1 год", "3 года", "10 лет")."""
    if not isinstance(birth_date, dt.date):
        return ""
    today = timezone.localdate()
    years = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if not (translation.get_language() or "ru").startswith("ru"):
        # Russian needs three plural forms and has no catalog of its own, so only other languages
        # go through ngettext; Russian keeps the rule below.
        return translation.ngettext("%(n)d год", "%(n)d лет", years) % {"n": years}
    if years % 10 == 1 and years % 100 != 11:
        word = "год"
    elif 2 <= years % 10 <= 4 and not 12 <= years % 100 <= 14:
        word = "года"
    else:
        word = "лет"
    return f"{years} {word}"


@register.filter
def status_badge(status: str) -> str:
    return BADGE_CLASS.get(status, "")


@register.filter
def status_label(status: str) -> str:
    """The label of an enrollment status stored as text (EnrollmentEvent keeps plain values)."""
    try:
        return str(EnrollmentStatus(status).label)
    except ValueError:
        return status
