from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kruzhok.accounts import selectors, services
from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.forms import InvitationForm, InviteAcceptForm, SignupForm
from kruzhok.accounts.models import Role


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


def _form_error(form, exc: ValidationError) -> None:
    form.add_error(form.FIELD_FOR_CODE.get(getattr(exc, "code", None)), exc)


def _enter(request, user, org_id: int) -> None:
    """Logs `user` in (if needed) and makes `org_id` the organisation they work in."""
    if request.user != user:
        auth_login(request, user)
    request.session[selectors.SESSION_ORG_KEY] = org_id


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            org = services.organization_create(
                name=data["org_name"],
                owner_username=data["username"],
                owner_password=data["password1"],
                owner_email=data["email"],
                owner_first_name=data["first_name"],
                owner_last_name=data["last_name"],
                timezone=data["timezone"],
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            owner = org.memberships.select_related("user").get(role=Role.OWNER).user
            _enter(request, owner, org.id)
            messages.success(request, _("Центр «%(name)s» создан. Добро пожаловать!") % {"name": org.name})
            return redirect("core:home")
    return render(request, "accounts/signup.html", {"form": form})


def _staff_page(request, form, new_link: str = ""):
    # Branches belong to school, one layer up; this page is where accounts shows them.
    from kruzhok.school.selectors.staff import branches_by_manager

    branch_names = dict(form.fields["branches"].choices)
    managed = branches_by_manager(org=request.org)
    staff = list(selectors.staff_list(org=request.org))
    for membership in staff:
        membership.branches = managed.get(membership.user_id, []) if membership.role == Role.MANAGER else []
    invitations = list(selectors.invitation_list_pending(org=request.org))
    now = timezone.now()
    for invitation in invitations:
        invitation.is_expired = invitation.expires_at <= now
        invitation.branch_names = [branch_names[pk] for pk in invitation.branch_ids if pk in branch_names]
    context = {"form": form, "staff": staff, "invitations": invitations, "new_link": new_link}
    return render(request, "accounts/staff.html", context)


def _invitation_form(request):
    from kruzhok.school.selectors.staff import branch_list_for_staff

    choices = [(branch.pk, branch.name) for branch in branch_list_for_staff(org=request.org)]
    return InvitationForm(request.POST or None, branch_choices=choices)


@never_cache
@role_required("staff.invite")
def staff(request):
    form = _invitation_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _invitation, raw_token = services.invitation_create(
                org=request.org,
                actor=request.user,
                role=data["role"],
                email=data["email"],
                branch_ids=data["branches"],
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            # Rendered, not redirected: the raw token exists only in this response, never at rest.
            link = request.build_absolute_uri(reverse("accounts:invite_accept", args=[raw_token]))
            blank = InvitationForm(branch_choices=form.fields["branches"].choices)
            return _staff_page(request, blank, new_link=link)
    return _staff_page(request, form)


@role_required("staff.invite")
@require_POST
def invite_revoke(request, pk: int):
    invitation = get_object_or_404(selectors.invitation_list_pending(org=request.org), pk=pk)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Приглашение отозвано: ссылка больше не работает."))
    return redirect("accounts:staff")


@role_required("staff.invite")
@require_POST
def staff_deactivate(request, membership_pk: int):
    membership = get_object_or_404(selectors.staff_list(org=request.org), pk=membership_pk)
    try:
        services.membership_deactivate(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        name = membership.user.get_full_name() or membership.user.username
        messages.success(request, _("Доступ для %(name)s отключён.") % {"name": name})
    return redirect("accounts:staff")


def _invitation_closed(request, message: str, status: int):
    return render(request, "accounts/invite_invalid.html", {"message": message}, status=status)


@never_cache
def invite_accept(request, token: str):
    invitation = selectors.invitation_for_token(raw_token=token)
    if invitation is None:
        message = _("Приглашение не найдено: возможно, его отозвали или в ссылке опечатка.")
        return _invitation_closed(request, message, status=404)
    if invitation.accepted_at is not None:
        message = _("Это приглашение уже использовано. Попросите владельца центра прислать новое.")
        return _invitation_closed(request, message, status=410)
    if invitation.expires_at <= timezone.now():
        message = _("Срок действия приглашения истёк. Попросите владельца центра прислать новое.")
        return _invitation_closed(request, message, status=410)

    form, error = None, ""
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(raw_token=token, user=request.user)
            except ValidationError as exc:
                if exc.code in ("used", "expired"):
                    return _invitation_closed(request, exc.messages[0], status=410)
                error = exc.messages[0]
            else:
                return _joined(request, membership)
    else:
        form = InviteAcceptForm(request.POST or None, initial={"email": invitation.email})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                membership = services.invitation_accept(
                    raw_token=token,
                    username=data["username"],
                    password=data["password1"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                )
            except ValidationError as exc:
                if exc.code in ("used", "expired"):
                    return _invitation_closed(request, exc.messages[0], status=410)
                _form_error(form, exc)
            else:
                return _joined(request, membership)
    context = {"invitation": invitation, "form": form, "error": error}
    return render(request, "accounts/invite_accept.html", context)


def _joined(request, membership):
    _enter(request, membership.user, membership.organization_id)
    messages.success(
        request,
        _("Добро пожаловать в «%(org)s»! Ваша роль: %(role)s.")
        % {"org": membership.organization.name, "role": membership.get_role_display().lower()},
    )
    return redirect("core:home")
