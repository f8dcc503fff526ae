import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.school.models import Branch, Room
from kruzhok.school.services.lesson_changes import HOMEWORK_MAX, REASON_MAX, TOPIC_MAX

COMMENT_MAX = AttendanceMark._meta.get_field("comment").max_length


class DayForm(forms.Form):
    """The Today page's filter: another day and, for owners and managers, one branch."""

    day = forms.DateField(
        label=_("День"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    branch = forms.ModelChoiceField(
        label=_("Филиал"), queryset=Branch.all_objects.none(), required=False, empty_label=_("Все филиалы")
    )

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branches is None:
            del self.fields["branch"]
        else:
            self.fields["branch"].queryset = branches


class MarkForm(forms.Form):
    status = forms.ChoiceField(
        choices=AttendanceStatus.choices,
        error_messages={
            "required": _("Выберите отметку."),
            "invalid_choice": _("Такой отметки нет: выберите был, опоздал, не был или уважительная."),
        },
    )
    comment = forms.CharField(
        label=_("Комментарий"),
        required=False,
        max_length=COMMENT_MAX,
        error_messages={"max_length": _("Комментарий слишком длинный: не больше %(limit_value)d символов.")},
    )


class LessonContentForm(forms.Form):
    topic = forms.CharField(label=_("Тема занятия"), required=False, max_length=TOPIC_MAX)
    homework = forms.CharField(
        label=_("Домашнее задание"),
        required=False,
        max_length=HOMEWORK_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LessonCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Причина отмены"),
        max_length=REASON_MAX,
        error_messages={"required": _("Укажите причину отмены.")},
    )


class LessonMoveForm(forms.Form):
    date = forms.DateField(
        label=_("Новая дата"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Укажите дату."), "invalid": _("Введите дату в формате ГГГГ-ММ-ДД.")},
    )
    time = forms.TimeField(
        label=_("Время начала"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": _("Укажите время."), "invalid": _("Введите время в формате ЧЧ:ММ.")},
    )
    room = forms.ModelChoiceField(
        label=_("Кабинет"), queryset=Room.all_objects.none(), required=False, empty_label=_("Тот же кабинет")
    )
    reason = forms.CharField(
        label=_("Причина переноса"),
        max_length=REASON_MAX,
        error_messages={"required": _("Укажите причину переноса.")},
    )

    def __init__(self, *args, rooms=None, tz=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["room"].queryset = rooms if rooms is not None else Room.all_objects.none()

    def starts_at(self) -> dt.datetime:
        """The new start in the centre's time zone (the form must be valid)."""
        return dt.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"], tzinfo=self.tz)
