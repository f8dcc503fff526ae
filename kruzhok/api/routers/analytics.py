"""Analytics: the dashboard's figures as JSON, read-only, in the caller's scope (owner: the organisation,
manager: their branches, teacher: their groups). Rates are fractions 0–1 or null when there is nothing to
divide; money is a decimal string in roubles."""

import datetime as dt
import re
from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kruzhok.analytics.dashboards import retention_curves
from kruzhok.analytics.selectors import Facts, add_months, scope_for
from kruzhok.analytics.survival import CHECKPOINTS, DIMENSIONS
from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES, MESSAGES, ApiError
from kruzhok.api.schemas import Id

router = Router(tags=["analytics"])
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
HISTORY_MONTHS = 13


class SummaryFilters(Schema):
    month: str | None = Field(
        None, max_length=7, description="YYYY-MM, one of the last 13 months; default: this month"
    )
    branch: Id | None = None
    course: Id | None = None
    teacher: Id | None = None


class GroupRowOut(Schema):
    group_id: int
    group_name: str
    course_name: str
    teacher_name: str
    enrolled: int
    capacity: int
    attendance_rate: float | None
    dropped: int


class SummaryOut(Schema):
    month: dt.date
    active_students: int
    new_enrollments: int
    dropped: int
    churn_rate: float | None
    attendance_rate: float | None
    lessons_held: int
    lessons_cancelled: int
    revenue: Decimal | None
    revenue_at_risk: Decimal | None
    at_risk_children: int
    by_group: list[GroupRowOut]


class CurveOut(Schema):
    key: str
    label: str
    n: int
    events: int
    median_days: float | None
    survival: dict[str, float | None] = Field(description="share still enrolled after 30, 90 and 180 days")


class RetentionOut(Schema):
    by: str
    overall: CurveOut | None
    curves: list[CurveOut]


class RetentionFilters(Schema):
    by: str = Field("course", max_length=16, description="course, branch, teacher, age or start")


def _facts(request: HttpRequest, filters: SummaryFilters | None = None) -> Facts:
    facts = Facts.load(request.org, scope=scope_for(request.membership))
    if filters is None:
        return facts
    for name, value in (("branch", filters.branch), ("course", filters.course), ("teacher", filters.teacher)):
        ids = {getattr(g, f"{name}_id") for g in facts.groups.values()}
        if value is not None and value not in ids:
            # Not in the caller's scope (or not in the organisation): the same answer as an unknown id.
            raise ApiError(404, "not_found", fields={name: MESSAGES["not_found"]})
    return facts.narrow(
        group_ids=facts.group_ids,
        branch_ids=[filters.branch] if filters.branch else None,
        course_ids=[filters.course] if filters.course else None,
        teacher_ids=[filters.teacher] if filters.teacher else None,
    )


@router.get("/summary", response={200: SummaryOut, **ERROR_RESPONSES})
def summary(request: HttpRequest, filters: Query[SummaryFilters]):
    require(request, "analytics.view")
    facts = _facts(request, filters)
    this_month = facts.today.replace(day=1)
    month = this_month
    if filters.month:
        candidate = dt.date.fromisoformat(filters.month + "-01") if MONTH.match(filters.month) else None
        if candidate is None or not (
            add_months(this_month, -(HISTORY_MONTHS - 1)) <= candidate <= this_month
        ):
            raise ApiError(
                400, "invalid_input", fields={"month": _("Месяц в формате ГГГГ-ММ за последние 13 месяцев.")}
            )
        month = candidate
    result = facts.month_summary(month)
    data = result.__dict__ | {"by_group": [g.__dict__ for g in result.by_group]}
    if request.role not in ("owner", "manager"):
        data["revenue"] = data["revenue_at_risk"] = None  # a teacher sees no money, as on the page
    return data


@router.get("/retention", response={200: RetentionOut, **ERROR_RESPONSES})
def retention(request: HttpRequest, filters: Query[RetentionFilters]):
    require(request, "analytics.view")
    if filters.by not in DIMENSIONS:
        raise ApiError(
            400, "invalid_input", fields={"by": _("Одно из: %(values)s") % {"values": ", ".join(DIMENSIONS)}}
        )
    overall, curves = retention_curves(_facts(request), filters.by)

    def out(c):
        return {
            "key": c.key,
            "label": c.label,
            "n": c.n,
            "events": c.events,
            "median_days": c.median_days,
            "survival": {str(d): c.at.get(d) for d in CHECKPOINTS},
        }

    return {
        "by": filters.by,
        "overall": out(overall) if overall else None,
        "curves": [out(c) for c in curves],
    }
