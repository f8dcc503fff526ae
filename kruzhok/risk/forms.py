from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.risk.models import ActionKind, RiskBand
from kruzhok.school.models import Group

NOTE_MAX = 500


class RiskFilterForm(forms.Form):
    band = forms.ChoiceField(
        label=_("Риск"), required=False, choices=[("", _("Любой"))] + list(RiskBand.choices)
    )
    group = forms.ModelChoiceField(
        label=_("Группа"), queryset=Group.all_objects.none(), required=False, empty_label=_("Все группы")
    )
    q = forms.CharField(label=_("Поиск по имени"), required=False, max_length=100)

    def __init__(self, *args, groups=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups if groups is not None else Group.all_objects.none()


class AlertActionForm(forms.Form):
    """One form for every button of an alert: `do` says which one was pressed."""

    do = forms.ChoiceField(
        choices=[("ack", "ack"), ("not_useful", "not_useful"), ("log", "log")],
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

    def clean(self):
        data = super().clean()
        if data.get("do") == "log" and not data.get("kind"):
            self.add_error("kind", _("Выберите, что было сделано."))
        return data
