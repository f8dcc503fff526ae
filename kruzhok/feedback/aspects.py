"""What a piece of feedback is about: keyword stems per aspect, Russian and English, matched on the same
crude stems as the sentiment lexicon. Interpretable on purpose: a manager can read why a text was tagged.

A word belongs to one aspect only, and words whose stem collides with a common word of another meaning
are left out («класс» would catch «классно», «time» every «every time»)."""

from django.utils.translation import gettext_lazy as _

from kruzhok.feedback.sentiment_lexicon import WORD, stem

ASPECT_WORDS = {
    "teacher": "преподаватель преподавательница педагог педагога учитель учительница тренер тренера наставник "
    "вожатый руководитель преподает объясняет "
    "teacher teachers tutor coach instructor trainer mentor teaches explains",
    "schedule": "расписание расписания время перенос перенесли переносят отмена отменили отменяют отменяется "
    "опоздание опаздывает опоздал опоздала график поздно рано выходные "
    "schedule timetable cancelled canceled cancel rescheduled reschedule late weekend",
    "price": "цена цены ценой стоимость дорого дешево оплата оплатить платить заплатили деньги денег абонемент "
    "абонемента скидка скидки рубль рублей подорожал возврат "
    "price prices cost costs expensive cheap fee fees payment pay paid money refund overpriced discount",
    "content": "программа программы задание задания проект проекты урок уроки материал материалы робот "
    "конструктор домашка домашнее учат научился научилась "
    "program programme curriculum content project projects lesson lessons homework material materials tasks "
    "learned learnt",
    "premises": "кабинет кабинете помещение помещении здание здании холодно жарко душно грязно чисто ремонт "
    "туалет гардероб раздевалка тесно парковка "
    "room rooms building premises dirty clean cold hot stuffy toilet cramped parking classroom",
    "communication": "связь звонок звонки звонила дозвониться ответ ответа отвечают ответили сообщение сообщения "
    "администратор администрация чат писали предупредили предупреждения ресепшен "
    "communication call calls phone answer answered reply replied message messages admin reception email "
    "notice",
    "mood": "нравится понравилось скучно весело радостный радостно плачет плакал плакала боится устал устает "
    "интересно хочет настроение восторге грустно обижают счастлив счастлива "
    "enjoy enjoys enjoyed boring bored fun happy cried cries crying scared tired interested mood upset sad "
    "loves",
}
ASPECT_LABELS = {
    "teacher": _("преподаватель"),
    "schedule": _("расписание"),
    "price": _("цена"),
    "content": _("содержание"),
    "premises": _("помещение"),
    "communication": _("общение с центром"),
    "mood": _("настроение ребёнка"),
}
_STEMS = {stem(word): aspect for aspect, words in ASPECT_WORDS.items() for word in words.split()}


def aspects_of(text: str) -> list[str]:
    """The aspects a text mentions, in the order they first appear."""
    found = []
    for token in WORD.findall((text or "")[:20_000].lower()):
        aspect = _STEMS.get(stem(token))
        if aspect and aspect not in found:
            found.append(aspect)
    return found
