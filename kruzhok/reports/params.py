"""Checking a report's parameters against what the caller may see.

Forms only parse input; these functions decide whether it makes sense: the branch or group must be in
the caller's scope (another organisation's id reads as "not found"), a month must not lie in the
future, a period must stay small enough to generate. Each error is a ValidationError with a Russian
message and a machine-readable code. The result is plain JSON, stored on the run and the schedule.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kruzhok.accounts.models import Membership
from kruzhok.lib.dates import org_today
from kruzhok.reports.models import ReportFormat, ReportKind
from kruzhok.school.selectors.structure import branch_list_for, group_list

MONTHS_MAX = 12
EXPORT_DAYS_MAX = 366
FORMATS = {
    ReportKind.BRANCH_MONTH: (ReportFormat.PDF, ReportFormat.XLSX),
    ReportKind.TEACHER_PAYROLL: (ReportFormat.XLSX,),
    ReportKind.JOURNAL: (ReportFormat.XLSX,),
    ReportKind.EXPORT: (ReportFormat.CSV, ReportFormat.XLSX),
}
# Export tables, by key: (label, whether the table needs a date range).
EXPORT_TABLES = {
    "students": (gettext_lazy("Ученики"), False),
    "guardians": (gettext_lazy("Родители"), False),
    "enrollments": (gettext_lazy("Зачисления"), False),
    "subscriptions": (gettext_lazy("Абонементы"), False),
    "lessons": (gettext_lazy("Занятия"), True),
    "attendance": (gettext_lazy("Посещаемость"), True),
    "payments": (gettext_lazy("Оплаты"), True),
}


def parse_month(value, *, field: str = "month") -> dt.date:
    """'2026-10' → date(2026, 10, 1)."""
    try:
        year, month = (int(part) for part in str(value or "").strip().split("-"))
        first = dt.date(year, month, 1)
    except (TypeError, ValueError):
        raise ValidationError(
            {field: ValidationError(_("Укажите месяц в виде ГГГГ-ММ."), code="invalid_month")}
        ) from None
    if first.year < 2000:
        raise ValidationError(
            {field: ValidationError(_("Такой давний месяц не поддерживается."), code="invalid_month")}
        )
    return first


def month_key(first: dt.date) -> str:
    return f"{first:%Y-%m}"


def month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _not_future(first: dt.date, today: dt.date, field: str) -> None:
    if first > today.replace(day=1):
        raise ValidationError(
            {
                field: ValidationError(
                    _("Этот месяц ещё не наступил: отчёт можно сделать за текущий или прошедший месяц."),
                    code="future_month",
                )
            }
        )


def _parse_date(value, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationError({field: ValidationError(_("Укажите дату."), code="invalid_date")}) from None


def _int_or_none(value, field: str, message: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: ValidationError(message, code="not_found")}) from None


def _branch_id(membership: Membership, value, *, required: bool) -> int | None:
    message = _("Филиал не найден.")
    branch_id = _int_or_none(value, "branch_id", message)
    if branch_id is None:
        if required:
            raise ValidationError(
                {"branch_id": ValidationError(_("Выберите филиал."), code="branch_required")}
            )
        return None
    if not branch_list_for(membership=membership).filter(pk=branch_id).exists():
        raise ValidationError({"branch_id": ValidationError(message, code="not_found")})
    return branch_id


def _group_id(membership: Membership, value) -> int | None:
    message = _("Группа не найдена.")
    group_id = _int_or_none(value, "group_id", message)
    if group_id is not None and not group_list(membership=membership).filter(pk=group_id).exists():
        raise ValidationError({"group_id": ValidationError(message, code="not_found")})
    return group_id


def _format(kind: str, value) -> str:
    allowed = FORMATS[kind]
    value = str(value or allowed[0])
    if value not in allowed:
        raise ValidationError(
            {
                "format": ValidationError(
                    _("Этот отчёт бывает только в форматах: %(formats)s."),
                    code="invalid_format",
                    params={"formats": ", ".join(f.upper() for f in allowed)},
                )
            }
        )
    return value


def report_params_clean(
    *, membership: Membership, kind: str, data: dict, scheduled: bool = False, today: dt.date | None = None
) -> dict:
    """Validated parameters for `kind`. A schedule keeps no month or dates: each run covers the month
    before the day it runs (`scheduled=True`)."""
    if kind not in ReportKind.values:
        raise ValidationError({"kind": ValidationError(_("Неизвестный отчёт."), code="unknown_kind")})
    today = today or org_today(membership.organization)
    params: dict = {"format": _format(kind, data.get("format"))}
    if kind == ReportKind.BRANCH_MONTH:
        params["branch_id"] = _branch_id(membership, data.get("branch_id"), required=True)
    elif kind == ReportKind.TEACHER_PAYROLL:
        params["branch_id"] = _branch_id(membership, data.get("branch_id"), required=False)
    elif kind == ReportKind.JOURNAL:
        params["branch_id"] = _branch_id(membership, data.get("branch_id"), required=False)
        params["group_id"] = _group_id(membership, data.get("group_id"))
    else:
        table = str(data.get("table") or "")
        if table not in EXPORT_TABLES:
            raise ValidationError({"table": ValidationError(_("Неизвестная таблица."), code="unknown_table")})
        params["table"] = table
    if scheduled:
        return params

    if kind == ReportKind.EXPORT:
        if EXPORT_TABLES[params["table"]][1]:
            date_from = _parse_date(data.get("date_from"), "date_from")
            date_to = _parse_date(data.get("date_to"), "date_to")
            if date_from > date_to:
                raise ValidationError(
                    {"date_to": ValidationError(_("Конец периода раньше начала."), code="dates_reversed")}
                )
            if (date_to - date_from).days + 1 > EXPORT_DAYS_MAX:
                raise ValidationError(
                    {
                        "date_to": ValidationError(
                            _("Слишком большой период: не больше %(days)s дней за одну выгрузку."),
                            code="range_too_large",
                            params={"days": EXPORT_DAYS_MAX},
                        )
                    }
                )
            params["date_from"], params["date_to"] = date_from.isoformat(), date_to.isoformat()
        return params

    month = parse_month(data.get("month"))
    _not_future(month, today, "month")
    params["month"] = month_key(month)
    if kind == ReportKind.TEACHER_PAYROLL:
        month_to = parse_month(data.get("month_to") or params["month"], field="month_to")
        _not_future(month_to, today, "month_to")
        months = (month_to.year - month.year) * 12 + month_to.month - month.month + 1
        if months < 1:
            raise ValidationError(
                {"month_to": ValidationError(_("Конец периода раньше начала."), code="dates_reversed")}
            )
        if months > MONTHS_MAX:
            raise ValidationError(
                {
                    "month_to": ValidationError(
                        _("Слишком большой период: не больше %(n)s месяцев."),
                        code="range_too_large",
                        params={"n": MONTHS_MAX},
                    )
                }
            )
        params["month_to"] = month_key(month_to)
    return params


def params_for_period(*, kind: str, params: dict, today: dt.date) -> dict:
    """A schedule's parameters filled in for the month before `today`."""
    month = previous_month(today)
    filled = dict(params)
    if kind == ReportKind.EXPORT:
        if EXPORT_TABLES[params["table"]][1]:
            filled["date_from"], filled["date_to"] = month.isoformat(), month_end(month).isoformat()
    else:
        filled["month"] = month_key(month)
        if kind == ReportKind.TEACHER_PAYROLL:
            filled["month_to"] = month_key(month)
    return filled
