from django.http import HttpRequest
from ninja import Router

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES
from kruzhok.api.schemas import OrganizationOut

router = Router(tags=["organization"])


def organization_out(membership) -> dict:
    org = membership.organization
    return {
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "timezone": org.timezone,
        "role": membership.role,
    }


@router.get("", response={200: OrganizationOut, **ERROR_RESPONSES})
def organization_current(request: HttpRequest):
    """The organisation the token (or session) belongs to, and the caller's role in it."""
    require(request, "org.view")
    return organization_out(request.membership)
