"""Resolving ids from a request to rows the caller may see."""

from django.db.models import QuerySet

from kruzhok.api.errors import MESSAGES, ApiError


def get_or_404(queryset: QuerySet, pk: int, *, field: str | None = None):
    """The row with `pk` inside `queryset` (already scoped to the caller), else 404.

    `field` names the body field an id came from, so the client learns which reference was wrong;
    another organisation's id and a missing id look the same on purpose.
    """
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise ApiError(404, "not_found", fields={field: MESSAGES["not_found"]} if field else None)
    return obj
