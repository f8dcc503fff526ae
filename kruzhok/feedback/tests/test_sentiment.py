"""The shipped sentiment model, as services.py uses it: `analyse(text)` on Russian and English feedback."""

import json

import pytest

from kruzhok.feedback.sentiment import (
    LABELS,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    analyse,
    lexicon,
    lexicon_analyse,
    model,
    stem,
)
from kruzhok.feedback.sentiment_classifier import ARRAYS, METADATA, MODEL_DIR


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Ребёнку очень нравится, спасибо преподавателю!", POSITIVE),
        ("Сын в полном восторге от кружка, каждый раз бежит на занятия", POSITIVE),
        ("Педагог внимательный, объясняет доходчиво. Благодарим!", POSITIVE),
        ("Преподаватель грубит детям, мы недовольны", NEGATIVE),
        ("Не понравилось, было скучно", NEGATIVE),
        ("Ужасная организация, занятия постоянно отменяют", NEGATIVE),
        ("Дочь приходит с занятий в слезах, больше не пойдём", NEGATIVE),
        ("Занятие перенесли на четверг", NEUTRAL),
        ("Во сколько начинается занятие в субботу?", NEUTRAL),
        ("The teacher is great and my son loves it", POSITIVE),
        ("Wonderful club, my daughter enjoys every lesson", POSITIVE),
        ("Terrible, rude staff and the room was dirty", NEGATIVE),
        ("I don't like it, boring", NEGATIVE),
        ("We are really disappointed with the new coach", NEGATIVE),
        ("We moved to Thursday", NEUTRAL),
        ("What time does the lesson start tomorrow?", NEUTRAL),
    ],
)
def test_it_reads_the_tone_of_russian_and_english_feedback(text, label):
    assert analyse(text).label == label


def test_a_confident_verdict_has_a_high_confidence_and_a_signed_score():
    good, bad = analyse("Отличный кружок, спасибо!"), analyse("Ужасно, очень плохо")
    assert good.confidence > 0.7 and good.score > 0.5
    assert bad.confidence > 0.7 and bad.score < -0.5


def test_it_explains_its_verdict_with_the_words_it_used():
    result = analyse("Преподаватель грубит детям")
    assert result.label == NEGATIVE and "грубит −" in result.terms
    assert all(term.endswith("−") for term in result.terms)
    assert "terrible −" in analyse("Terrible lesson").terms


def test_negation_turns_a_compliment_into_a_complaint():
    assert analyse("Нам нравится").label == POSITIVE
    assert analyse("Нам не нравится").label == NEGATIVE
    assert "не нравится −" in analyse("Нам не нравится").terms


def test_a_neutral_text_explains_nothing():
    assert analyse("Занятие перенесли на четверг").terms == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "<script>alert(1)</script>",
        "<b onmouseover=alert(1)>привет</b>",
        "😀" * 500,
        "а" * 1_000_000,
        "Хорошо. " * 150_000,
        "\x00\x01\x02 \u202e текст",
        "'; DROP TABLE feedback_feedback; --",
        "1234567890 !!! ??? ((( )))",
        "Ｆｕｌｌｗｉｄｔｈ テキスト 中文 العربية",
    ],
)
def test_odd_input_gets_a_clear_result_not_an_error(text):
    result = analyse(text)
    assert result.label in LABELS
    assert 0.0 <= result.confidence <= 1.0 and -1.0 <= result.score <= 1.0
    assert isinstance(result.terms, list) and len(result.terms) <= 5


def test_nothing_said_is_neutral_and_sure():
    assert analyse("").label == NEUTRAL and analyse("").confidence == 1.0
    assert analyse(None).label == NEUTRAL


def test_emoji_alone_carry_a_tone():
    assert analyse("😍😍😍").label == POSITIVE
    assert analyse("😡😡").label == NEGATIVE


def test_a_script_tag_is_not_read_as_a_smile():
    assert analyse("<script>alert(1)</script>").label == NEUTRAL


def test_the_model_is_loaded_from_the_committed_artefact_which_is_small():
    arrays, metadata = MODEL_DIR / ARRAYS, MODEL_DIR / METADATA
    assert arrays.stat().st_size < 5 * 1024 * 1024
    recipe = json.loads(metadata.read_text(encoding="utf-8"))
    shipped = model()
    assert recipe["features"] == {"words": len(shipped.word_terms), "characters": len(shipped.chars.index)}
    assert shipped.coef.shape == (3, len(shipped.word_terms) + len(shipped.chars.index))
    assert recipe["sentirueval_2016"]["banks"]["trained model"] > 0.5517
    assert recipe["sentirueval_2016"]["telecom"]["trained model"] > 0.5594


def test_the_lexicon_baseline_is_kept_and_loaded_from_the_project():
    table = lexicon()
    assert len(table) > 5000
    assert table[stem("отвратительный")] < 0 < table[stem("восхитительный")]
    assert table[stem("awful")] < 0 < table[stem("wonderful")]
    assert lexicon_analyse("Не понравилось, было скучно").label == NEGATIVE
    assert lexicon_analyse("не плохо").label == POSITIVE


def test_without_a_transformer_configured_the_linear_model_decides(settings):
    settings.SENTIMENT_TRANSFORMER_PATH = ""
    assert analyse("Ужасно, очень плохо").label == NEGATIVE


def test_a_transformer_path_that_cannot_be_loaded_falls_back_to_the_linear_model(settings, tmp_path, caplog):
    settings.SENTIMENT_TRANSFORMER_PATH = str(tmp_path / "no-such-model")
    result = analyse("Отличный кружок, спасибо!")
    assert result.label == POSITIVE and result.terms
    assert "could not be loaded" in caplog.text


def test_a_configured_transformer_decides_and_its_label_names_are_mapped(settings, monkeypatch):
    from kruzhok.feedback import sentiment

    # Stands in for transformers.pipeline(...) on a local model: a list of {label, score} per text.
    def local_model(text):
        return [
            [
                {"label": "NEGATIVE", "score": 0.7},
                {"label": "neutral", "score": 0.2},
                {"label": "Pos", "score": 0.1},
            ]
        ]

    settings.SENTIMENT_TRANSFORMER_PATH = "/models/rubert-sentiment"
    monkeypatch.setattr(sentiment, "_transformer", lambda path: local_model if path else None)
    result = analyse("Отличный кружок, спасибо!")
    assert (result.label, result.confidence, result.score) == (NEGATIVE, 0.7, -0.6)
    assert result.terms == []  # the linear model's words explained another verdict
