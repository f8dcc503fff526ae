from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kruzhok.accounts.models import Role

# Where each role starts its day; falls back to the plain home page until that page exists.
ROLE_START = {
    Role.OWNER: "school:dashboard",
    Role.MANAGER: "school:dashboard",
    Role.TEACHER: "attendance:today",
    Role.PARENT: "family:home",
    Role.STUDENT: "family:home",
}


@login_required
def home(request):
    if request.membership is None:
        return render(request, "core/no_membership.html", status=403)
    try:
        return redirect(reverse(ROLE_START[request.role]))
    except NoReverseMatch:
        return render(request, "core/home.html")


@never_cache
@require_GET
def healthz(request):
    """Liveness + readiness: answers 200 only when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 — any database failure means "not ready"
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links. As a 404 it rendered the error page, whose
    forms carry a CSRF token: a first visit's request without the cookie yet got a new CSRF cookie that
    replaced the login page's, and the login form was refused. A redirect renders nothing."""
    return redirect(static("img/favicon.svg"), permanent=True)
