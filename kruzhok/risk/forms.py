from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.risk.models import ActionKind, RiskBand, RiskSettings
from kruzhok.school.models import Branch, Group

NOTE_MAX = 500


class RiskFilterForm(forms.Form):
    band = forms.ChoiceField(
        label=_("Риск"), required=False, choices=[("", _("Любой"))] + list(RiskBand.choices)
    )
    group = forms.ModelChoiceField(
        label=_("Группа"), queryset=Group.all_objects.none(), required=False, empty_label=_("Все группы")
    )
    branch = forms.ModelChoiceField(
        label=_("Филиал"), queryset=Branch.all_objects.none(), required=False, empty_label=_("Все филиалы")
    )
    q = forms.CharField(label=_("Поиск по имени"), required=False, max_length=100)
    sort = forms.ChoiceField(
        label=_("Порядок"),
        required=False,
        choices=[
            ("risk", _("Сначала самый высокий риск")),
            ("decline", _("Сначала давно теряющие интерес")),
            ("name", _("По фамилии")),
        ],
    )

    def __init__(self, *args, groups=None, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups if groups is not None else Group.all_objects.none()
        self.fields["branch"].queryset = branches if branches is not None else Branch.all_objects.none()


class AlertActionForm(forms.Form):
    """One form for every button of an alert: `do` says which one was pressed."""

    do = forms.ChoiceField(
        choices=[
            ("ack", "ack"),
            ("not_useful", "not_useful"),
            ("log", "log"),
            ("close", "close"),
            ("assign", "assign"),
        ],
        error_messages={"required": _("Не выбрано действие."), "invalid_choice": _("Такого действия нет.")},
    )
    kind = forms.ChoiceField(
        label=_("Что сделано"),
        required=False,
        choices=[("", _("Выберите действие"))] + list(ActionKind.choices),
        error_messages={"invalid_choice": _("Выберите действие из списка.")},
    )
    note = forms.CharField(
        label=_("Комментарий"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": _("Комментарий длиннее 500 символов.")},
    )
    close = forms.BooleanField(label=_("Закрыть сигнал"), required=False, initial=True)
    assignee = forms.TypedChoiceField(
        label=_("Ответственный"),
        required=False,
        coerce=int,
        choices=[],
        error_messages={
            "invalid_choice": _("Назначить можно только сотрудника, который видит этого ребёнка.")
        },
    )

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Выберите сотрудника"))] + [
            (u.pk, u.get_full_name() or u.username) for u in assignees
        ]

    def clean(self):
        data = super().clean()
        if data.get("do") == "log" and not data.get("kind"):
            self.add_error("kind", _("Выберите, что было сделано."))
        if data.get("do") == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("Выберите сотрудника."))
        return data


class AlertFeedForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Сигналы"),
        required=False,
        choices=[
            ("active", _("Требуют внимания")),
            ("open", _("Новые")),
            ("acknowledged", _("Взяты в работу")),
            ("escalated", _("Эскалированы")),
            ("closed", _("Закрытые")),
            ("all", _("Все")),
        ],
    )
    mine = forms.ChoiceField(
        label=_("Чьи"), required=False, choices=[("", _("Все, что я вижу")), ("1", _("Только мои"))]
    )


class WhatHelpsFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("Сигналы с"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("по"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    branch = forms.ModelChoiceField(
        label=_("Филиал"), queryset=Branch.all_objects.none(), required=False, empty_label=_("Все филиалы")
    )

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches if branches is not None else Branch.all_objects.none()

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Конец периода раньше начала."))
        return data


class RiskSettingsForm(forms.ModelForm):
    class Meta:
        model = RiskSettings
        fields = ["threshold_percent", "weekly_budget", "escalation_days", "outcome_days"]
