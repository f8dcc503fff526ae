from django import forms
from django.utils.translation import gettext_lazy as _

from kruzhok.homework.models import GRADE_MAX, GRADE_MIN
from kruzhok.homework.services import COMMENT_MAX

# One tap per child: the button says what happened; "late" is handed in, after the deadline.
STATUS_CHOICES = [("submitted", _("Сдал")), ("late", _("Сдал поздно")), ("missed", _("Не сдал"))]
GRADE_CHOICES = [("", "—")] + [(str(g), str(g)) for g in range(GRADE_MIN, GRADE_MAX + 1)]


class HomeworkForm(forms.Form):
    status = forms.ChoiceField(
        choices=STATUS_CHOICES,
        error_messages={
            "required": _("Выберите: сдал, сдал поздно или не сдал."),
            "invalid_choice": _("Такой отметки нет: выберите сдал, сдал поздно или не сдал."),
        },
    )
    grade = forms.TypedChoiceField(
        label=_("Оценка"),
        choices=GRADE_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": _("Оценка — целое число от 1 до 5.")},
    )
    comment = forms.CharField(
        label=_("Комментарий"),
        required=False,
        max_length=COMMENT_MAX,
        error_messages={"max_length": _("Комментарий слишком длинный: не больше %(limit_value)d символов.")},
    )

    def service_arguments(self) -> dict:
        status = self.cleaned_data["status"]
        return {
            "status": "submitted" if status == "late" else status,
            "is_late": status == "late",
            "grade": self.cleaned_data.get("grade"),
            "comment": self.cleaned_data.get("comment", ""),
        }
