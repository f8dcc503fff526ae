"""Forms for the manager's people pages. They parse and bound input; the services decide what is valid."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kruzhok.school.models import DropReason, EnrollmentStatus, Relation
from kruzhok.school.services.people import NOTES_MAX

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
START_CHOICES = [
    (EnrollmentStatus.TRIAL, _("Пробное занятие")),
    (EnrollmentStatus.ACTIVE, _("Сразу в группу")),
]


class GroupChoiceField(forms.ModelChoiceField):
    """A group with its free seats, so a manager sees a full group before choosing it."""

    def label_from_instance(self, obj):
        taken = getattr(obj, "taken", None)
        if taken is None:
            return obj.name
        return _("%(name)s · занято %(taken)d из %(capacity)d · %(branch)s") % {
            "name": obj.name,
            "branch": obj.branch.name,
            "taken": taken,
            "capacity": obj.capacity,
        }


def _notes_help() -> str:
    return gettext("Здоровье, особенности, договорённости. Не больше %(max)d символов.") % {"max": NOTES_MAX}


def _notes_field():
    return forms.CharField(
        label=_("Заметки"),
        required=False,
        max_length=NOTES_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        # Formatted when shown, not at import, so the help follows the visitor's language.
        help_text=lazy(_notes_help, str)(),
        error_messages={
            "max_length": _(
                "Заметки слишком длинные: не больше %(limit_value)d символов (сейчас %(show_value)d)."
            )
        },
    )


class StudentFieldsMixin(forms.Form):
    last_name = forms.CharField(label=_("Фамилия"), max_length=100)
    first_name = forms.CharField(label=_("Имя"), max_length=100)
    birth_date = forms.DateField(label=_("Дата рождения"), widget=DATE_WIDGET)
    branch = forms.ModelChoiceField(
        label=_("Филиал"), queryset=None, required=False, empty_label=_("— не выбран —")
    )
    notes = _notes_field()

    def _set_branches(self, branches, *, required: bool):
        self.fields["branch"].queryset = branches
        self.fields["branch"].required = required


class GuardianFieldsMixin(forms.Form):
    guardian_phone = forms.CharField(
        label=_("Телефон"),
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
        help_text=_("Если номер уже есть в базе, ребёнок будет привязан к этому представителю."),
    )
    # Required only for a new number; the service says so when it is missing.
    guardian_full_name = forms.CharField(
        label=_("ФИО"),
        max_length=200,
        required=False,
        help_text=_("Нужно, если этого номера ещё нет в базе."),
    )
    guardian_email = forms.EmailField(label=_("Почта"), required=False)
    guardian_telegram_username = forms.CharField(
        label=_("Telegram"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "@username"}),
    )
    relation = forms.ChoiceField(label=_("Кем приходится ребёнку"), choices=Relation.choices)


class StudentEnrolForm(StudentFieldsMixin, GuardianFieldsMixin):
    """The one form a manager fills in for a new child: child, guardian, consent, and a group."""

    consent = forms.BooleanField(
        label=_("Согласие на обработку персональных данных получено"),
        error_messages={"required": _("Без согласия представителя ребёнка записать нельзя.")},
    )
    group = GroupChoiceField(
        label=_("Группа"), queryset=None, required=False, empty_label=_("— пока без группы —")
    )
    status = forms.ChoiceField(label=_("Как записать"), choices=START_CHOICES, initial=EnrollmentStatus.TRIAL)
    started_on = forms.DateField(
        label=_("С какого дня"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Пусто — с сегодняшнего дня."),
    )
    waitlist_if_full = forms.BooleanField(
        label=_("Если мест нет — поставить в лист ожидания"), required=False
    )

    def __init__(self, *args, branches, groups, branch_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_branches(branches, required=branch_required)
        self.fields["group"].queryset = groups


class StudentEditForm(StudentFieldsMixin):
    def __init__(self, *args, branches, branch_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_branches(branches, required=branch_required)


class GuardianEditForm(forms.Form):
    full_name = forms.CharField(label=_("ФИО"), max_length=200)
    phone = forms.CharField(
        label=_("Телефон"), max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    email = forms.EmailField(label=_("Почта"), required=False)
    telegram_username = forms.CharField(
        label=_("Telegram"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "@username"}),
    )


class GuardianAddForm(GuardianFieldsMixin):
    is_primary = forms.BooleanField(label=_("Основной контакт"), required=False)
    consent = forms.BooleanField(
        label=_("Этот представитель дал согласие на обработку персональных данных"), required=False
    )


class ConsentForm(forms.Form):
    guardian = forms.ModelChoiceField(label=_("Кто дал согласие"), queryset=None, empty_label=None)
    confirm = forms.BooleanField(
        label=_("Согласие на обработку персональных данных получено"),
        error_messages={"required": _("Отметьте, что согласие получено.")},
    )

    def __init__(self, *args, guardians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guardian"].queryset = guardians


class EnrollmentCreateForm(forms.Form):
    group = GroupChoiceField(label=_("Группа"), queryset=None)
    status = forms.ChoiceField(label=_("Как записать"), choices=START_CHOICES, initial=EnrollmentStatus.TRIAL)
    started_on = forms.DateField(
        label=_("С какого дня"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Пусто — с сегодняшнего дня."),
    )
    waitlist_if_full = forms.BooleanField(
        label=_("Если мест нет — поставить в лист ожидания"), required=False
    )

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups


class EnrollmentTransitionForm(forms.Form):
    to_status = forms.ChoiceField(label=_("Новый статус"))
    on_date = forms.DateField(
        label=_("Дата"), required=False, widget=DATE_WIDGET, help_text=_("Пусто — сегодня.")
    )
    reason = forms.ChoiceField(
        label=_("Причина ухода"),
        required=False,
        choices=[("", "—"), *DropReason.choices],
        help_text=_("Обязательно, если ребёнок уходит."),
    )
    note = forms.CharField(
        label=_("Комментарий"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, allowed: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = [(s, EnrollmentStatus(s).label) for s in allowed]


class EnrollmentTransferForm(forms.Form):
    to_group = GroupChoiceField(label=_("В группу"), queryset=None)
    on_date = forms.DateField(
        label=_("С какого дня"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Пусто — с сегодняшнего дня."),
    )
    note = forms.CharField(
        label=_("Комментарий"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_group"].queryset = groups


class StudentSearchForm(forms.Form):
    q = forms.CharField(label=_("Поиск"), required=False, max_length=100)
