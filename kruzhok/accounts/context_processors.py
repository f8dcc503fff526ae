from kruzhok.accounts.navigation import menu_for_role


def navigation(request):
    role = getattr(request, "role", None)
    return {
        "menu": menu_for_role(role) if role else [],
        "org": getattr(request, "org", None),
        "role": role,
    }
