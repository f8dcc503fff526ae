import pytest

from kruzhok.feedback.sentiment import NEGATIVE, NEUTRAL, POSITIVE, analyse, lexicon, stem


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Ребёнку очень нравится, спасибо преподавателю!", POSITIVE),
        ("Отличный кружок, дочь занимается с удовольствием", POSITIVE),
        ("Преподаватель грубит детям, мы недовольны", NEGATIVE),
        ("Не понравилось, было скучно", NEGATIVE),
        ("Ужасная организация, занятия постоянно отменяют", NEGATIVE),
        ("Занятие перенесли на четверг", NEUTRAL),
        ("The teacher is great and my son loves it", POSITIVE),
        ("Terrible, rude staff and the room was dirty", NEGATIVE),
        ("I don't like it, boring", NEGATIVE),
        ("We moved to Thursday", NEUTRAL),
    ],
)
def test_it_reads_the_tone_of_russian_and_english_feedback(text, label):
    assert analyse(text).label == label


def test_it_explains_its_verdict_with_the_words_it_used():
    result = analyse("Преподаватель грубит детям")
    assert result.terms == ["грубит −"] and 0.5 < result.confidence < 1


def test_negation_flips_a_word_only_within_its_clause():
    assert analyse("не плохо").label == POSITIVE
    assert analyse("Не понравилось, было скучно").score < -2


def test_the_shipped_lexicon_is_loaded_from_the_project():
    table = lexicon()
    assert len(table) > 5000
    assert table[stem("отвратительный")] < 0 < table[stem("восхитительный")]


@pytest.mark.parametrize("text", ["", "   ", "<script>alert(1)</script>", "😀" * 500, "а" * 100_000])
def test_odd_input_is_neutral_not_an_error(text):
    assert analyse(text).label in (NEUTRAL, POSITIVE, NEGATIVE)
