from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.models import Role
from kruzhok.analytics import dashboards, forms, operations, selectors, survival
from kruzhok.analytics.cache import cached
from kruzhok.analytics.selectors import Facts, scope_for
from kruzhok.school.models import Enrollment, Student

CHILDREN_PAGE = 50


def _facts_and_form(request):
    """The viewer's scope, narrowed by the filter form; a bad value is reported and ignored."""
    scope = scope_for(request.membership)
    everything = Facts.load(request.org, scope=scope)
    # The filter's lists (600 teachers on a network) and their rendered selects cost ~40 ms a page:
    # both follow the groups of the scope, under the key the group metadata itself is cached with.
    v = everything.versions
    groups_version = f"{v.enrollments}:{v.lesson_id}"
    choices = cached(
        request.org.pk,
        "filter_choices",
        {"g": everything.key},
        lambda: forms.filter_choices(everything.groups),
        version=groups_version,
    )
    form = forms.FilterForm(request.GET or None, choices=choices, today=everything.today)
    filters = form.filters()
    asked = {name: request.GET.getlist(name) for name in ("month", "branch", "course", "teacher")}
    form.selects_html = cached(
        request.org.pk,
        "filter_html",
        {"g": everything.key, "today": everything.today, "bound": form.is_bound, "asked": asked},
        lambda: render_to_string("analytics/_filter_selects.html", {"form": form}),
        version=groups_version,
    )
    facts = everything.narrow(
        scope=scope,
        branch_ids=filters["branch_ids"],
        course_ids=filters["course_ids"],
        teacher_ids=filters["teacher_ids"],
    )
    status = 400 if form.is_bound and not form.is_valid() else 200
    return facts, form, filters, status


@role_required("analytics.view")
@require_GET
def dashboard(request):
    facts, form, filters, status = _facts_and_form(request)
    querystring = form.querystring()
    # The figures part of the page holds no token or form, so its HTML is cached whole, per viewer
    # (a teacher's and a manager's lists are their own) and data version.
    body = facts.cached(
        "dashboard_html",
        {"q": querystring, "role": request.role, "user": request.user.pk, "lang": get_language()},
        lambda: render_to_string(
            "analytics/_dashboard_body.html",
            _dashboard_context(request, facts, filters, querystring),
            request,
        ),
    )
    context = {
        "form": form,
        "month_label": forms.month_label(filters["month"]),
        "querystring": querystring,
        "body": body,
    }
    return render(request, "analytics/dashboard.html", context, status=status)


def _dashboard_context(request, facts, filters, querystring) -> dict:
    month = filters["month"]
    role = request.role
    summary = facts.month_summary(month)
    overall, _none = dashboards.retention_curves(facts, None, facts.as_of(month))
    feedback = operations.feedback_trend(
        facts,
        months=selectors.months_back(month, dashboards.TREND_MONTHS),
        teacher_id=request.user.pk if role == Role.TEACHER else None,
    )
    context = {
        "month": month,
        "month_label": forms.month_label(month),
        "querystring": querystring,
        "summary": summary,
        "tiles": dashboards.tiles(
            summary, querystring=querystring, show_money=role in (Role.OWNER, Role.MANAGER)
        ),
        "trends": dashboards.trends(facts, month),
        "overall": overall,
        "overall_rows": dashboards.curve_rows([overall]) if overall else [],
        "overall_chart": dashboards.survival_chart([overall], band=True, title=_("Удержание"))
        if overall
        else None,
        "checkpoints": survival.CHECKPOINTS,
        "groups": sorted(summary.by_group, key=lambda g: -(g.enrolled / g.capacity if g.capacity else 0))[
            :30
        ],
        "groups_total": len(summary.by_group),
        "alerts": operations.alert_handling(facts, since=selectors.add_months(month, -2)),
        "feedback": feedback,
        "feedback_chart": _feedback_chart(feedback),
        "palette": survival_palette(),
        "role": role,
    }
    if role in (Role.OWNER, Role.MANAGER):
        kind, rows = operations.interventions(facts, branch_ids=filters["branch_ids"])
        context["interventions_kind"], context["interventions"] = kind, rows
    if role == Role.MANAGER:
        context["lists"] = operations.manager_lists(
            membership=request.membership, org=request.org, facts=facts, today=facts.today
        )
    if role == Role.TEACHER:
        context["lists"] = operations.teacher_lists(
            membership=request.membership, org=request.org, facts=facts, today=facts.today
        )
    return context


def _feedback_chart(rows: list[dict]):
    """NPS and the share of negative feedback by month, on one −100…100 scale (the table is its text)."""
    from kruzhok.analytics import charts

    labels = [(i, r["month"].strftime("%m.%y")) for i, r in enumerate(rows)]
    nps = [(i, float(r["nps"])) for i, r in enumerate(rows) if r["nps"] is not None]
    negative = [(i, 100 * r["negative_share"]) for i, r in enumerate(rows) if r["negative_share"] is not None]
    if not nps and not negative:
        return None
    return charts.line_chart(
        [charts.Series("NPS", nps), charts.Series(_("Негативные отзывы, доля в процентах"), negative)],
        label=_("NPS и доля негативных отзывов по месяцам: ")
        + ", ".join(
            f"{t} — NPS {r['nps'] if r['nps'] is not None else '—'}, "
            + (dashboards.percent(r["negative_share"]) if r["negative_share"] is not None else "—")
            for (_i, t), r in zip(labels, rows, strict=True)
        ),
        x_labels=labels,
        y_min=-100.0,
        y_max=100.0,
        y_ticks=[-100, -50, 0, 50, 100],
        y_format=lambda v: f"{v:.0f}",
        x_min=0,
        x_max=len(rows) - 1,
    )


@role_required("analytics.view")
@require_GET
def retention(request):
    facts, form, filters, status = _facts_and_form(request)
    by_form = forms.RetentionForm(request.GET or None)
    by = by_form.cleaned_data["by"] if by_form.is_bound and by_form.is_valid() else ""
    if by_form.is_bound and not by_form.is_valid():
        status = 400
    by = by or "course"
    label = survival.DIMENSIONS[by]
    querystring = form.querystring()
    # The curves as the centre saw them at the month's end (today in the current month).
    as_of = facts.as_of(filters["month"])

    def body() -> str:
        overall, curves = dashboards.retention_curves(facts, by, as_of)
        return render_to_string(
            "analytics/_retention_body.html",
            {
                "by": by,
                "by_label": label,
                "overall": overall,
                "overall_rows": dashboards.curve_rows([overall]) if overall else [],
                "overall_chart": dashboards.survival_chart([overall], band=True, title=_("Удержание"))
                if overall
                else None,
                "rows": dashboards.curve_rows(curves),
                "chart": dashboards.survival_chart(
                    curves, band=False, title=_("Удержание: %(by)s") % {"by": label}
                )
                if curves
                else None,
                "charted": curves[: dashboards.MAX_CURVES_ON_CHART],
                "palette": survival_palette(),
                "checkpoints": survival.CHECKPOINTS,
                "querystring": querystring,
            },
        )

    # The table of ~600 curves and the charts cost ~60 ms to render: they change only with what the
    # curves are fitted on (the enrollments part, the same key as the curves themselves).
    return render(
        request,
        "analytics/retention.html",
        {
            "form": form,
            "by_form": by_form,
            "by": by,
            "extra_hidden": [("by", by)],
            "dimensions": survival.DIMENSIONS,
            "body": facts.cached(
                "retention_html", {"by": by, "q": querystring, "as_of": as_of}, body, part="enrollments"
            ),
            "as_of": as_of,
            "querystring": querystring,
        },
        status=status,
    )


def survival_palette():
    from kruzhok.analytics.charts import PALETTE

    return PALETTE


@role_required("analytics.view")
@require_GET
def compare(request):
    facts, form, filters, status = _facts_and_form(request)
    cform = forms.CompareForm(request.GET or None)
    unit, metric = "", ""
    if cform.is_bound:
        if cform.is_valid():
            unit, metric = cform.cleaned_data["unit"], cform.cleaned_data["metric"]
        else:
            status = 400
    unit = unit or ("group" if request.role == Role.TEACHER else "teacher")
    metric = metric or "attendance"
    result = dashboards.comparison(facts, unit=unit, metric=metric, month=filters["month"])
    return render(
        request,
        "analytics/compare.html",
        {
            "form": form,
            "cform": cform,
            "unit": unit,
            "metric": metric,
            "extra_hidden": [("unit", unit), ("metric", metric)],
            "unit_label": forms.COMPARE_UNITS[unit],
            "metric_label": forms.COMPARE_METRICS[metric],
            "units": forms.COMPARE_UNITS,
            "metrics": forms.COMPARE_METRICS,
            "result": result,
            "small_n": 30,
            "querystring": form.querystring(),
        },
        status=status,
    )


def _children_rows(page, enrollments) -> list[tuple]:
    """Each child of the page with the enrollments behind the figure (for «Ушли»: when and why), in
    one query per page."""
    by_student: dict[int, list] = {}
    for e in (
        enrollments.filter(student_id__in=[s.pk for s in page])
        .select_related("group")
        .order_by("started_on", "pk")
    ):
        by_student.setdefault(e.student_id, []).append(e)
    return [(s, by_student.get(s.pk, [])) for s in page]


def _at_risk_page(request, facts, month, group_id):
    """«В зоне риска»: the ids are paged in memory, and only the page's children and their risky
    enrollments are read."""
    student_ids, risky = selectors.at_risk_children(facts, month=month, group_id=group_id)
    page = Paginator(student_ids, CHILDREN_PAGE).get_page(request.GET.get("page"))
    on_page = set(page.object_list)
    students = Student.objects.filter(organization_id=request.org.pk).in_bulk(on_page)
    enrollment_ids = [e.id for e in risky if e.student_id in on_page]
    enrollments = Enrollment.objects.filter(organization_id=request.org.pk, pk__in=enrollment_ids)
    page.object_list = [students[pk] for pk in page.object_list if pk in students]
    return page, _children_rows(page, enrollments), len(risky)


@role_required("analytics.view")
@require_GET
def children(request):
    facts, form, filters, status = _facts_and_form(request)
    cform = forms.ChildrenForm(request.GET)
    if not cform.is_valid():
        return render(
            request,
            "analytics/children.html",
            {"form": form, "cform": cform, "error": True, "querystring": form.querystring()},
            status=400,
        )
    metric = cform.cleaned_data["metric"]
    group_id = cform.cleaned_data.get("group")
    if group_id is not None and group_id not in facts.group_ids:
        group_id = -1  # not in the viewer's scope: an empty list, never another group's children
    if metric == "at_risk":
        page, rows, enrollments_count = _at_risk_page(request, facts, filters["month"], group_id)
    else:
        enrollments = selectors.enrollments_behind(
            facts, metric=metric, month=filters["month"], group_id=group_id
        )
        students = selectors.children_behind(facts, metric=metric, month=filters["month"], group_id=group_id)
        page = Paginator(students, CHILDREN_PAGE).get_page(request.GET.get("page"))
        rows = _children_rows(page, enrollments)
        enrollments_count = enrollments.count()
    return render(
        request,
        "analytics/children.html",
        {
            "form": form,
            "cform": cform,
            "metric": metric,
            "extra_hidden": [("metric", metric)] + ([("group", group_id)] if group_id else []),
            "metric_label": forms.METRIC_LABELS[metric],
            "month_label": forms.month_label(filters["month"]),
            "page": page,
            "rows": rows,
            "enrollments_count": enrollments_count,
            "group": facts.groups.get(group_id) if group_id else None,
            "querystring": form.querystring(),
        },
        status=status,
    )


@role_required("analytics.view")
@require_GET
def retention_children(request):
    """The children behind one row of the retention table (all their enrollments in the scope, or those
    who left), as known at the end of the filter's month: the same cut as the curves."""
    facts, form, filters, status = _facts_and_form(request)
    by_form = forms.RetentionForm(request.GET)
    key = request.GET.get("key", "")[:40]
    left_only = request.GET.get("left") == "1"
    if by_form.is_valid() and (not by_form.cleaned_data["by"] or not key):
        by_form.add_error("by", _("Не указано, какую строку удержания раскрыть."))
    if not by_form.is_valid():
        return render(
            request,
            "analytics/children.html",
            {"form": form, "cform": by_form, "error": True, "querystring": form.querystring()},
            status=400,
        )
    by = by_form.cleaned_data["by"]
    as_of = facts.as_of(filters["month"])
    label, ids = survival.enrollments_of(facts, by, key, left_only=left_only, as_of=as_of)
    # Ids come from the viewer's own scope (facts), so nothing outside it can be listed.
    enrollments = Enrollment.objects.filter(organization_id=request.org.pk, pk__in=ids)
    students = Student.objects.filter(
        organization_id=request.org.pk, pk__in=enrollments.values("student_id")
    ).order_by("last_name", "first_name", "pk")
    page = Paginator(students, CHILDREN_PAGE).get_page(request.GET.get("page"))
    what = _("Ушли") if left_only else _("Зачисления")
    return render(
        request,
        "analytics/children.html",
        {
            "form": form,
            "cform": by_form,
            "metric": "retention",
            "extra_hidden": [("by", by), ("key", key)] + ([("left", "1")] if left_only else []),
            "metric_label": f"{what} · {survival.DIMENSIONS[by]}: {label or '—'}",
            "month_label": _("на %(date)s") % {"date": date_format(as_of, "SHORT_DATE_FORMAT")},
            "page": page,
            "rows": _children_rows(page, enrollments),
            "enrollments_count": len(ids),
            "back_url": reverse("analytics:retention") + f"?{form.querystring()}&by={by}",
            "querystring": form.querystring(),
        },
        status=status,
    )


@role_required("analytics.view")
@require_GET
def survival_export(request):
    """The rows the retention curves are fitted on, as CSV: anyone can check the curves elsewhere."""
    facts, _form, filters, _status = _facts_and_form(request)
    as_of = facts.as_of(filters["month"])
    response = HttpResponse(survival.survival_csv(facts, as_of), content_type="text/csv; charset=utf-8")
    stamp = as_of.isoformat()
    response["Content-Disposition"] = f'attachment; filename="retention-{stamp}.csv"'
    return response
