"""The main menu per role. A link appears only once its URL exists, so apps can land one by one."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from kruzhok.accounts.models import Role

O, M, T, P, S = Role.OWNER, Role.MANAGER, Role.TEACHER, Role.PARENT, Role.STUDENT

MENU = [
    ("core:home", _("Главная"), {O, M, T, P, S}),
    ("attendance:today", _("Сегодня"), {O, M, T}),
    ("school:students", _("Ученики"), {O, M}),
    ("school:groups", _("Группы"), {O, M, T}),
    ("school:waitlist", _("Лист ожидания"), {O, M}),
    ("school:courses", _("Курсы"), {O}),
    ("school:branches", _("Филиалы"), {O}),
    ("school:holidays", _("Праздники"), {O}),
    ("accounts:staff", _("Сотрудники"), {O}),
    ("family:schedule", _("Расписание"), {P, S}),
    ("family:attendance", _("Посещения"), {P}),
]


def menu_for_role(role: str | None) -> list[dict]:
    items = []
    for name, label, roles in MENU:
        if role not in roles:
            continue
        try:
            items.append({"url": reverse(name), "label": label, "name": name})
        except NoReverseMatch:
            continue
    return items
