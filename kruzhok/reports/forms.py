"""Report forms: they parse input and offer the caller's branches and groups; reports/params.py
decides what makes sense (scope, months in the future, the size of a period)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.reports.models import ReportFormat, ReportKind
from kruzhok.reports.params import EXPORT_TABLES

MONTH_WIDGET = forms.TextInput(attrs={"type": "month", "placeholder": "2026-10", "pattern": r"\d{4}-\d{2}"})
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _branch_field(branches, *, required: bool) -> forms.ChoiceField:
    choices = [(b.pk, b.name) for b in branches]
    if not required:
        choices = [("", _("Все мои филиалы"))] + choices
    return forms.ChoiceField(
        label=_("Филиал"),
        choices=choices,
        required=required,
        error_messages={"invalid_choice": _("Филиал не найден."), "required": _("Выберите филиал.")},
    )


class ReportForm(forms.Form):
    """Base: each kind's fields carry its prefix (several forms share one page); the template adds a
    plain hidden `kind`, so one view takes them all."""

    KIND = ""

    def __init__(self, *args, branches=(), groups=(), **kwargs):
        kwargs.setdefault("prefix", self.KIND)
        super().__init__(*args, **kwargs)
        self.setup(branches=branches, groups=groups)

    def setup(self, *, branches, groups) -> None:
        pass

    def params(self) -> dict:
        return dict(self.cleaned_data)


class BranchMonthForm(ReportForm):
    KIND = ReportKind.BRANCH_MONTH
    month = forms.CharField(label=_("Месяц"), max_length=7, widget=MONTH_WIDGET)
    format = forms.ChoiceField(
        label=_("Формат"), choices=[(ReportFormat.PDF, "PDF"), (ReportFormat.XLSX, "XLSX (Excel)")]
    )

    def setup(self, *, branches, groups) -> None:
        self.fields["branch_id"] = _branch_field(branches, required=True)
        self.order_fields(["branch_id", "month", "format"])


class TeacherPayrollForm(ReportForm):
    KIND = ReportKind.TEACHER_PAYROLL
    month = forms.CharField(label=_("С месяца"), max_length=7, widget=MONTH_WIDGET)
    month_to = forms.CharField(label=_("По месяц"), max_length=7, widget=MONTH_WIDGET, required=False)

    def setup(self, *, branches, groups) -> None:
        self.fields["branch_id"] = _branch_field(branches, required=False)
        self.order_fields(["branch_id", "month", "month_to"])

    def params(self) -> dict:
        return {**super().params(), "format": ReportFormat.XLSX}


class JournalForm(ReportForm):
    KIND = ReportKind.JOURNAL
    month = forms.CharField(label=_("Месяц"), max_length=7, widget=MONTH_WIDGET)

    def setup(self, *, branches, groups) -> None:
        self.fields["branch_id"] = _branch_field(branches, required=False)
        self.fields["group_id"] = forms.ChoiceField(
            label=_("Группа"),
            choices=[("", _("Все группы"))] + [(g.pk, g.name) for g in groups],
            required=False,
            error_messages={"invalid_choice": _("Группа не найдена.")},
        )
        self.order_fields(["branch_id", "group_id", "month"])

    def params(self) -> dict:
        return {**super().params(), "format": ReportFormat.XLSX}


class ExportForm(ReportForm):
    KIND = ReportKind.EXPORT
    table = forms.ChoiceField(
        label=_("Таблица"),
        choices=[(k, v[0]) for k, v in EXPORT_TABLES.items()],
        error_messages={"invalid_choice": _("Неизвестная таблица.")},
    )
    date_from = forms.CharField(
        label=_("С"), required=False, widget=DATE_WIDGET, help_text=_("Для занятий, посещаемости и оплат.")
    )
    date_to = forms.CharField(label=_("По"), required=False, widget=DATE_WIDGET)
    format = forms.ChoiceField(
        label=_("Формат"), choices=[(ReportFormat.XLSX, "XLSX (Excel)"), (ReportFormat.CSV, "CSV")]
    )


FORMS = {form.KIND: form for form in (BranchMonthForm, TeacherPayrollForm, JournalForm, ExportForm)}


class ScheduleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Отчёт"), choices=ReportKind.choices)
    branch_id = forms.ChoiceField(label=_("Филиал"), required=False)
    table = forms.ChoiceField(
        label=_("Таблица (для выгрузки)"),
        required=False,
        choices=[("", "—")] + [(k, v[0]) for k, v in EXPORT_TABLES.items()],
    )
    format = forms.ChoiceField(
        label=_("Формат"),
        required=False,
        choices=[("", _("по умолчанию")), ("pdf", "PDF"), ("xlsx", "XLSX"), ("csv", "CSV")],
    )
    day_of_month = forms.IntegerField(label=_("День месяца"), min_value=1, max_value=28, initial=1)
    recipients = forms.ModelMultipleChoiceField(
        label=_("Кому"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, branches=(), recipients=None, **kwargs):
        kwargs.setdefault("prefix", "schedule")
        super().__init__(*args, **kwargs)
        self.fields["branch_id"].choices = [("", _("Все мои филиалы"))] + [(b.pk, b.name) for b in branches]
        self.fields["recipients"].queryset = recipients
        self.fields["recipients"].label_from_instance = lambda m: (
            f"{m.user.get_full_name() or m.user.get_username()} ({m.get_role_display()})"
        )
