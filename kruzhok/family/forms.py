import datetime as dt

from django import forms
from django.utils import dateformat
from django.utils.translation import gettext_lazy as _

# Far enough for a parent looking back or planning ahead; bounded so date arithmetic can't overflow.
SCHEDULE_REACH_DAYS = 366
ATTENDANCE_MONTHS = 24


class ScheduleWindowForm(forms.Form):
    start = forms.DateField(
        label=_("С даты"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Введите дату в формате ГГГГ-ММ-ДД.")},
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_start(self) -> dt.date | None:
        start = self.cleaned_data.get("start")
        if start is not None and abs((start - self.today).days) > SCHEDULE_REACH_DAYS:
            raise forms.ValidationError(
                _("Расписание можно посмотреть не дальше чем на год назад или вперёд."), code="out_of_range"
            )
        return start


def _month_choices(today: dt.date) -> list[tuple[str, str]]:
    choices = []
    year, month = today.year, today.month
    for _step in range(ATTENDANCE_MONTHS):
        first = dt.date(year, month, 1)
        choices.append((first.strftime("%Y-%m"), dateformat.format(first, "F Y")))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return choices


class AttendanceFilterForm(forms.Form):
    child = forms.TypedChoiceField(label=_("Ребёнок"), required=False, coerce=int, empty_value=None)
    month = forms.ChoiceField(label=_("Месяц"), required=False)

    def __init__(self, *args, children, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["child"].choices = [("", _("Все дети"))] + [
            (child.pk, f"{child.first_name} {child.last_name}") for child in children
        ]
        self.fields["month"].choices = [("", _("Все месяцы"))] + _month_choices(today)
        self.fields["child"].error_messages["invalid_choice"] = _("Выберите ребёнка из списка.")
        self.fields["month"].error_messages["invalid_choice"] = _("Выберите месяц из списка.")

    def month_range(self) -> tuple[dt.date, dt.date] | tuple[None, None]:
        value = self.cleaned_data.get("month")
        if not value:
            return None, None
        first = dt.datetime.strptime(value, "%Y-%m").date()
        next_first = (first + dt.timedelta(days=32)).replace(day=1)
        return first, next_first - dt.timedelta(days=1)
