from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from kruzhok.accounts.permissions import role_can


def role_required(action: str):
    """Login, an active membership, and a role allowed to do `action` (see permissions.PERMISSIONS)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if getattr(request, "membership", None) is None or not role_can(request.role, action):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        # Read by the permission-table test to check every page against PERMISSIONS.
        wrapper.required_action = action
        return wrapper

    return decorator
