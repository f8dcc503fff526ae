from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kruzhok.accounts import selectors


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@require_POST
def switch_org(request, org_id: int):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    memberships = selectors.memberships_for_user(user=request.user)
    membership = next((m for m in memberships if m.organization_id == org_id), None)
    if membership is None:
        raise Http404
    request.session[selectors.SESSION_ORG_KEY] = membership.organization_id
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return HttpResponseRedirect(next_url)
