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
    ("messaging:inbox", _("Сообщения"), {O, M, T, P, S}),
    ("messaging:announcements", _("Рассылки"), {O, M}),
    ("messaging:settings", _("Настройки рассылок"), {O}),
    ("feedback:inbox", _("Отзывы"), {O, M}),
    ("feedback:give", _("Отзыв центру"), {P}),
    ("feedback:pulse_list", _("Как прошло занятие?"), {S}),
    ("risk:list", _("Риск ухода"), {O, M, T}),
    ("gamification:home", _("Достижения"), {P, S}),
    ("gamification:settings", _("Очки и значки"), {O, M}),
    ("gamification:shop", _("Магазин наград"), {S}),
    ("gamification:shop_manage", _("Магазин наград"), {O, M}),
    ("billing:accounts", _("Оплаты"), {O, M}),
    ("billing:debtors", _("Должники"), {O, M}),
    ("billing:family", _("Оплата"), {P}),
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
