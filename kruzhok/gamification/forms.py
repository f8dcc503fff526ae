from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.gamification.models import BadgeEvent, BadgeRule

XP_FIELD = {"min_value": 0, "max_value": 1000}


class RulesForm(forms.Form):
    enabled = forms.BooleanField(label=_("Геймификация включена"), required=False)
    count_visits = forms.BooleanField(label=_("Давать очки за посещение"), required=False)
    xp_visit = forms.IntegerField(label=_("Очков за посещение"), **XP_FIELD)
    count_on_time = forms.BooleanField(label=_("Давать бонус за приход вовремя"), required=False)
    xp_on_time = forms.IntegerField(label=_("Бонус за приход вовремя"), **XP_FIELD)
    count_kudos = forms.BooleanField(label=_("Давать очки за «молодец на занятии»"), required=False)
    xp_kudos = forms.IntegerField(label=_("Очков за «молодец на занятии»"), **XP_FIELD)
    daily_cap = forms.IntegerField(label=_("Лимит очков в день (0 — без лимита)"), **XP_FIELD)
    leaderboard_top = forms.IntegerField(
        label=_("Сколько лучших видит ребёнок в рейтинге группы"), min_value=1, max_value=20
    )
    coins_per_visit = forms.IntegerField(label=_("Монет за посещение"), **XP_FIELD)
    coins_per_kudos = forms.IntegerField(label=_("Монет за «молодец на занятии»"), **XP_FIELD)


class BadgeForm(forms.Form):
    name = forms.CharField(label=_("Название"), max_length=80)
    description = forms.CharField(label=_("За что"), max_length=300, required=False)
    rule = forms.ChoiceField(label=_("Правило"), choices=BadgeRule.choices)
    event = forms.ChoiceField(
        label=_("Событие"), choices=[("", _("— не нужно —")), *BadgeEvent.choices], required=False
    )
    threshold = forms.IntegerField(
        label=_("Сколько нужно (раз или недель)"), min_value=1, max_value=10000, initial=1
    )
    symbol = forms.CharField(label=_("Знак на значке"), max_length=2, initial="★")
    color = forms.RegexField(
        label=_("Цвет"),
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#2f6fdf",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": _("Цвет — в виде #1a2b3c.")},
    )


class KudosForm(forms.Form):
    note = forms.CharField(label=_("За что (необязательно)"), max_length=200, required=False)


class OptOutForm(forms.Form):
    opt_out = forms.BooleanField(required=False)


class RewardForm(forms.Form):
    title = forms.CharField(label=_("Награда"), max_length=120)
    description = forms.CharField(label=_("Описание"), max_length=300, required=False)
    price = forms.IntegerField(label=_("Цена, монет"), min_value=1, max_value=100000)
    stock = forms.IntegerField(label=_("В наличии, шт."), min_value=0, max_value=100000, initial=10)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])


class GroupGoalForm(forms.Form):
    group = forms.ModelChoiceField(label=_("Группа"), queryset=None)
    title = forms.CharField(label=_("Цель"), max_length=120, initial=_("Вместе к 1000 очков"))
    target_xp = forms.IntegerField(label=_("Сколько очков вместе"), min_value=1, max_value=1_000_000)
    starts_on = forms.DateField(label=_("С"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("По"), widget=forms.DateInput(attrs={"type": "date"}))
    reward = forms.CharField(label=_("Награда группе"), max_length=200, required=False)

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
