import datetime as dt

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kruzhok.analytics.selectors import METRICS, GroupMeta, months_back
from kruzhok.analytics.survival import DIMENSIONS

MONTH_NAMES = (
    _("январь"),
    _("февраль"),
    _("март"),
    _("апрель"),
    _("май"),
    _("июнь"),
    _("июль"),
    _("август"),
    _("сентябрь"),
    _("октябрь"),
    _("ноябрь"),
    _("декабрь"),
)
HISTORY = 13


def month_label(month: dt.date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def _choice_error(field: str):
    return {
        "invalid_choice": format_lazy(
            _("Такого значения в списке нет: выберите {field} из списка."), field=field
        )
    }


def filter_choices(groups: dict[int, GroupMeta]) -> dict[str, list[tuple[int, str]]]:
    """The branches, courses and teachers of these groups, sorted by name, then id (600 teachers on a
    network, and namesakes among them: the order must not follow a set's hash order)."""
    return {
        "branch": sorted({(g.branch_id, g.branch_name) for g in groups.values()}, key=lambda b: (b[1], b[0])),
        "course": sorted(
            {(g.course_id, g.course_title) for g in groups.values()}, key=lambda c: (c[1], c[0])
        ),
        "teacher": sorted(
            {(g.teacher_id, g.teacher_name) for g in groups.values() if g.teacher_id},
            key=lambda t: (t[1], t[0]),
        ),
    }


class FilterForm(forms.Form):
    """Period, branch, course and teacher; the lists hold only what the viewer's scope contains."""

    month = forms.ChoiceField(label=_("Месяц"), required=False, error_messages=_choice_error(_("месяц")))
    branch = forms.ChoiceField(label=_("Филиал"), required=False, error_messages=_choice_error(_("филиал")))
    course = forms.ChoiceField(label=_("Курс"), required=False, error_messages=_choice_error(_("курс")))
    teacher = forms.ChoiceField(
        label=_("Преподаватель"), required=False, error_messages=_choice_error(_("преподавателя"))
    )

    def __init__(
        self,
        data,
        *,
        today: dt.date,
        groups: dict[int, GroupMeta] | None = None,
        choices: dict[str, list[tuple[int, str]]] | None = None,
        **kwargs,
    ):
        """`choices` (from `filter_choices`, cached by the view) or `groups` to build them from."""
        super().__init__(data, **kwargs)
        self.months = list(reversed(months_back(today, HISTORY)))
        self.fields["month"].choices = [(m.strftime("%Y-%m"), month_label(m)) for m in self.months]
        if choices is None:
            choices = filter_choices(groups or {})
        everything = [("", _("Все"))]
        for name in ("branch", "course", "teacher"):
            self.fields[name].choices = everything + [(str(i), n) for i, n in choices[name]]
        # A single choice is not a filter: hide the select (a teacher sees only themselves).
        self.show = {name: len(self.fields[name].choices) > 2 for name in ("branch", "course", "teacher")}

    def hidden_errors(self) -> list[str]:
        """Errors of fields that are not shown (one choice only): still said, at the top of the form."""
        if not self.is_bound or self.is_valid():
            return []
        return [str(e) for name, shown in self.show.items() if not shown for e in self.errors.get(name, [])]

    def filters(self) -> dict:
        """Validated values, defaults where the form is unbound or a field is empty."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        month = data.get("month") or ""
        return {
            "month": dt.date.fromisoformat(month + "-01") if month else self.months[0],
            "branch_ids": [int(data["branch"])] if data.get("branch") else None,
            "course_ids": [int(data["course"])] if data.get("course") else None,
            "teacher_ids": [int(data["teacher"])] if data.get("teacher") else None,
        }

    def querystring(self) -> str:
        from urllib.parse import urlencode

        f = self.filters()
        params = {"month": f["month"].strftime("%Y-%m")}
        for name in ("branch", "course", "teacher"):
            ids = f[f"{name}_ids"]
            if ids:
                params[name] = ids[0]
        return urlencode(params)


class RetentionForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Разрез"),
        required=False,
        choices=list(DIMENSIONS.items()),
        error_messages=_choice_error(_("разрез")),
    )


COMPARE_UNITS = {"branch": _("Филиалы"), "teacher": _("Преподаватели"), "group": _("Группы")}
COMPARE_METRICS = {"attendance": _("Посещаемость"), "retention": _("Удержание")}


class CompareForm(forms.Form):
    unit = forms.ChoiceField(
        label=_("Кого сравнить"),
        required=False,
        choices=list(COMPARE_UNITS.items()),
        error_messages=_choice_error(_("что сравнивать")),
    )
    metric = forms.ChoiceField(
        label=_("Показатель"),
        required=False,
        choices=list(COMPARE_METRICS.items()),
        error_messages=_choice_error(_("показатель")),
    )


METRIC_LABELS = {
    "active": _("Занимаются"),
    "new": _("Новые зачисления"),
    "dropped": _("Ушли"),
    "at_risk": _("В зоне риска"),
    "low_attendance": _("Посещаемость ниже 60 %"),
}
assert set(METRIC_LABELS) == set(METRICS)


class ChildrenForm(forms.Form):
    metric = forms.ChoiceField(
        label=_("Показатель"),
        choices=list(METRIC_LABELS.items()),
        error_messages={
            "required": _("Не указано, какой показатель раскрыть."),
            "invalid_choice": _("Такого показателя нет: вернитесь на панель и нажмите на число."),
        },
    )
    group = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": _("Группа указана неверно.")},
    )
