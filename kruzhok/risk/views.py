from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.models import Role
from kruzhok.accounts.permissions import role_can
from kruzhok.risk import alerts, forms, selectors, services
from kruzhok.risk.models import ActionKind
from kruzhok.risk.sparkline import risk_sparkline
from kruzhok.risk.training import horizon_days
from kruzhok.risk.whathelps import MIN_N

LIST_LIMIT = 200


@role_required("risk.view")
@require_GET
def at_risk(request):
    membership = request.membership
    groups = selectors.risk_groups(membership=membership)
    branches = selectors.risk_branches(membership=membership)
    form = forms.RiskFilterForm(request.GET or None, groups=groups, branches=branches)
    filters = {"band": "", "group": None, "branch": None, "query": "", "sort": "risk"}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "band": data["band"],
            "group": data["group"],
            "branch": data["branch"],
            "query": data["q"],
            "sort": data["sort"] or "risk",
        }
    rows = selectors.at_risk_list(membership=membership, **filters)
    return render(
        request,
        "risk/list.html",
        {
            "form": form,
            "rows": rows[:LIST_LIMIT],
            "total": rows.count(),
            "show_branch": branches.count() > 1,
            "can_report": role_can(membership.role, "risk.report"),
            "threshold_percent": round(services.alert_threshold(request.org) * 100),
            "horizon_days": horizon_days(),
        },
    )


@role_required("risk.view")
@require_GET
def alert_feed(request):
    form = forms.AlertFeedForm(request.GET or None)
    status, mine = "active", False
    if form.is_bound and form.is_valid():
        status = form.cleaned_data["status"] or "active"
        mine = form.cleaned_data["mine"] == "1"
    feed = selectors.alert_feed(membership=request.membership, status=status, mine=mine)
    return render(
        request,
        "risk/alerts.html",
        {
            "form": form,
            "alerts": feed[:LIST_LIMIT],
            "total": feed.count(),
            "threshold_percent": round(services.alert_threshold(request.org) * 100),
            "status": status,
            "mine": mine,
        },
    )


def _card(request, enrollment, *, action_form=None, status=200):
    history = selectors.risk_history(enrollment=enrollment)
    latest = history[-1] if history else None
    alert_rows = list(selectors.alert_list(membership=request.membership, enrollment=enrollment))
    open_alert = next((a for a in alert_rows if a.is_open), None)
    decline = latest.decline_started_on if latest else None
    assignees = alerts.alert_assignees(alert=open_alert) if open_alert else []
    return render(
        request,
        "risk/card.html",
        {
            "enrollment": enrollment,
            "student": enrollment.student,
            "latest": latest,
            "history": history,
            "spark": risk_sparkline(
                history, threshold=services.alert_threshold(request.org), decline_on=decline
            ),
            "alerts": alert_rows,
            "open_alert": open_alert,
            "events": selectors.alert_events(alert=open_alert) if open_alert else [],
            "recommended": selectors.recommended_actions(
                membership=request.membership, enrollment=enrollment
            ),
            "action_form": action_form or forms.AlertActionForm(initial={"close": True}, assignees=assignees),
            "assignees": assignees,
            "action_kinds": ActionKind.choices,
            "horizon_days": horizon_days(),
        },
        status=status,
    )


@role_required("risk.view")
@require_GET
def card(request, enrollment_pk):
    enrollment = selectors.risk_enrollment_get(membership=request.membership, pk=enrollment_pk)
    return _card(request, enrollment)


DONE_MESSAGES = {
    "ack": gettext_lazy("Сигнал взят в работу."),
    "not_useful": gettext_lazy("Спасибо: отметили, что сигнал был не по делу."),
    "close": gettext_lazy("Сигнал закрыт."),
    "assign": gettext_lazy("Ответственный назначен."),
}


@role_required("risk.act")
@require_POST
def alert_act(request, alert_pk):
    alert = selectors.alert_get(membership=request.membership, pk=alert_pk)
    enrollment = selectors.risk_enrollment_get(membership=request.membership, pk=alert.enrollment_id)
    assignees = alerts.alert_assignees(alert=alert)
    form = forms.AlertActionForm(request.POST, assignees=assignees)
    if not form.is_valid():
        return _card(request, enrollment, action_form=form, status=400)
    do, data = form.cleaned_data["do"], form.cleaned_data
    try:
        if do == "ack":
            alerts.alert_acknowledge(alert=alert, actor=request.user)
        elif do == "not_useful":
            alerts.alert_not_useful(alert=alert, actor=request.user, note=data["note"])
        elif do == "close":
            alerts.alert_close(alert=alert, actor=request.user, note=data["note"])
        elif do == "assign":
            alerts.alert_assign(alert=alert, actor=request.user, assignee_id=data["assignee"])
        else:
            alerts.alert_log_action(
                alert=alert, actor=request.user, kind=data["kind"], note=data["note"], close=data["close"]
            )
    except ValidationError as error:
        form.add_error(None, " ".join(error.messages))
        return _card(request, enrollment, action_form=form, status=400)
    if do == "log":
        messages.success(
            request, _("Действие записано, сигнал закрыт.") if data["close"] else _("Действие записано.")
        )
    else:
        messages.success(request, str(DONE_MESSAGES[do]))
    return redirect("risk:card", enrollment_pk=enrollment.pk)


@role_required("risk.report")
@require_http_methods(["GET", "POST"])
def what_helps(request):
    membership = request.membership
    branches = selectors.risk_branches(membership=membership)
    form = forms.WhatHelpsFilterForm(request.GET or None, branches=branches)
    period, branch_ids = None, None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["date_from"] or data["date_to"]:
            period = (data["date_from"], data["date_to"])
        if data["branch"] is not None:
            branch_ids = [data["branch"].pk]
    if branch_ids is None and membership.role != Role.OWNER:
        branch_ids = list(branches.values_list("pk", flat=True))  # a manager: their branches only
    settings_form = None
    can_configure = role_can(membership.role, "risk.configure")
    if can_configure:
        current = alerts.risk_settings_for(org=request.org)
        settings_form = forms.RiskSettingsForm(request.POST or None, instance=current)
        if request.method == "POST":
            if settings_form.is_valid():
                alerts.risk_settings_update(org=request.org, **settings_form.cleaned_data)
                messages.success(request, _("Настройки сигналов сохранены."))
                return redirect("risk:what_helps")
    elif request.method == "POST":
        messages.error(request, _("Менять настройки сигналов может только владелец."))
        return redirect("risk:what_helps")
    rows = selectors.what_helps(request.org, period=period, branch_ids=branch_ids)
    status = 400 if settings_form is not None and settings_form.errors else 200
    return render(
        request,
        "risk/what_helps.html",
        {
            "form": form,
            "rows": rows,
            "settings_form": settings_form,
            "min_n": MIN_N,
            # The organisation's rules (the form sets them); the jump and the horizon stay server-wide.
            "threshold_percent": round(services.alert_threshold(request.org) * 100),
            "horizon_days": horizon_days(),
            "weekly_budget": alerts.weekly_budget(org=request.org),
            "jump_points": round(alerts.JUMP * 100),
        },
        status=status,
    )


@role_required("risk.report")
@require_GET
def model_versions(request):
    """Which model scores the organisation now, and every attempt to train a better one."""
    return render(
        request,
        "risk/models.html",
        {"rows": selectors.model_versions(org=request.org), "shown": selectors.MODEL_VERSIONS_SHOWN},
    )
