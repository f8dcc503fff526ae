"""What a piece of feedback is about: keyword stems per aspect, Russian and English, matched on the same
crude stems as the sentiment lexicon. Interpretable on purpose: a manager can read why a text was tagged."""

from kruzhok.feedback.sentiment import WORD, stem

ASPECT_WORDS = {
    "teacher": "преподаватель педагог учитель тренер наставник вожатый teacher tutor coach instructor",
    "schedule": "расписание время перенос перенесли отмена отменили отменяют опоздание опаздывает график "
    "schedule time cancelled rescheduled late",
    "price": "цена стоимость дорого дешево оплата деньги абонемент скидка рубль price cost expensive cheap "
    "fee payment money",
    "content": "программа задание проект тема урок материал робот конструктор домашка домашнее "
    "program programme content project lesson homework",
    "premises": "кабинет помещение класс здание холодно жарко грязно чисто ремонт туалет гардероб "
    "room building premises dirty clean cold hot",
    "communication": "связь звонок ответ отвечают сообщение администратор чат писали "
    "communication call answer reply message admin",
    "mood": "нравится скучно весело радостный плачет боится устал интересно хочет настроение "
    "enjoy boring fun happy cried scared tired interested mood",
}
ASPECT_LABELS = {
    "teacher": "преподаватель",
    "schedule": "расписание",
    "price": "цена",
    "content": "содержание",
    "premises": "помещение",
    "communication": "общение с центром",
    "mood": "настроение ребёнка",
}
_STEMS = {stem(word): aspect for aspect, words in ASPECT_WORDS.items() for word in words.split()}


def aspects_of(text: str) -> list[str]:
    found = []
    for token in WORD.findall((text or "").lower()):
        aspect = _STEMS.get(stem(token))
        if aspect and aspect not in found:
            found.append(aspect)
    return found
