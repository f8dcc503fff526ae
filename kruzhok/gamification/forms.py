from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.gamification.models import BadgeEvent, BadgeRule, QuestKind, QuestMetric

XP_FIELD = {"min_value": 0, "max_value": 1000}


class RulesForm(forms.Form):
    enabled = forms.BooleanField(label=_("Геймификация включена"), required=False)
    count_visits = forms.BooleanField(label=_("Давать очки за посещение"), required=False)
    xp_visit = forms.IntegerField(label=_("Очков за посещение"), **XP_FIELD)
    count_on_time = forms.BooleanField(label=_("Давать бонус за приход вовремя"), required=False)
    xp_on_time = forms.IntegerField(label=_("Бонус за приход вовремя"), **XP_FIELD)
    count_kudos = forms.BooleanField(label=_("Давать очки за «молодец на занятии»"), required=False)
    xp_kudos = forms.IntegerField(label=_("Очков за «молодец на занятии»"), **XP_FIELD)
    count_homework = forms.BooleanField(label=_("Давать очки за сданное домашнее задание"), required=False)
    xp_homework = forms.IntegerField(label=_("Очков за сданное домашнее задание"), **XP_FIELD)
    count_grades = forms.BooleanField(label=_("Давать очки за хорошую оценку (4 или 5)"), required=False)
    xp_good_grade = forms.IntegerField(label=_("Очков за оценку 4 или 5"), **XP_FIELD)
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
    is_active = forms.BooleanField(label=_("Действует"), required=False, initial=True)


class KudosForm(forms.Form):
    note = forms.CharField(label=_("За что (необязательно)"), max_length=200, required=False)


class OptOutForm(forms.Form):
    opt_out = forms.BooleanField(required=False)


class RewardForm(forms.Form):
    title = forms.CharField(label=_("Награда"), max_length=120)
    description = forms.CharField(label=_("Описание"), max_length=300, required=False)
    price = forms.IntegerField(label=_("Цена, монет"), min_value=1, max_value=100000)
    stock = forms.IntegerField(label=_("В наличии, шт."), min_value=0, max_value=100000, initial=10)


class RewardEditForm(RewardForm):
    is_active = forms.BooleanField(label=_("В магазине"), required=False)


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


STEP_CHOICES = [("", _("— нет шага —")), *QuestMetric.choices]
STEPS = 3


class QuestForm(forms.Form):
    """A quest with up to three steps; the service checks what the form cannot (cycles, never-done steps)."""

    title = forms.CharField(label=_("Название"), max_length=120)
    description = forms.CharField(label=_("Описание для детей"), max_length=300, required=False)
    kind = forms.ChoiceField(label=_("Вид"), choices=QuestKind.choices)
    group = forms.ModelChoiceField(
        label=_("Группа"),
        queryset=None,
        required=False,
        empty_label=_("— все группы —"),
        help_text=_("Командный квест проходит одна группа вместе."),
    )
    starts_on = forms.DateField(label=_("С"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("По"), widget=forms.DateInput(attrs={"type": "date"}))
    step1_metric = forms.ChoiceField(label=_("Шаг 1: что сделать"), choices=QuestMetric.choices)
    step1_target = forms.IntegerField(label=_("Шаг 1: сколько"), min_value=1, max_value=100_000, initial=4)
    step2_metric = forms.ChoiceField(label=_("Шаг 2: что сделать"), choices=STEP_CHOICES, required=False)
    step2_target = forms.IntegerField(
        label=_("Шаг 2: сколько"), min_value=1, max_value=100_000, required=False
    )
    step3_metric = forms.ChoiceField(label=_("Шаг 3: что сделать"), choices=STEP_CHOICES, required=False)
    step3_target = forms.IntegerField(
        label=_("Шаг 3: сколько"), min_value=1, max_value=100_000, required=False
    )
    reward_xp = forms.IntegerField(label=_("Награда, очков"), **XP_FIELD, initial=20)
    reward_coins = forms.IntegerField(label=_("Награда, монет"), **XP_FIELD, initial=2)
    reward_badge = forms.ModelChoiceField(
        label=_("Значок в награду"), queryset=None, required=False, empty_label=_("— без значка —")
    )
    group_reward = forms.CharField(label=_("Награда группе (для командного)"), max_length=200, required=False)
    requires = forms.ModelMultipleChoiceField(
        label=_("Сначала пройти"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("Действует"), required=False, initial=True)

    def __init__(self, *args, groups, badges, quests, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        self.fields["reward_badge"].queryset = badges
        self.fields["requires"].queryset = quests

    def clean(self):
        data = super().clean()
        for n in range(2, STEPS + 1):
            if data.get(f"step{n}_metric") and not data.get(f"step{n}_target"):
                self.add_error(f"step{n}_target", _("Сколько раз?"))
        return data

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        steps = []
        for n in range(1, STEPS + 1):
            metric, target = data.pop(f"step{n}_metric", ""), data.pop(f"step{n}_target", None)
            if metric:
                steps.append((metric, target))
        return {**data, "steps": steps, "requires": list(data.get("requires") or [])}

    @staticmethod
    def initial_for(quest) -> dict:
        initial = {
            name: getattr(quest, name)
            for name in (
                "title",
                "description",
                "kind",
                "group",
                "starts_on",
                "ends_on",
                "reward_xp",
                "reward_coins",
                "reward_badge",
                "group_reward",
                "is_active",
            )
        }
        for n, step in enumerate(quest.steps.all(), start=1):
            initial[f"step{n}_metric"], initial[f"step{n}_target"] = step.metric, step.target
        initial["requires"] = list(quest.requires.all())
        return initial
