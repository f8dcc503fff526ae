"""Billing forms: they parse and bound input; the services decide what is valid (money included)."""

import uuid

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from kruzhok.billing.models import PaymentMethod, PlanKind

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONTH_WIDGET = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d", "%m.%Y"]
MONEY_WIDGET = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "4500"})


def new_key() -> str:
    return uuid.uuid4().hex


class MoneyField(forms.CharField):
    """Kept as text: the service parses it into an exact Decimal (4500, 4 500, 4500,50)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", MONEY_WIDGET)
        super().__init__(**kwargs)


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Название"), max_length=200)
    kind = forms.ChoiceField(label=_("Вид"), choices=PlanKind.choices)
    course = forms.ModelChoiceField(label=_("Курс"), queryset=None)
    group = forms.ModelChoiceField(
        label=_("Группа"), queryset=None, required=False, empty_label=_("— все группы курса —")
    )
    price = MoneyField(label=_("Цена, ₽"))
    lessons = forms.IntegerField(
        label=_("Занятий"),
        required=False,
        min_value=0,
        max_value=500,
        help_text=_("Для разового и пробного — 1; для помесячного по умолчанию 4 недели."),
    )
    valid_days = forms.IntegerField(label=_("Действует, дней"), required=False, min_value=1, max_value=400)

    def __init__(self, *args, courses, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses
        self.fields["group"].queryset = groups


class SellForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Тариф"), queryset=None, empty_label=None)
    guardian = forms.ModelChoiceField(label=_("Кто платит"), queryset=None, empty_label=None)
    valid_from = forms.DateField(
        label=_("Начало действия"),
        widget=DATE_WIDGET,
        help_text=_("Помесячный абонемент действует весь календарный месяц этой даты."),
    )
    sibling_discount = forms.BooleanField(label=_("Скидка для братьев и сестёр"), required=False)
    promo_code = forms.CharField(label=_("Промокод"), required=False, max_length=32)
    manual_discount = MoneyField(label=_("Скидка вручную, ₽"), required=False)
    manual_reason = forms.CharField(label=_("Причина скидки"), required=False, max_length=300)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def __init__(self, *args, plans, guardians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        self.fields["plan"].label_from_instance = lambda p: (
            _("%(name)s · %(price)s ₽ · %(lessons)s зан. · %(days)s дн.")
            % {
                "name": p.name,
                "price": number_format(p.price, 2, use_l10n=True, force_grouping=True),
                "lessons": p.lessons,
                "days": p.valid_days,
            }
        )
        self.fields["guardian"].queryset = guardians


class PaymentForm(forms.Form):
    amount = MoneyField(label=_("Сумма, ₽"))
    method = forms.ChoiceField(label=_("Способ"), choices=PaymentMethod.choices, initial=PaymentMethod.CASH)
    note = forms.CharField(label=_("Комментарий"), required=False, max_length=300)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)


class OnlineLinkForm(forms.Form):
    amount = MoneyField(label=_("Сумма для онлайн-оплаты, ₽"))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)


class RefundForm(forms.Form):
    amount = MoneyField(label=_("Сумма возврата, ₽"))
    reason = forms.CharField(label=_("Причина"), max_length=300)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)


class FreezeForm(forms.Form):
    start_date = forms.DateField(label=_("С"), widget=DATE_WIDGET)
    end_date = forms.DateField(label=_("По"), widget=DATE_WIDGET)
    reason = forms.CharField(label=_("Причина"), max_length=300, help_text=_("Например: болезнь, каникулы."))


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("Причина исправления"), max_length=300)


class PromoForm(forms.Form):
    code = forms.CharField(label=_("Промокод"), max_length=32)
    percent = forms.IntegerField(label=_("Скидка, %"), min_value=1, max_value=100)
    valid_until = forms.DateField(label=_("Действует до"), widget=DATE_WIDGET)


class SettingsForm(forms.Form):
    writeoff_unexcused_absence = forms.BooleanField(
        label=_("Списывать занятие при пропуске без уважительной причины"), required=False
    )
    sibling_discount_percent = forms.IntegerField(
        label=_("Скидка для братьев и сестёр, %"), min_value=0, max_value=100
    )
    renewal_days = forms.IntegerField(
        label=_("Предупреждать об окончании абонемента за, дней"), min_value=1, max_value=60
    )
    makeup_for_excused = forms.BooleanField(
        label=_("Пропуск по уважительной причине можно отработать в другой группе курса"), required=False
    )
    makeup_days = forms.IntegerField(
        label=_("Отработать в течение, дней"), min_value=1, max_value=180, required=False
    )
    makeup_same_branch = forms.BooleanField(
        label=_("Отработка — только в группах своего филиала"), required=False
    )
    monthly_prorate = forms.BooleanField(
        label=_("Помесячный абонемент, купленный не с 1-го числа, — за оставшиеся дни месяца"),
        required=False,
    )


class MakeupBookForm(forms.Form):
    lesson = forms.ModelChoiceField(label=_("Занятие для отработки"), queryset=None, empty_label=None)

    def __init__(self, *args, lessons, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lesson"].queryset = lessons
        self.fields["lesson"].label_from_instance = lambda lesson: (
            f"{lesson.starts_at.astimezone(tz):%d.%m %H:%M} · {lesson.group.name} · {lesson.group.branch.name}"
        )


class EndingForm(forms.Form):
    days = forms.IntegerField(
        label=_("Заканчиваются в ближайшие, дней"), min_value=1, max_value=90, required=False
    )
    trial_days = forms.IntegerField(
        label=_("Пробное было не меньше, дней назад"), min_value=0, max_value=365, required=False
    )


class RevenueForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Группировка"),
        required=False,
        choices=[
            ("month", _("по месяцам")),
            ("branch", _("по филиалам")),
            ("course", _("по курсам")),
            ("teacher", _("по преподавателям")),
        ],
    )
    month_from = forms.DateField(
        label=_("С месяца"), required=False, widget=MONTH_WIDGET, input_formats=MONTH_FORMATS
    )
    month_to = forms.DateField(
        label=_("По месяц"), required=False, widget=MONTH_WIDGET, input_formats=MONTH_FORMATS
    )

    def clean(self):
        data = super().clean()
        if data.get("month_from") and data.get("month_to"):
            if data["month_from"].replace(day=1) > data["month_to"]:
                raise forms.ValidationError(_("Месяц «с» позже месяца «по»."), code="invalid_dates")
            if (data["month_to"].year - data["month_from"].year) * 12 + data["month_to"].month - data[
                "month_from"
            ].month >= 36:
                raise forms.ValidationError(_("Не больше 36 месяцев за раз."), code="too_long")
        return data
