"""Report pages: choose a report, watch it being generated (htmx polling), download it; schedules.

Runs and schedules are resolved through scoped selectors: another organisation's run, or another
manager's, answers 404; a download checks the tenant and the role again on every request.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.lib.dates import org_today
from kruzhok.reports import forms, selectors, services
from kruzhok.reports.models import ReportKind, RunStatus
from kruzhok.reports.params import month_key, previous_month
from kruzhok.school.selectors.structure import branch_list_for, group_list

RECENT_RUNS = 20


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _report_forms(request, bound=None) -> dict:
    branches = list(branch_list_for(membership=request.membership))
    groups = list(group_list(membership=request.membership).filter(is_active=True))
    last_month = month_key(previous_month(org_today(request.org)))
    today = org_today(request.org)
    initial = {
        ReportKind.BRANCH_MONTH: {"month": last_month, "format": "pdf"},
        ReportKind.TEACHER_PAYROLL: {"month": last_month, "month_to": last_month},
        ReportKind.JOURNAL: {"month": last_month},
        ReportKind.EXPORT: {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()},
    }
    out = {}
    for kind, form_class in forms.FORMS.items():
        if bound is not None and bound.KIND == kind:
            out[kind] = bound
        else:
            out[kind] = form_class(branches=branches, groups=groups, initial=initial[kind])
    return out


def _index(request, *, bound=None, schedule_form=None, status=200):
    report_forms = _report_forms(request, bound)
    branches = branch_list_for(membership=request.membership)
    schedule_form = schedule_form or forms.ScheduleForm(
        branches=branches, recipients=selectors.recipient_choices(membership=request.membership)
    )
    return render(
        request,
        "reports/index.html",
        {
            "cards": [(kind, ReportKind(kind).label, form) for kind, form in report_forms.items()],
            "runs": selectors.run_list(membership=request.membership)[:RECENT_RUNS],
            "schedules": selectors.schedule_list(membership=request.membership),
            "schedule_form": schedule_form,
        },
        status=status,
    )


@role_required("reports.view")
@require_GET
def index(request):
    return _index(request)


@role_required("reports.export")
@require_POST
def create(request):
    form_class = forms.FORMS.get(request.POST.get("kind", ""))
    if form_class is None:
        messages.error(request, _("Неизвестный отчёт."))
        return redirect("reports:index")
    form = form_class(
        request.POST,
        branches=branch_list_for(membership=request.membership),
        groups=group_list(membership=request.membership),
    )
    if form.is_valid():
        try:
            run = services.report_run_create(
                membership=request.membership, kind=form.KIND, data=form.params()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("reports:run", run_pk=run.pk)
    return _index(request, bound=form, status=400)


@role_required("reports.view")
@require_GET
def run(request, run_pk: int):
    report = selectors.run_get(membership=request.membership, pk=run_pk)
    template = "reports/_run_status.html" if request.htmx else "reports/run.html"
    return render(request, template, {"run": report, "finished": report.is_finished})


@role_required("reports.view")
@require_GET
def download(request, run_pk: int):
    report = selectors.run_get(membership=request.membership, pk=run_pk)
    if report.status != RunStatus.DONE:
        raise Http404
    response = HttpResponse(selectors.run_content(run=report), content_type=report.content_type)
    response["Content-Disposition"] = f'attachment; filename="{report.file_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required("reports.export")
@require_POST
def schedule_create(request):
    branches = branch_list_for(membership=request.membership)
    form = forms.ScheduleForm(
        request.POST, branches=branches, recipients=selectors.recipient_choices(membership=request.membership)
    )
    if form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("branch_id", "table", "format")}
        try:
            services.schedule_create(
                membership=request.membership,
                kind=form.cleaned_data["kind"],
                data=data,
                day_of_month=form.cleaned_data["day_of_month"],
                recipients=form.cleaned_data["recipients"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Расписание сохранено: отчёт придёт письмом за прошлый месяц."))
            return redirect("reports:index")
    return _index(request, schedule_form=form, status=400)


@role_required("reports.export")
@require_POST
def schedule_delete(request, schedule_pk: int):
    schedule = selectors.schedule_get(membership=request.membership, pk=schedule_pk)
    services.schedule_delete(schedule=schedule)
    messages.success(request, _("Расписание удалено."))
    return redirect("reports:index")
