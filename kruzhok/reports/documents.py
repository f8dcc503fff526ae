"""Drawing the reports: XLSX with openpyxl, PDF with reportlab (Cyrillic through kruzhok/lib/pdf.py).

Each builder takes the author's membership and the checked parameters, reports progress through a
callback, and returns a Document. Every text cell passes through cells.safe_cell (formula injection).
"""

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kruzhok.accounts.models import Membership
from kruzhok.lib.dates import org_today
from kruzhok.lib.pdf import cyrillic_font
from kruzhok.reports import exports
from kruzhok.reports.cells import csv_bytes, safe_cell, sheet_title, table_xlsx, xlsx_bytes
from kruzhok.reports.models import ReportFormat, ReportKind
from kruzhok.reports.params import EXPORT_TABLES, parse_month
from kruzhok.reports.selectors import journal_groups, journal_sheet, teacher_payroll_rows
from kruzhok.school.models import Branch

Progress = Callable[[int], None]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {
    ReportFormat.XLSX: XLSX_TYPE,
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "text/csv",
}
MONTHS = [
    gettext_lazy("январь"), gettext_lazy("февраль"), gettext_lazy("март"), gettext_lazy("апрель"),
    gettext_lazy("май"), gettext_lazy("июнь"), gettext_lazy("июль"), gettext_lazy("август"),
    gettext_lazy("сентябрь"), gettext_lazy("октябрь"), gettext_lazy("ноябрь"), gettext_lazy("декабрь"),
]  # fmt: skip
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)


@dataclass
class Document:
    title: str
    file_name: str
    content_type: str
    content: bytes


def month_words(first: dt.date) -> str:
    return f"{MONTHS[first.month - 1]} {first.year}"


def _percent(value: float | None) -> str:
    return "—" if value is None else number_format(round(value * 100, 1), 1) + " %"


def _rub(value: Decimal) -> str:
    return number_format(value, 2, force_grouping=True) + " ₽"


def _fit_columns(sheet, widths: dict[int, int]) -> None:
    for index, width in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = width


# ---------------------------------------------------------------- the monthly branch report


def _branch_summary(membership: Membership, params: dict):
    # Analytics owns the definitions of these figures; the report only lays them out.
    from kruzhok.analytics.selectors import month_summary, scope_for

    branch = Branch.objects.get(organization_id=membership.organization_id, pk=params["branch_id"])
    month = parse_month(params["month"])
    summary = month_summary(
        membership.organization, month=month, branch_ids=[branch.pk], scope=scope_for(membership)
    )
    return branch, month, summary


def summary_lines(summary) -> list[tuple[str, object, str]]:
    """(label, value for the spreadsheet, text for the PDF) of the headline figures."""
    return [
        (_("Активных учеников"), summary.active_students, str(summary.active_students)),
        (_("Новых зачислений"), summary.new_enrollments, str(summary.new_enrollments)),
        (_("Ушли"), summary.dropped, str(summary.dropped)),
        (_("Отток"), summary.churn_rate, _percent(summary.churn_rate)),
        (_("Посещаемость"), summary.attendance_rate, _percent(summary.attendance_rate)),
        (_("Занятий проведено"), summary.lessons_held, str(summary.lessons_held)),
        (_("Занятий отменено"), summary.lessons_cancelled, str(summary.lessons_cancelled)),
        (_("Выручка, ₽"), summary.revenue, _rub(summary.revenue)),
        (_("Выручка под риском, ₽"), summary.revenue_at_risk, _rub(summary.revenue_at_risk)),
        (_("Детей в зоне риска"), summary.at_risk_children, str(summary.at_risk_children)),
    ]


GROUP_HEADER = [
    gettext_lazy("Группа"), gettext_lazy("Курс"), gettext_lazy("Преподаватель"), gettext_lazy("Учеников"),
    gettext_lazy("Мест"), gettext_lazy("Посещаемость"), gettext_lazy("Ушли"),
]  # fmt: skip


def branch_month_xlsx(membership: Membership, params: dict, progress: Progress) -> Document:
    branch, month, summary = _branch_summary(membership, params)
    progress(60)
    title = _("Отчёт филиала «%(branch)s» за %(month)s") % {
        "branch": branch.name,
        "month": month_words(month),
    }
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Сводка")
    sheet.append([safe_cell(title)])
    sheet["A1"].font = TITLE
    sheet.append([safe_cell(membership.organization.name)])
    sheet.append([_("Филиал"), safe_cell(branch.name)])
    sheet.append([_("Месяц"), f"{month:%Y-%m}"])
    sheet.append([])
    for label, value, _text in summary_lines(summary):
        sheet.append([label, value if value is not None else "—"])
        cell = sheet.cell(row=sheet.max_row, column=2)
        if label in (_("Отток"), _("Посещаемость")) and value is not None:
            cell.number_format = "0.0%"
        elif isinstance(value, Decimal):
            cell.number_format = "#,##0.00"
    _fit_columns(sheet, {1: 28, 2: 40})

    groups = workbook.create_sheet(_("Группы"))
    groups.append([str(h) for h in GROUP_HEADER])
    for cell in groups[1]:
        cell.font = BOLD
    for row in summary.by_group:
        groups.append(
            [
                safe_cell(row.group_name),
                safe_cell(row.course_name),
                safe_cell(row.teacher_name),
                row.enrolled,
                row.capacity,
                row.attendance_rate if row.attendance_rate is not None else "—",
                row.dropped,
            ]
        )
        if row.attendance_rate is not None:
            groups.cell(row=groups.max_row, column=6).number_format = "0.0%"
    groups.freeze_panes = "A2"
    _fit_columns(groups, {1: 28, 2: 28, 3: 24, 4: 11, 5: 8, 6: 14, 7: 8})
    progress(90)
    return Document(
        title=title,
        file_name=f"branch-{branch.pk}-{month:%Y-%m}.xlsx",
        content_type=XLSX_TYPE,
        content=xlsx_bytes(workbook),
    )


def branch_month_pdf(membership: Membership, params: dict, progress: Progress) -> Document:
    branch, month, summary = _branch_summary(membership, params)
    progress(60)
    font = cyrillic_font()
    title = _("Отчёт филиала «%(branch)s» за %(month)s") % {
        "branch": branch.name,
        "month": month_words(month),
    }
    heading = ParagraphStyle("h", fontName=font, fontSize=15, leading=19, spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=9.5, leading=12)
    small = ParagraphStyle("s", fontName=font, fontSize=8, leading=10, textColor=colors.grey)

    def para(text, style=body):
        # Paragraph reads a small markup language: a name with < or & must stay text.
        return Paragraph(str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), style)

    story = [para(title, heading), para(membership.organization.name, small), Spacer(1, 6 * mm)]
    figures = Table(
        [[para(label), para(text)] for label, _value, text in summary_lines(summary)],
        colWidths=[70 * mm, 60 * mm],
    )
    figures.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [figures, Spacer(1, 6 * mm), para(_("Группы"), heading)]
    rows = [[para(h) for h in GROUP_HEADER]]
    for row in summary.by_group:
        rows.append(
            [
                para(row.group_name),
                para(row.course_name),
                para(row.teacher_name),
                para(row.enrolled),
                para(row.capacity),
                para(_percent(row.attendance_rate)),
                para(row.dropped),
            ]
        )
    if len(rows) == 1:
        rows.append([para(_("В этом месяце у филиала не было групп.")), "", "", "", "", "", ""])
    table = Table(
        rows, colWidths=[38 * mm, 38 * mm, 34 * mm, 18 * mm, 14 * mm, 22 * mm, 14 * mm], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.95, 0.98)),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    story += [
        Spacer(1, 6 * mm),
        para(
            _(
                "Отток — ушедшие за месяц из тех, кто мог уйти (занимались на начало месяца и пришли за месяц). "
                "Посещаемость — доля отметок «был» и «опоздал». Выручка под риском — месячная цена курса, "
                "умноженная на вероятность ухода."
            ),
            small,
        ),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=title, author=membership.organization.name,
    )  # fmt: skip
    doc.build(story)
    progress(90)
    return Document(
        title=title,
        file_name=f"branch-{branch.pk}-{month:%Y-%m}.pdf",
        content_type="application/pdf",
        content=buffer.getvalue(),
    )


# ---------------------------------------------------------------- attendance per teacher (payroll)

PAYROLL_HEADER = [
    gettext_lazy("Преподаватель"),
    gettext_lazy("Месяц"),
    gettext_lazy("Проведено занятий"),
    gettext_lazy("Отменено"),
    gettext_lazy("Часов"),
    gettext_lazy("Отмечено присутствующих"),
]


def _payroll_branches(membership: Membership, branch_id: int | None) -> str:
    """The header names what the rows cover: the chosen branch, a manager's own branches, or all."""
    from kruzhok.analytics.selectors import scope_for

    branches = Branch.objects.filter(organization_id=membership.organization_id)
    if branch_id:
        return branches.get(pk=branch_id).name
    scope = scope_for(membership)
    if scope.branch_ids is None:
        return str(_("все филиалы"))
    return ", ".join(branches.filter(pk__in=scope.branch_ids).order_by("name").values_list("name", flat=True))


def teacher_payroll_xlsx(membership: Membership, params: dict, progress: Progress) -> Document:
    month_from, month_to = parse_month(params["month"]), parse_month(params["month_to"])
    rows = teacher_payroll_rows(
        membership=membership, month_from=month_from, month_to=month_to, branch_id=params.get("branch_id")
    )
    progress(60)
    period = (
        month_words(month_from)
        if month_from == month_to
        else f"{month_words(month_from)} — {month_words(month_to)}"
    )
    title = _("Посещаемость по преподавателям: %(period)s") % {"period": period}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Преподаватели")
    sheet.append([safe_cell(title)])
    sheet["A1"].font = TITLE
    branch_name = _payroll_branches(membership, params.get("branch_id"))
    sheet.append([safe_cell(membership.organization.name), safe_cell(branch_name)])
    sheet.append([])
    sheet.append([str(h) for h in PAYROLL_HEADER])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = BOLD
    for row in rows:
        sheet.append(
            [safe_cell(row.teacher), f"{row.month:%Y-%m}", row.held, row.cancelled, row.hours, row.present]
        )
    sheet.append(
        [
            _("Итого"),
            "",
            sum(r.held for r in rows),
            sum(r.cancelled for r in rows),
            round(sum(r.minutes for r in rows) / 60, 2),
            sum(r.present for r in rows),
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    _fit_columns(sheet, {1: 30, 2: 10, 3: 18, 4: 11, 5: 9, 6: 24})
    progress(90)
    return Document(
        title=title,
        file_name=f"teachers-{month_from:%Y-%m}-{month_to:%Y-%m}.xlsx",
        content_type=XLSX_TYPE,
        content=xlsx_bytes(workbook),
    )


# ---------------------------------------------------------------- the journal per group


def journal_xlsx(membership: Membership, params: dict, progress: Progress) -> Document:
    month = parse_month(params["month"])
    groups = list(
        journal_groups(
            membership=membership, group_id=params.get("group_id"), branch_id=params.get("branch_id")
        )
    )
    title = _("Журнал посещаемости за %(month)s") % {"month": month_words(month)}
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for index, group in enumerate(groups, start=1):
        page = journal_sheet(group=group, month=month)
        progress(10 + int(80 * index / len(groups)))
        if page is None:
            continue
        sheet = workbook.create_sheet(sheet_title(group.name, used))
        _journal_page(sheet, page, membership)
    if not workbook.sheetnames:
        sheet = workbook.create_sheet(_("Журнал"))
        sheet.append([safe_cell(title)])
        sheet.append([_("За этот месяц в выбранных группах не было ни занятий, ни учеников.")])
    return Document(
        title=title,
        file_name=f"journal-{month:%Y-%m}.xlsx",
        content_type=XLSX_TYPE,
        content=xlsx_bytes(workbook),
    )


def _journal_page(sheet, page, membership: Membership) -> None:
    group = page.group
    sheet.append([_("Журнал посещаемости")])
    sheet["A1"].font = TITLE
    sheet.append([_("Группа"), safe_cell(group.name)])
    sheet.append([_("Курс"), safe_cell(group.course.title)])
    sheet.append(
        [
            _("Преподаватель"),
            safe_cell(group.teacher.get_full_name() or group.teacher.get_username())
            if group.teacher
            else "—",
        ]
    )
    sheet.append([_("Месяц"), month_words(page.month)])
    sheet.append([_("+ был, н — не был, б — пропуск по уважительной причине (болезнь)")])
    sheet.append([])
    header = ["№", _("ФИО")] + [d.strftime("%d.%m") for d in page.dates] + [_("Был"), _("Пропустил")]
    sheet.append(header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="center")
    for number, child in enumerate(page.children, start=1):
        sheet.append([number, safe_cell(child.name), *child.cells, child.attended, child.missed])
        for cell in sheet[sheet.max_row][2:]:
            cell.alignment = Alignment(horizontal="center")
    sheet.append(
        [
            "",
            _("Присутствовало"),
            *page.per_lesson,
            sum(c.attended for c in page.children),
            sum(c.missed for c in page.children),
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="center")
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=3)
    widths = {1: 5, 2: 30}
    widths.update(dict.fromkeys(range(3, 3 + len(page.dates)), 6.5))
    widths.update({3 + len(page.dates): 7, 4 + len(page.dates): 11})
    _fit_columns(sheet, widths)


# ---------------------------------------------------------------- exports


def export_document(membership: Membership, params: dict, progress: Progress) -> Document:
    header, rows = exports.export_table(membership=membership, params=params)
    label = str(EXPORT_TABLES[params["table"]][0])
    title = _("Выгрузка: %(table)s") % {"table": label}
    if params.get("date_from"):
        title += f" ({dt.date.fromisoformat(params['date_from']):%d.%m.%Y}–{dt.date.fromisoformat(params['date_to']):%d.%m.%Y})"
    progress(30)
    fmt = params["format"]
    stamp = org_today(membership.organization).isoformat()
    if fmt == ReportFormat.CSV:
        content = csv_bytes(header, rows)
    else:
        content = table_xlsx(label, header, rows)
    return Document(
        title=title,
        file_name=f"{params['table']}-{stamp}.{fmt}",
        content_type=CONTENT_TYPES[fmt] + ("; charset=utf-8" if fmt == ReportFormat.CSV else ""),
        content=content,
    )


BUILDERS = {
    (ReportKind.BRANCH_MONTH, ReportFormat.XLSX): branch_month_xlsx,
    (ReportKind.BRANCH_MONTH, ReportFormat.PDF): branch_month_pdf,
    (ReportKind.TEACHER_PAYROLL, ReportFormat.XLSX): teacher_payroll_xlsx,
    (ReportKind.JOURNAL, ReportFormat.XLSX): journal_xlsx,
    (ReportKind.EXPORT, ReportFormat.XLSX): export_document,
    (ReportKind.EXPORT, ReportFormat.CSV): export_document,
}


def build(*, membership: Membership, kind: str, params: dict, progress: Progress) -> Document:
    return BUILDERS[(kind, params["format"])](membership, params, progress)
