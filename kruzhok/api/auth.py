"""Who is calling the API.

ActiveOrganizationMiddleware has already turned an `Authorization: Bearer` key or a session into
request.user / request.membership / request.org / request.role. These classes only accept or refuse
that result, and tell the OpenAPI schema how to authenticate. Both answer with the caller's
Membership, which ninja stores as request.auth.
"""

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from kruzhok.accounts.permissions import role_can
from kruzhok.accounts.selectors import bearer_key_from_header
from kruzhok.api.errors import ApiError


class BearerAuth(HttpBearer):
    def __call__(self, request: HttpRequest):
        if getattr(request, "api_authenticated", False):
            return request.membership
        return None

    def authenticate(self, request: HttpRequest, token: str):  # pragma: no cover — __call__ decides
        return None


class BrowserSessionAuth(APIKeyCookie):
    """The logged-in browser (the docs page, htmx). Unsafe methods need the CSRF token, as on the site."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest):
        # A request that brought a bearer key is judged by that key alone, even with a session cookie.
        if bearer_key_from_header(request.headers.get("Authorization", "")) is not None:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise ApiError(403, "csrf_failed")
        if getattr(request, "membership", None) is None:
            raise ApiError(403, "not_a_member")
        return request.membership

    def authenticate(self, request: HttpRequest, key: str | None):  # pragma: no cover — __call__ decides
        return None


api_auth = [BearerAuth(), BrowserSessionAuth()]


def require(request: HttpRequest, action: str) -> None:
    """403 unless the caller's role may do `action` (kruzhok.accounts.permissions.PERMISSIONS)."""
    if not role_can(getattr(request, "role", None), action):
        raise ApiError(403, "forbidden")


def require_any(request: HttpRequest, *actions: str) -> None:
    if not any(role_can(getattr(request, "role", None), action) for action in actions):
        raise ApiError(403, "forbidden")
