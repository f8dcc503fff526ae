"""Forms for the owner's set-up pages. They only parse input; rules live in services/structure.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.school.models import Subject
from kruzhok.school.selectors import structure as selectors
from kruzhok.school.services.structure import MAX_AGE, MAX_CAPACITY, MAX_SLOT_MINUTES, MIN_SLOT_MINUTES

WEEKDAYS = [
    ("", "—"),
    (0, _("Понедельник")),
    (1, _("Вторник")),
    (2, _("Среда")),
    (3, _("Четверг")),
    (4, _("Пятница")),
    (5, _("Суббота")),
    (6, _("Воскресенье")),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%H:%M")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class RoomChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.branch.name})"


class BranchForm(forms.Form):
    name = forms.CharField(label=_("Название"), max_length=200)
    address = forms.CharField(label=_("Адрес"), max_length=300, required=False)
    managers = StaffMultipleChoiceField(
        label=_("Менеджеры филиала"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Менеджер видит группы и учеников только своих филиалов."),
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["managers"].queryset = selectors.manager_choices(org=org)


class RoomForm(forms.Form):
    name = forms.CharField(label=_("Название"), max_length=100)
    capacity = forms.IntegerField(
        label=_("Вместимость, человек"), min_value=1, max_value=MAX_CAPACITY, initial=12
    )


class CourseForm(forms.Form):
    title = forms.CharField(label=_("Название"), max_length=200)
    subject = forms.ChoiceField(label=_("Направление"), choices=Subject.choices, initial=Subject.OTHER)
    description = forms.CharField(
        label=_("Описание"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    age_min = forms.IntegerField(label=_("Возраст от, лет"), min_value=0, max_value=MAX_AGE, initial=5)
    age_max = forms.IntegerField(label=_("Возраст до, лет"), min_value=0, max_value=MAX_AGE, initial=17)
    lesson_minutes = forms.IntegerField(
        label=_("Длительность занятия, мин"),
        min_value=MIN_SLOT_MINUTES,
        max_value=MAX_SLOT_MINUTES,
        initial=60,
    )
    lessons_per_week = forms.IntegerField(label=_("Занятий в неделю"), min_value=1, max_value=14, initial=1)
    length_weeks = forms.IntegerField(
        label=_("Длительность курса, недель"), min_value=1, max_value=520, initial=36
    )
    price_per_month = forms.DecimalField(
        label=_("Цена в месяц, ₽"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        initial=0,
        help_text=_("Пока только для справки: оплаты появятся позже."),
    )
    is_active = forms.BooleanField(label=_("Курс открыт для набора"), required=False, initial=True)


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Название группы"), max_length=200)
    course = forms.ModelChoiceField(label=_("Курс"), queryset=None, empty_label="—")
    branch = forms.ModelChoiceField(label=_("Филиал"), queryset=None, empty_label="—")
    room = RoomChoiceField(label=_("Кабинет"), queryset=None, required=False, empty_label=_("не выбран"))
    teacher = StaffChoiceField(
        label=_("Преподаватель"), queryset=None, required=False, empty_label=_("не выбран")
    )
    capacity = forms.IntegerField(label=_("Мест в группе"), min_value=1, max_value=MAX_CAPACITY, initial=10)
    start_date = forms.DateField(label=_("Начало занятий"), widget=DateInput)
    end_date = forms.DateField(label=_("Окончание"), widget=DateInput)
    is_active = forms.BooleanField(label=_("Группа занимается"), required=False, initial=True)

    def __init__(self, *args, org, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            # A new group always starts active; an absent checkbox must not switch it off.
            del self.fields["is_active"]
        self.fields["course"].queryset = selectors.course_list(org=org)
        self.fields["branch"].queryset = selectors.branch_list(org=org)
        self.fields["room"].queryset = selectors.room_list(org=org)
        self.fields["teacher"].queryset = selectors.teacher_choices(org=org)


class SlotForm(forms.Form):
    """One line of the weekly rule. A line with neither day nor time is simply unused."""

    weekday = forms.TypedChoiceField(
        label=_("День недели"), choices=WEEKDAYS, coerce=int, empty_value=None, required=False
    )
    start_time = forms.TimeField(label=_("Начало"), required=False, widget=TimeInput)
    duration_minutes = forms.IntegerField(
        label=_("Минут"), min_value=MIN_SLOT_MINUTES, max_value=MAX_SLOT_MINUTES, required=False, initial=60
    )

    def clean(self):
        data = super().clean()
        weekday, start = data.get("weekday"), data.get("start_time")
        if weekday is None and start is None:
            if not self.errors:
                data["unused"] = True
            return data
        if weekday is None:
            self.add_error("weekday", _("Выберите день недели."))
        if start is None and "start_time" not in self.errors:
            self.add_error("start_time", _("Укажите время начала."))
        if data.get("duration_minutes") is None and "duration_minutes" not in self.errors:
            self.add_error("duration_minutes", _("Укажите длительность."))
        return data


SLOT_ROWS = 4


def slot_formset_class(*, filled: int = 0):
    """At least SLOT_ROWS lines, and one spare line beyond the group's current rule."""
    return forms.formset_factory(
        SlotForm,
        extra=max(SLOT_ROWS - filled, 1),
        max_num=14,
        absolute_max=14,
        validate_max=True,
    )


def slots_from_formset(formset) -> list[dict]:
    return [
        {
            "weekday": form.cleaned_data["weekday"],
            "start_time": form.cleaned_data["start_time"],
            "duration_minutes": form.cleaned_data["duration_minutes"],
        }
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("unused")
    ]


class GroupFilterForm(forms.Form):
    branch = forms.ModelChoiceField(label=_("Филиал"), queryset=None, required=False, empty_label=_("Все"))
    course = forms.ModelChoiceField(label=_("Курс"), queryset=None, required=False, empty_label=_("Все"))
    teacher = StaffChoiceField(label=_("Преподаватель"), queryset=None, required=False, empty_label=_("Все"))

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        org = membership.organization
        self.fields["branch"].queryset = selectors.branch_list_for(membership=membership)
        self.fields["course"].queryset = selectors.course_list(org=org)
        self.fields["teacher"].queryset = selectors.teacher_choices(org=org)


class HolidayForm(forms.Form):
    name = forms.CharField(label=_("Название"), max_length=200)
    start_date = forms.DateField(label=_("С"), widget=DateInput)
    end_date = forms.DateField(label=_("По"), widget=DateInput)
