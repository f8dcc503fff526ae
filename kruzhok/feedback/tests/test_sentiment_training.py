"""Training, storing and evaluating the sentiment model on small data the test writes itself, in the real
SentiRuEval file format (phpMyAdmin XML dumps, a column per company)."""

import itertools
import json
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from kruzhok.feedback.evaluation import read_sentirueval, sentirueval_scores
from kruzhok.feedback.sentiment_classifier import SentimentModel, fit_model
from kruzhok.feedback.sentiment_training import build_corpus, mask_companies

GOOD = ["отлично", "спасибо", "супер", "рады", "молодцы", "great", "love"]
BAD = ["ужасно", "плохо", "кошмар", "отвратительно", "безобразие", "terrible", "awful"]
PLAIN = ["отделение", "открылось", "работает", "сегодня", "адрес", "branch", "opens"]
COMPANIES = ["sberbank", "vtb"]


def tweets(seed: int, n: int = 40) -> list[tuple[str, dict[str, str]]]:
    """Tweets about two banks: a tone word or two among plain words; every fifth mentions both banks."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gold = ("-1", "0", "1")[i % 3]
        words = list(rng.choice(PLAIN, 3))
        if gold == "1":
            words += list(rng.choice(GOOD, 2))
        elif gold == "-1":
            words += list(rng.choice(BAD, 2))
        rng.shuffle(words)
        bank = "Сбербанк" if i % 2 else "ВТБ"
        entities = {COMPANIES[i % 2]: gold}
        if i % 5 == 0:
            entities[COMPANIES[(i + 1) % 2]] = gold
        out.append((f"{bank} {' '.join(words)}", entities))
    return out


def write_dump(path: Path, rows: list[tuple[str, dict[str, str]]], table: str = "bank_train") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tables = []
    for i, (text, entities) in enumerate(rows, start=1):
        columns = [
            f'<column name="id">{i}</column>',
            f'<column name="twitid">{10**17 + i}</column>',
            f'<column name="date">{1435636925 + i}</column>',
            f'<column name="text">{escape(text)}</column>',
        ]
        columns += [f'<column name="{c}">{entities.get(c, "NULL")}</column>' for c in COMPANIES]
        tables.append(f'<table name="{table}">{"".join(columns)}</table>')
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<pma_xml_export version="1.0" '
        'xmlns:pma="http://www.phpmyadmin.net/some_doc_url/"><database name="SentiRuEval">'
        + "".join(tables)
        + "</database></pma_xml_export>",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    base = root / "ru_sentirueval_tweets"
    for offset, name in enumerate(
        [
            "2015_banks/train.xml",
            "2015_banks/test_etalon.xml",
            "2015_telecoms/train.xml",
            "2015_telecoms/test_etalon.xml",
        ]
    ):
        write_dump(base / name, tweets(seed=offset))
    mixed = [("ВТБ ужасно, а Сбербанк отлично", {"vtb": "-1", "sberbank": "1"})]
    write_dump(base / "2016/banks_test_etalon.xml", tweets(seed=10, n=30) + mixed)
    write_dump(base / "2016/tkk_test_etalon.xml", tweets(seed=11, n=30))
    return root


def test_it_reads_a_sentirueval_dump_one_label_per_company(data):
    rows = read_sentirueval(data / "ru_sentirueval_tweets/2016/banks_test_etalon.xml")
    assert len(rows) == 31
    mixed = rows[-1]
    assert mixed.entities == {"sberbank": "positive", "vtb": "negative"} and mixed.label is None
    assert rows[0].entities == {"vtb": "negative", "sberbank": "negative"} and rows[0].label == "negative"


def test_scores_are_reported_per_tweet_and_per_company():
    from kruzhok.feedback.evaluation import Tweet

    rows = [
        Tweet("a", {"x": "negative", "y": "negative"}),
        Tweet("b", {"x": "positive"}),
        Tweet("c", {"x": "negative", "y": "positive"}),
        Tweet("d", {"x": "neutral"}),
    ]
    result = sentirueval_scores(rows, lambda text: "negative")
    # Tweet level: a, b, d (c is mixed). Negative: 1 right, 2 wrong → F1 = 2/4; positive F1 = 0.
    assert result["tweet"]["n"] == 3 and result["tweet"]["f1_pos_neg"] == 0.25
    # Entity level: 6 pairs, 3 negative gold, all 6 called negative → F1(neg) = 6/9.
    assert result["entity"]["n"] == 6 and result["entity"]["f1_pos_neg"] == round(6 / 9 / 2, 4)


def test_company_names_are_masked_in_training_and_test_tweets():
    assert (
        mask_companies("Сбербанк и ВТБ24, а ещё Билайн и МТС")
        == " компания  и  компания , а ещё  компания  и  компания "
    )
    assert "банк" in mask_companies("мой банк")


def test_a_trained_model_reads_tones_it_was_taught_in_both_languages():
    corpus = tweets(seed=1, n=90)
    model = fit_model(
        [text for text, _ in corpus], [_label(e) for _, e in corpus], c=5.0, char_min_df=1, word_min_df=1
    )
    assert model.predict("супер, спасибо").label == "positive"
    assert model.predict("кошмар, ужасно").label == "negative"
    assert model.predict("love it, great").label == "positive"
    assert model.predict("awful and terrible").label == "negative"


def test_two_fits_give_identical_scores_and_a_stored_model_scores_as_the_fitted_one(tmp_path):
    corpus = tweets(seed=2, n=60)
    texts, labels = [text for text, _ in corpus], [_label(e) for _, e in corpus]
    first = fit_model(texts, labels, word_min_df=1, char_min_df=1)
    second = fit_model(texts, labels, word_min_df=1, char_min_df=1)
    first.save(tmp_path / "model", metadata={"note": "test"})
    loaded = SentimentModel.load(tmp_path / "model")
    for text in ["отлично спасибо", "плохо", "branch opens", ""]:
        a, b, c = (m.predict(text).probabilities for m in (first, second, loaded))
        assert a == b
        assert all(abs(a[k] - c[k]) < 1e-5 for k in a)  # stored as float32
    assert loaded.metadata == {"note": "test"}


def test_the_train_command_writes_a_small_artefact_with_its_recipe_and_2016_figures(data, tmp_path, capsys):
    out = tmp_path / "model"
    call_command("sentiment_train", "--data", str(data), "--out", str(out), "--c", "2")
    metadata = json.loads((out / "sentiment.json").read_text(encoding="utf-8"))
    assert metadata["training_rows"]["sentirueval_2015"]["negative"] > 40
    assert metadata["training_rows"]["kruzhok_seed"]["positive"] > 10  # our own feedback is in
    assert metadata["recipe"]["c"] == 2.0
    banks = metadata["sentirueval_2016"]["banks"]
    assert banks["majority class (neutral)"] == 0.0
    assert banks["trained model"] > banks["all negative (organisers' baseline)"]
    assert (out / "sentiment.npz").stat().st_size < 1_000_000
    assert SentimentModel.load(out).predict("ВТБ отлично, спасибо").label == "positive"


def test_the_sentirueval_command_prints_the_model_beside_the_baselines(data, tmp_path, capsys):
    out = tmp_path / "model"
    call_command("sentiment_train", "--data", str(data), "--out", str(out))
    capsys.readouterr()
    figures_path = tmp_path / "figures.json"
    call_command(
        "sentiment_sentirueval", "--data", str(data), "--model", str(out), "--json", str(figures_path)
    )
    printed = capsys.readouterr().out
    for line in [
        "majority class (neutral)",
        "lexicon (RuSentiLex + ours)",
        "trained model",
        "0.5517",
        "0.5594",
    ]:
        assert line in printed
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    assert figures["banks"]["trained model"]["tweet"]["n"] == 30  # the mixed tweet is left out
    assert figures["banks"]["trained model"]["entity"]["n"] == 30 + 6 + 2


def test_commands_refuse_missing_data_and_models_clearly(tmp_path):
    with pytest.raises(CommandError, match="no ru_sentirueval_tweets"):
        call_command("sentiment_train", "--data", str(tmp_path), "--out", str(tmp_path / "m"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("sentiment_sentirueval", "--data", str(tmp_path))


def test_the_corpus_adds_our_own_feedback_at_a_higher_weight(data):
    corpus = build_corpus(data)
    seeds = [w for w, text in zip(corpus.weights, corpus.texts, strict=True) if "кружок" in text.lower()]
    assert seeds and set(seeds) == {5.0}
    assert set(itertools.chain.from_iterable(c.keys() for c in corpus.sources.values())) == {
        "negative",
        "neutral",
        "positive",
    }


def _label(entities: dict[str, str]) -> str:
    return {"-1": "negative", "0": "neutral", "1": "positive"}[next(iter(entities.values()))]


def test_the_bench_prints_per_text_timings_beside_the_lexicon_baseline(capsys):
    call_command("sentiment_bench", "--repeat", "1")
    printed = capsys.readouterr().out
    lines = {line.split()[0] + " " + line.split()[1]: line for line in printed.splitlines() if "p50" in line}
    assert set(lines) == {"lexicon baseline", "trained model"}
    assert all("CPU p50" in line and "wall p50" in line for line in lines.values())
