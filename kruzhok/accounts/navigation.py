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
    ("messaging:conversations", _("Переписка"), {O, M, T, P}),
    ("messaging:announcements", _("Рассылки"), {O, M}),
    ("messaging:settings", _("Настройки рассылок"), {O}),
    ("feedback:inbox", _("Отзывы"), {O, M}),
    ("feedback:give", _("Отзыв центру"), {P}),
    ("feedback:pulse_list", _("Как прошло занятие?"), {S}),
    ("feedback:teacher_lessons", _("Вовлечённость"), {O, M, T}),
    ("risk:list", _("Риск ухода"), {O, M, T}),
    ("analytics:dashboard", _("Аналитика"), {O, M, T}),
    ("risk:alerts", _("Сигналы"), {O, M, T}),
    ("risk:what_helps", _("Что помогает"), {O, M}),
    ("gamification:home", _("Достижения"), {P, S}),
    ("gamification:settings", _("Очки и значки"), {O, M}),
    ("gamification:shop", _("Магазин наград"), {S}),
    ("gamification:shop_manage", _("Магазин наград"), {O, M}),
    ("billing:accounts", _("Оплаты"), {O, M}),
    ("billing:debtors", _("Должники"), {O, M}),
    ("billing:revenue", _("Выручка"), {O, M}),
    ("billing:family", _("Оплата"), {P}),
    ("reports:index", _("Отчёты"), {O, M}),
    ("dataquality:index", _("Качество данных"), {O, M}),
]


# Staff menus outgrew one row: these entries fold into a few named drop-downs. An entry not listed here
# stays on the top row, so a new app's link is visible until someone files it into a section.
STUDY, MONEY, CONTACT, RISK, SETUP = _("Учёба"), _("Деньги"), _("Связь"), _("Удержание"), _("Настройки")
SECTIONS = {
    "school:waitlist": STUDY,
    "school:courses": SETUP,
    "school:branches": SETUP,
    "school:holidays": SETUP,
    "accounts:staff": SETUP,
    "messaging:inbox": CONTACT,
    "messaging:conversations": CONTACT,
    "messaging:announcements": CONTACT,
    "messaging:settings": SETUP,
    "feedback:inbox": CONTACT,
    "feedback:teacher_lessons": STUDY,
    "risk:list": RISK,
    "risk:alerts": RISK,
    "risk:what_helps": RISK,
    "gamification:settings": SETUP,
    "gamification:shop_manage": STUDY,
    "billing:accounts": MONEY,
    "billing:debtors": MONEY,
    "billing:revenue": MONEY,
    "reports:index": SETUP,
    "dataquality:index": SETUP,
}
SECTION_ORDER = [STUDY, RISK, CONTACT, MONEY, SETUP]
# Families have a handful of links: they always see them flat.
FLAT_ROLES = {P, S}


def menu_for_role(role: str | None) -> list[dict]:
    """Top-row items in MENU order; a section becomes one item with `children` at its first entry's place.
    A section with a single link for this role is shown as that link."""
    links = []
    for name, label, roles in MENU:
        if role not in roles:
            continue
        try:
            links.append({"url": reverse(name), "label": label, "name": name})
        except NoReverseMatch:
            continue
    if role in FLAT_ROLES:
        return links
    sizes: dict[str, int] = {}
    for link in links:
        section = SECTIONS.get(link["name"])
        if section is not None:
            sizes[str(section)] = sizes.get(str(section), 0) + 1
    items: list[dict] = []
    groups: dict[str, dict] = {}
    for link in links:
        section = SECTIONS.get(link["name"])
        if section is None or sizes[str(section)] == 1:
            items.append(link)
            continue
        group = groups.setdefault(str(section), {"label": section, "children": [], "urls": set()})
        group["children"].append(link)
        group["urls"].add(link["url"])
    # Everyday links first, then the drop-downs in a fixed order, so the bar reads the same on every page.
    return items + [groups[str(section)] for section in SECTION_ORDER if str(section) in groups]
