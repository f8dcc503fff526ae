"""Forms only parse and check shape; the rules (taken logins, weak passwords, one-time links) live in
services.py, and views map a service error's `code` to the field it belongs to (FIELD_FOR_CODE)."""

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.accounts.models import Role

# Russia's zones first, in the Russian spelling people know; every other IANA zone after them.
RUSSIAN_TIMEZONES = [
    ("Europe/Kaliningrad", _("Калининград (МСК−1)")),
    ("Europe/Moscow", _("Москва (МСК)")),
    ("Europe/Samara", _("Самара (МСК+1)")),
    ("Asia/Yekaterinburg", _("Екатеринбург (МСК+2)")),
    ("Asia/Omsk", _("Омск (МСК+3)")),
    ("Asia/Novosibirsk", _("Новосибирск (МСК+4)")),
    ("Asia/Krasnoyarsk", _("Красноярск (МСК+4)")),
    ("Asia/Irkutsk", _("Иркутск (МСК+5)")),
    ("Asia/Yakutsk", _("Якутск (МСК+6)")),
    ("Asia/Vladivostok", _("Владивосток (МСК+7)")),
    ("Asia/Magadan", _("Магадан (МСК+8)")),
    ("Asia/Kamchatka", _("Камчатка (МСК+9)")),
]


def timezone_choices() -> list:
    russian = {code for code, _label in RUSSIAN_TIMEZONES}
    others = sorted(
        tz
        for tz in zoneinfo.available_timezones()
        if "/" in tz and tz not in russian and not tz.startswith(("Etc/", "SystemV/", "posix", "right/"))
    )
    return [(_("Россия"), RUSSIAN_TIMEZONES), (_("Другие"), [(tz, tz) for tz in others])]


class _PasswordPairMixin:
    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("Пароли не совпадают."))
        return cleaned


class _NewAccountFields(forms.Form):
    first_name = forms.CharField(label=_("Имя"), max_length=150)
    last_name = forms.CharField(label=_("Фамилия"), max_length=150, required=False)
    username = forms.CharField(
        label=_("Логин"),
        max_length=150,
        help_text=_("Буквы, цифры и символы @ . + - _"),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(label=_("Электронная почта"), max_length=254, required=False)
    password1 = forms.CharField(
        label=_("Пароль"),
        strip=False,
        max_length=128,
        help_text=_("Не короче 8 знаков, не только цифры и не слишком простой."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Пароль ещё раз"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class SignupForm(_PasswordPairMixin, _NewAccountFields):
    org_name = forms.CharField(label=_("Название центра"), max_length=200)
    timezone = forms.ChoiceField(label=_("Часовой пояс"), initial="Europe/Moscow")

    field_order = [
        "org_name",
        "timezone",
        "first_name",
        "last_name",
        "username",
        "email",
        "password1",
        "password2",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()
        self.fields["email"].required = True

    # Service error code → the field the message belongs under.
    FIELD_FOR_CODE = {
        "name_required": "org_name",
        "name_too_long": "org_name",
        "bad_timezone": "timezone",
        "username_required": "username",
        "username_taken": "username",
        "invalid_username": "username",
        "invalid_email": "email",
        "password_required": "password1",
        "weak_password": "password1",
    }


class InviteAcceptForm(_PasswordPairMixin, _NewAccountFields):
    FIELD_FOR_CODE = {
        "username_required": "username",
        "username_taken": "username",
        "invalid_username": "username",
        "invalid_email": "email",
        "password_required": "password1",
        "weak_password": "password1",
    }


class InvitationForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Роль"),
        choices=[(Role.TEACHER, Role.TEACHER.label), (Role.MANAGER, Role.MANAGER.label)],
        initial=Role.TEACHER,
    )
    email = forms.EmailField(
        label=_("Электронная почта"),
        max_length=254,
        required=False,
        help_text=_("Подставится в учётную запись сотрудника."),
    )
    branches = forms.TypedMultipleChoiceField(
        label=_("Филиалы менеджера"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Менеджер увидит группы и учеников только этих филиалов."),
    )

    FIELD_FOR_CODE = {"bad_role": "role", "invalid_email": "email", "bad_branch": "branches"}

    def __init__(self, *args, branch_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branches"].choices = list(branch_choices)
