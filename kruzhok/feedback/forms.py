from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.feedback.aspects import ASPECT_LABELS
from kruzhok.feedback.models import Sentiment, Source, Status
from kruzhok.feedback.services import COMMENT_MAX, REPLY_MAX, TEXT_MAX

FACES = [(1, "😢"), (2, "😟"), (3, "😐"), (4, "😊"), (5, "😄")]


class ParentFeedbackForm(forms.Form):
    student = forms.ModelChoiceField(
        label=_("О ком"), queryset=None, required=False, empty_label=_("О центре в целом")
    )
    text = forms.CharField(
        label=_("Ваш отзыв"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Что нравится, что мешает, что предложите. Ответ придёт в «Сообщения»."),
    )

    def __init__(self, *args, children, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = children
        self.fields["student"].label_from_instance = lambda s: s.first_name


class PulseForm(forms.Form):
    score = forms.TypedChoiceField(label=_("Как прошло занятие?"), choices=FACES, coerce=int)
    comment = forms.CharField(
        label=_("Хочешь что-то добавить?"),
        max_length=COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Статус"), choices=[("", _("Все"))] + Status.choices, required=False)
    sentiment = forms.ChoiceField(
        label=_("Тон"), choices=[("", _("Любой"))] + Sentiment.choices, required=False
    )
    source = forms.ChoiceField(
        label=_("Источник"), choices=[("", _("Любой"))] + Source.choices, required=False
    )
    aspect = forms.ChoiceField(
        label=_("О чём"), choices=[("", _("Обо всём"))] + list(ASPECT_LABELS.items()), required=False
    )
    alert = forms.BooleanField(label=_("Только ждущие ответа"), required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Ответ семье"), max_length=REPLY_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Статус"), choices=Status.choices)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV-файл с отзывами"),
        help_text=_("Колонки: текст (text), автор (author), оценка (rating) — до 1 МБ."),
    )
    branch = forms.ModelChoiceField(
        label=_("Филиал"), queryset=None, required=False, empty_label=_("Вся организация")
    )

    def __init__(self, *args, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


NPS_CHOICES = [(n, str(n)) for n in range(11)]


class SurveyForm(forms.Form):
    nps = forms.TypedChoiceField(
        label=_("Насколько вероятно, что вы порекомендуете нас друзьям?"),
        choices=NPS_CHOICES,
        coerce=int,
        error_messages={
            "required": _("Выберите число от 0 до 10."),
            "invalid_choice": _("Выберите число от 0 до 10."),
        },
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Насколько вы довольны занятиями?"),
        choices=FACES,
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Выберите оценку от 1 до 5.")},
    )
    comment = forms.CharField(
        label=_("Что нам сделать лучше? (необязательно)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TeacherPulseForm(forms.Form):
    student = forms.IntegerField(min_value=1)
    score = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(1, 6)], coerce=int)
    note = forms.CharField(max_length=300, required=False)


class SurveySettingsForm(forms.Form):
    survey_after_lessons = forms.IntegerField(
        label=_("Первый опрос родителей после занятия №"), min_value=1, max_value=100
    )
    survey_every_days = forms.IntegerField(
        label=_("Затем повторять каждые, дней"),
        min_value=0,
        max_value=730,
        help_text=_("0 — только первый опрос."),
    )
