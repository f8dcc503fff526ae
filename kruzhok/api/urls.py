from functools import wraps

from django.http import JsonResponse
from django.urls import URLPattern, path, re_path

from kruzhok.api.errors import error_response
from kruzhok.api.main import api


def _json_method_not_allowed(view):
    """ninja answers a wrong method with a bare text 405; clients get the error envelope instead."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            response = error_response(405, "method_not_allowed")
            response["Allow"] = allowed
        return response

    wrapper.csrf_exempt = True
    return wrapper


def _not_found(request, rest=""):
    return error_response(404, "not_found")


def _index(request):
    return JsonResponse(
        {"name": api.title, "version": api.version, "docs": "docs", "openapi": "openapi.json"}
    )


_not_found.csrf_exempt = True
_index.csrf_exempt = True

# (Module-level names must not be app_name: include() would read it as this URLconf's namespace.)
_ninja_patterns, _ninja_app, _ninja_namespace = api.urls
_patterns = [
    # ninja's root view only raises a 404 (an HTML page); it must keep its name, which ninja reverses.
    URLPattern(
        p.pattern,
        _index if p.name == "api-root" else _json_method_not_allowed(p.callback),
        p.default_args,
        p.name,
    )
    if isinstance(p, URLPattern)
    else p
    for p in _ninja_patterns
]
# Anything else under /api/v1/ is an unknown endpoint: the envelope, not the site's HTML 404 page.
_patterns.append(re_path(r"^(?P<rest>.*)$", _not_found))

urlpatterns = [path("", (_patterns, _ninja_app, _ninja_namespace))]
