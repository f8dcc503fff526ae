from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.risk import forms, selectors, services
from kruzhok.risk.models import ActionKind
from kruzhok.risk.sparkline import risk_sparkline

LIST_LIMIT = 200


@role_required("risk.view")
@require_GET
def at_risk(request):
    membership = request.membership
    groups = selectors.risk_groups(membership=membership)
    form = forms.RiskFilterForm(request.GET or None, groups=groups)
    band, group, query = "", None, ""
    if form.is_bound and form.is_valid():
        band = form.cleaned_data["band"]
        group = form.cleaned_data["group"]
        query = form.cleaned_data["q"]
    rows = selectors.at_risk_list(membership=membership, band=band, group=group, query=query)
    return render(
        request,
        "risk/list.html",
        {
            "form": form,
            "rows": rows[:LIST_LIMIT],
            "threshold_percent": round(services.alert_threshold() * 100),
        },
    )


def _card(request, enrollment, *, action_form=None, status=200):
    history = selectors.risk_history(enrollment=enrollment)
    latest = history[-1] if history else None
    alerts = list(selectors.alert_list(membership=request.membership, enrollment=enrollment))
    open_alert = next((a for a in alerts if a.is_open), None)
    decline = latest.decline_started_on if latest else None
    return render(
        request,
        "risk/card.html",
        {
            "enrollment": enrollment,
            "student": enrollment.student,
            "latest": latest,
            "history": history,
            "spark": risk_sparkline(history, threshold=services.alert_threshold(), decline_on=decline),
            "alerts": alerts,
            "open_alert": open_alert,
            "action_form": action_form or forms.AlertActionForm(initial={"close": True}),
            "action_kinds": ActionKind.choices,
        },
        status=status,
    )


@role_required("risk.view")
@require_GET
def card(request, enrollment_pk):
    enrollment = selectors.risk_enrollment_get(membership=request.membership, pk=enrollment_pk)
    return _card(request, enrollment)


@role_required("risk.act")
@require_POST
def alert_act(request, alert_pk):
    alert = selectors.alert_get(membership=request.membership, pk=alert_pk)
    enrollment = selectors.risk_enrollment_get(membership=request.membership, pk=alert.enrollment_id)
    form = forms.AlertActionForm(request.POST)
    if not form.is_valid():
        return _card(request, enrollment, action_form=form, status=400)
    do = form.cleaned_data["do"]
    try:
        if do == "ack":
            services.alert_acknowledge(alert=alert, actor=request.user)
            messages.success(request, _("Сигнал взят в работу."))
        elif do == "not_useful":
            services.alert_not_useful(alert=alert, actor=request.user)
            messages.success(request, _("Спасибо: отметили, что сигнал был не по делу."))
        else:
            services.alert_log_action(
                alert=alert,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                note=form.cleaned_data["note"],
                close=form.cleaned_data["close"],
            )
            messages.success(
                request,
                _("Действие записано, сигнал закрыт.")
                if form.cleaned_data["close"]
                else _("Действие записано."),
            )
    except ValidationError as error:
        form.add_error(None, " ".join(error.messages))
        return _card(request, enrollment, action_form=form, status=400)
    return redirect("risk:card", enrollment_pk=enrollment.pk)
