from django import template

from kruzhok.risk.explain import factor_text

register = template.Library()


@register.filter
def reason(factor) -> str:
    """A stored risk factor worded in the reader's language: {{ factor|reason }}."""
    return factor_text(factor)
