"""Why a child got points, stored in Russian and worded for each reader.

A ledger note (XP, coins, a quest's badge) outlives the language of whoever caused it, so it is stored
as its Russian source, never translated: `stored(template, **params)` fills a `gettext_noop` template.
`shown(note)` reads it back for the reader: the whole note is a msgid, or it matches one of the
templates below and is worded with that template's translation. Notes written before this module,
being the same Russian text, read back the same way; a teacher's own words are shown as typed.
"""

import re

from django.utils.translation import gettext, gettext_noop

# Whole notes with no numbers: the stored text is the msgid.
VISIT = gettext_noop("Пришёл на занятие.")
VISIT_NOT_COUNTED = gettext_noop("Пришёл на занятие. Очки за посещение в центре не начисляются.")
LATE = gettext_noop("Опоздание — бонуса за приход вовремя нет.")
ON_TIME = gettext_noop("Пришёл вовремя — бонус.")
EXCUSED = gettext_noop("Пропуск по уважительной причине — очков нет, серия недель не прерывается.")
ABSENT = gettext_noop("Не был на занятии — очков за посещение нет.")
CORRECTED = gettext_noop("Отметка исправлена — начисление отменено")
HOMEWORK_MISSED = gettext_noop("Домашнее задание не сдано — очков за него нет.")
HOMEWORK_DONE = gettext_noop("Сдал домашнее задание.")
HOMEWORK_LATE = gettext_noop("Сдал домашнее задание. С опозданием, но сдал!")
HOMEWORK_NOT_COUNTED = gettext_noop(
    "Сдал домашнее задание. Очки за домашние задания в центре не начисляются."
)
HOMEWORK_LATE_NOT_COUNTED = gettext_noop(
    "Сдал домашнее задание. С опозданием, но сдал! Очки за домашние задания в центре не начисляются."
)
KUDOS = gettext_noop("Молодец на занятии!")
KUDOS_NOT_COUNTED = gettext_noop("Молодец на занятии! (очки за похвалу в центре не начисляются)")
COINS_FOR_LESSON = gettext_noop("Монеты за занятие")
COINS_RETURNED = gettext_noop("Отметка исправлена — монеты возвращены")
REQUEST_REJECTED = gettext_noop("Заявка отклонена — монеты вернулись")

# Notes with a number or a name in them. Order matters: the first template that matches wins, so a
# longer template comes before a shorter one it could be mistaken for.
CAPPED = gettext_noop("%(note)s Дневной лимит %(cap)s очков: начислено %(given)s.")
GRADE_LOW = gettext_noop("Оценка %(grade)s: очки дают за 4 и 5. Получится в следующий раз!")
GRADE_GOOD = gettext_noop("Оценка %(grade)s — отличный результат!")
GRADE_NOT_COUNTED = gettext_noop("Оценка %(grade)s. Очки за оценки в центре не начисляются.")
KUDOS_WITH_TEXT_NOT_COUNTED = gettext_noop(
    "Молодец на занятии! %(text)s (очки за похвалу в центре не начисляются)"
)
KUDOS_WITH_TEXT = gettext_noop("Молодец на занятии! %(text)s")
QUEST_DONE_REWARD = gettext_noop("Пройден квест «%(title)s»! Награда: %(reward)s.")
QUEST_DONE = gettext_noop("Пройден квест «%(title)s»!")
TEAM_QUEST_DONE_REWARD = gettext_noop("Пройден командный квест «%(title)s»! Награда: %(reward)s.")
TEAM_QUEST_DONE = gettext_noop("Пройден командный квест «%(title)s»!")
FOR_QUEST = gettext_noop("За квест «%(title)s»")
ORDER = gettext_noop("Заказ: %(title)s")

TEMPLATES = (
    CAPPED,
    GRADE_LOW,
    GRADE_GOOD,
    GRADE_NOT_COUNTED,
    KUDOS_WITH_TEXT_NOT_COUNTED,
    KUDOS_WITH_TEXT,
    QUEST_DONE_REWARD,
    QUEST_DONE,
    TEAM_QUEST_DONE_REWARD,
    TEAM_QUEST_DONE,
    FOR_QUEST,
    ORDER,
)

# Parts of a quest's reward list («+5 монет, значок «Звезда»»), worded one by one.
REWARD_COINS = gettext_noop("+%(coins)s монет")
REWARD_BADGE = gettext_noop("значок «%(name)s»")
REWARD_PARTS = (REWARD_COINS, REWARD_BADGE)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(template: str) -> re.Pattern:
    pieces = _PLACEHOLDER.split(template)
    # split() alternates text and placeholder names: text, name, text, name, …, text.
    regex = "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.+?)" for i, piece in enumerate(pieces))
    return re.compile(f"^{regex}$", re.DOTALL)


_PATTERNS = tuple((template, _pattern(template)) for template in TEMPLATES)
_REWARD_PATTERNS = tuple((template, _pattern(template)) for template in REWARD_PARTS)


def stored(template: str, **params) -> str:
    """The note as the ledger keeps it: the Russian template filled in, cut to the column's 300."""
    return (template % params)[:300]


def _reward_shown(reward: str) -> str:
    parts = []
    for part in reward.split(", "):
        for template, pattern in _REWARD_PATTERNS:
            found = pattern.match(part)
            if found:
                parts.append(gettext(template) % found.groupdict())
                break
        else:
            parts.append(part)
    return ", ".join(parts)


def shown(note: str) -> str:
    """A stored note in the reader's language; text that is no template (a teacher's) as it is."""
    if not note:
        return ""
    worded = gettext(note)
    if worded != note:
        return worded
    for template, pattern in _PATTERNS:
        found = pattern.match(note)
        if found is None:
            continue
        params = found.groupdict()
        if "note" in params:
            params["note"] = shown(params["note"])
        if "reward" in params:
            params["reward"] = _reward_shown(params["reward"])
        return gettext(template) % params
    return note
