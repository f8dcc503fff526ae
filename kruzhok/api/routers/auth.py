from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Router, Status

from kruzhok.accounts.selectors import bearer_key_from_header, memberships_for_user
from kruzhok.accounts.services import api_token_issue, api_token_revoke
from kruzhok.api.auth import BearerAuth
from kruzhok.api.errors import ERROR_RESPONSES, ApiError
from kruzhok.api.routers.organization import organization_out
from kruzhok.api.schemas import TokenIn, TokenOut

router = Router(tags=["auth"])


@router.post("/token", auth=None, response={200: TokenOut, **ERROR_RESPONSES})
def token_issue(request: HttpRequest, payload: TokenIn):
    """Exchanges a login and password for a bearer token (shown once; send it as
    `Authorization: Bearer <token>`). With several organisations, `organization` picks one by slug;
    without it the first one is used."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise ApiError(401, "invalid_credentials")
    memberships = memberships_for_user(user=user)
    if payload.organization:
        membership = next((m for m in memberships if m.organization.slug == payload.organization), None)
    else:
        membership = memberships[0] if memberships else None
    if membership is None:
        raise ApiError(403, "not_a_member")
    key = api_token_issue(user=user, org=membership.organization)
    return {"token": key, "organization": organization_out(membership)}


@router.delete("/token", auth=BearerAuth(), response={204: None, **ERROR_RESPONSES})
def token_revoke(request: HttpRequest):
    """Forgets the token this request was made with (log the device out)."""
    api_token_revoke(key=bearer_key_from_header(request.headers.get("Authorization", "")))
    return Status(204, None)
