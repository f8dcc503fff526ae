import zoneinfo

from django.utils import timezone

from kruzhok.accounts import selectors
from kruzhok.lib.tenancy import tenant_context


class ActiveOrganizationMiddleware:
    """Resolves the caller (session user or API bearer token) to one membership and activates its
    organisation for the whole request, so the tenant safety net covers every query the view makes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bearer = selectors.bearer_key_from_header(request.headers.get("Authorization", ""))
        if bearer is not None:
            membership = selectors.membership_for_api_key(key=bearer)
            if membership is not None:
                request.user = membership.user
                request._dont_enforce_csrf_checks = True
        elif request.user.is_authenticated:
            membership = selectors.membership_for_session(user=request.user, session=request.session)
        else:
            membership = None

        request.membership = membership
        request.org = membership.organization if membership else None
        request.role = membership.role if membership else None
        request.api_authenticated = bearer is not None and membership is not None
        if membership is None:
            return self.get_response(request)
        # Times on every page are the organisation's wall-clock times, whatever the server's zone.
        timezone.activate(zoneinfo.ZoneInfo(membership.organization.timezone))
        try:
            with tenant_context(membership.organization_id):
                return self.get_response(request)
        finally:
            timezone.deactivate()
