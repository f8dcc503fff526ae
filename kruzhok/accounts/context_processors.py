from django.utils.functional import SimpleLazyObject

from kruzhok.accounts.navigation import menu_for_role
from kruzhok.accounts.selectors import memberships_for_user


def navigation(request):
    role = getattr(request, "role", None)
    user = getattr(request, "user", None)
    return {
        "menu": menu_for_role(role) if role else [],
        "org": getattr(request, "org", None),
        "role": role,
        # For the organisation switcher; queried only when a page renders the user box.
        "org_memberships": SimpleLazyObject(lambda: memberships_for_user(user=user))
        if user is not None and user.is_authenticated
        else [],
    }
