from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.messaging.models import Audience
from kruzhok.messaging.services import BODY_MAX, SUBJECT_MAX


class AnnouncementForm(forms.Form):
    audience = forms.ChoiceField(label=_("Кому"), choices=Audience.choices, initial=Audience.GROUP)
    group = forms.ModelChoiceField(label=_("Группа"), queryset=None, required=False)
    guardian = forms.ModelChoiceField(label=_("Семья (родитель)"), queryset=None, required=False)
    title = forms.CharField(label=_("Тема"), max_length=SUBJECT_MAX)
    body = forms.CharField(
        label=_("Текст"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Переменные: {ребёнок}, {родитель}, {группа}, {курс}, {центр}."),
    )

    def __init__(self, *args, groups, guardians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        self.fields["guardian"].queryset = guardians
        self.fields["guardian"].label_from_instance = lambda g: g.full_name

    def clean(self):
        data = super().clean()
        if data.get("audience") == Audience.GROUP and not data.get("group"):
            self.add_error("group", _("Выберите группу."))
        if data.get("audience") == Audience.FAMILY and not data.get("guardian"):
            self.add_error("guardian", _("Выберите семью."))
        return data


class PreferenceForm(forms.Form):
    primary = forms.ChoiceField(
        label=_("Куда писать в первую очередь"),
        choices=[("telegram", _("Telegram")), ("email", _("Эл. почта")), ("inapp", _("Только в приложении"))],
    )
    no_email = forms.BooleanField(label=_("Не присылать на email"), required=False)
    no_telegram = forms.BooleanField(label=_("Не присылать в Telegram"), required=False)
    no_sms = forms.BooleanField(label=_("Не присылать SMS"), required=False)


class OrgSettingsForm(forms.Form):
    telegram_bot_token = forms.CharField(
        label=_("Токен Telegram-бота"),
        max_length=100,
        required=False,
        widget=forms.PasswordInput(render_value=True),
        help_text=_("Выдаёт @BotFather. Храните в секрете."),
    )
    telegram_bot_username = forms.RegexField(
        label=_("Имя бота (без @)"), regex=r"^[A-Za-z0-9_]{0,64}$", max_length=64, required=False
    )
    quiet_start = forms.TimeField(label=_("Тихие часы для детей: с"))
    quiet_end = forms.TimeField(label=_("до"))
    daily_limit = forms.IntegerField(
        label=_("Лимит внешних сообщений в день"),
        min_value=0,
        max_value=1_000_000,
        help_text=_(
            "Email, Telegram, SMS и push вместе; 0 — без лимита. Сверх лимита сообщения ждут следующего дня."
        ),
    )
    reminder_hours = forms.IntegerField(
        label=_("Напоминать о занятии за, часов"),
        min_value=0,
        max_value=168,
        help_text=_("24 — накануне; 0 — не напоминать."),
    )
    push_confirm_minutes = forms.IntegerField(
        label=_("Ждать подтверждения push, минут"),
        min_value=0,
        max_value=1440,
        help_text=_(
            "Если браузер не показал уведомление за это время, пробуем следующий канал; 0 — не ждать."
        ),
    )


class PostForm(forms.Form):
    body = forms.CharField(
        label=_("Сообщение"),
        max_length=4096,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ConversationStartForm(forms.Form):
    """Staff pick a family; a parent picks one of their children (or writes about the centre)."""

    guardian = forms.ModelChoiceField(label=_("Семья (родитель)"), queryset=None, required=False)
    student = forms.ModelChoiceField(
        label=_("О ком"), queryset=None, required=False, empty_label=_("Без привязки к ребёнку")
    )
    subject = forms.CharField(label=_("Тема"), max_length=200)
    body = forms.CharField(label=_("Сообщение"), max_length=4096, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, guardians, students, staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        if staff:
            self.fields["guardian"].queryset = guardians
            self.fields["guardian"].required = True
            self.fields["guardian"].label_from_instance = lambda g: g.full_name
        else:
            del self.fields["guardian"]
        self.fields["student"].queryset = students
        self.fields["student"].label_from_instance = lambda s: s.full_name if staff else s.first_name
