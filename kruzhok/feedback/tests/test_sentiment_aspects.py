"""Aspects of feedback (what it is about) on phrases parents and children actually write, in both languages."""

import pytest

from kruzhok.feedback.aspects import ASPECT_LABELS, ASPECT_WORDS, aspects_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Преподаватель грубит, а в кабинете холодно", ["teacher", "premises"]),
        ("Учительница объясняет понятно, дочь довольна", ["teacher"]),
        ("Тренер постоянно опаздывает", ["teacher", "schedule"]),
        ("Занятия постоянно переносят, неудобное расписание", ["schedule"]),
        ("Очень дорого, недовольны ценой абонемента", ["price"]),
        ("Деньги за отменённое занятие так и не вернули", ["price"]),
        ("Хорошая программа, сын собрал первого робота", ["content"]),
        ("Домашнее задание слишком сложное", ["content"]),
        ("В помещении душно и тесно", ["premises"]),
        ("Не можем дозвониться до администратора, в чате не отвечают", ["communication"]),
        ("Сын приходит грустный и плачет", ["mood"]),
        ("Дочке очень нравится, ходит в восторге", ["mood"]),
        ("The coach is rude and the room is cold", ["teacher", "premises"]),
        ("Classes get cancelled and nobody answers the phone", ["schedule", "communication"]),
        ("Too expensive, we want a refund", ["price"]),
        ("My son enjoys the robotics projects", ["mood", "content"]),
        ("The homework is too hard", ["content"]),
        ("The instructor explains things well", ["teacher"]),
    ],
)
def test_it_finds_what_a_text_is_about(text, expected):
    assert aspects_of(text) == expected


@pytest.mark.parametrize(
    "text", ["Классно! Спасибо", "Every time we come we smile", "Ок", "Спасибо, всё хорошо"]
)
def test_words_that_merely_look_like_an_aspect_tag_nothing(text):
    assert aspects_of(text) == []


@pytest.mark.parametrize(
    "text", ["", None, "😀" * 100, "<script>alert('кабинет')</script>", "кабинет " * 200_000]
)
def test_odd_input_gives_a_list_not_an_error(text):
    found = aspects_of(text)
    assert isinstance(found, list) and len(found) == len(set(found))


def test_every_aspect_has_a_russian_label():
    assert (
        set(ASPECT_LABELS)
        == set(ASPECT_WORDS)
        == {"teacher", "schedule", "price", "content", "premises", "communication", "mood"}
    )
