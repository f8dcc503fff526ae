"""Training data and the training recipe of the sentiment model (`manage.py sentiment_train`).

Sources, all read in place from the shared data folder (never copied into the project):
- SentiRuEval-2015 tweets about banks and telecom operators, both 2015 files of both domains — the
  training set of SentiRuEval-2016. A tweet whose companies carry different labels is left out;
- CEDR sentences (optional, ``--cedr``): joy → positive, sadness or anger alone → negative, no emotion →
  neutral, at half weight;
- our own labelled after-school feedback in Russian and English (kruzhok/feedback/data/feedback_seed.tsv),
  at a higher weight because it is what Kruzhok actually reads.
"""

import csv
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kruzhok.feedback.evaluation import read_sentirueval, sentirueval_scores
from kruzhok.feedback.sentiment_classifier import LABELS, SentimentModel, fit_model
from kruzhok.feedback.sentiment_lexicon import DATA, NEGATIVE, NEUTRAL, lexicon_analyse

SENTIRUEVAL_2015 = (
    "ru_sentirueval_tweets/2015_banks/train.xml",
    "ru_sentirueval_tweets/2015_banks/test_etalon.xml",
    "ru_sentirueval_tweets/2015_telecoms/train.xml",
    "ru_sentirueval_tweets/2015_telecoms/test_etalon.xml",
)
TEST_2016 = {
    "banks": "ru_sentirueval_tweets/2016/banks_test_etalon.xml",
    "telecom": "ru_sentirueval_tweets/2016/tkk_test_etalon.xml",
}
CEDR_TRAIN = "ru_cedr/cedr-main-train.csv"
SEED = DATA / "feedback_seed.tsv"

# The companies SentiRuEval asks about. Their names are replaced by one word in training and test tweets:
# otherwise the model learns "this bank was in trouble in 2014" rather than how people express a tone.
COMPANY = re.compile(
    r"\b(?:сбер\w*|sber\w*|втб\w*|vtb\w*|газпром\w*|gazprom\w*|альфа[- ]?банк\w*|альфа\w*|alfa\w*|"
    r"банк\w* москв\w*|райф\w*|raif\w*|уралсиб\w*|uralsib\w*|россельхоз\w*|рсхб|rshb|"
    r"билайн\w*|beeline\w*|мтс|mts|мегафон\w*|megafon\w*|теле ?2|tele ?2|ростелеком\w*|rostelecom\w*|"
    r"комстар\w*|comstar\w*|скайлинк\w*|skylink\w*)",
    re.IGNORECASE,
)


def mask_companies(text: str) -> str:
    return COMPANY.sub(" компания ", text)


@dataclass
class Corpus:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, source: str, text: str, label: str, weight: float = 1.0) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.weights.append(weight)
        counts = self.sources.setdefault(source, dict.fromkeys(LABELS, 0))
        counts[label] += 1


def sentirueval_tweets(data: Path, files=SENTIRUEVAL_2015) -> list[tuple[str, str]]:
    pairs = []
    for name in files:
        for tweet in read_sentirueval(data / name):
            if tweet.label:
                pairs.append((mask_companies(tweet.text), tweet.label))
    return pairs


def cedr_sentences(data: Path) -> list[tuple[str, str]]:
    pairs = []
    with (data / CEDR_TRAIN).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            emotions = set(re.findall(r"\d+", row["labels"]))  # 0 joy, 1 sadness, 2 surprise, 3 fear, 4 anger
            if not emotions:
                pairs.append((row["text"], "neutral"))
            elif emotions == {"0"}:
                pairs.append((row["text"], "positive"))
            elif emotions <= {"1", "4"}:
                pairs.append((row["text"], "negative"))
    return pairs


def seed_feedback(path: Path = SEED) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, _, text = line.partition("\t")
            if label in LABELS and text:
                pairs.append((text, label))
    return pairs


def build_corpus(data: Path, *, cedr: bool = False, seed_weight: float = 5.0) -> Corpus:
    corpus = Corpus()
    for text, label in sentirueval_tweets(data):
        corpus.add("sentirueval_2015", text, label)
    if cedr:
        for text, label in cedr_sentences(data):
            corpus.add("cedr", text, label, 0.5)
    for text, label in seed_feedback():
        corpus.add("kruzhok_seed", text, label, seed_weight)
    return corpus


def train(
    data: Path, *, c: float = 0.5, cedr: bool = False, max_char_features: int | None = 60_000
) -> tuple[SentimentModel, dict]:
    """Fits the model on the corpus and returns it with the metadata saved beside it."""
    import sklearn

    started = time.monotonic()
    corpus = build_corpus(data, cedr=cedr)
    model = fit_model(
        corpus.texts, corpus.labels, sample_weight=corpus.weights, c=c, max_char_features=max_char_features
    )
    metadata = {
        "model": "TF-IDF (words, word pairs, lexicon hits, emoji; character 2-5-grams) + multinomial logistic "
        "regression, balanced class weights",
        "recipe": {
            "c": c,
            "cedr": cedr,
            "max_char_features": max_char_features,
            "word_min_df": 2,
            "char_min_df": 3,
        },
        "training_rows": corpus.sources,
        "features": {"words": len(model.word_terms), "characters": len(model.chars.index)},
        "labels": list(LABELS),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    return model, metadata


def sentirueval_2016(data: Path, model: SentimentModel) -> dict:
    """The SentiRuEval-2016 test of a model trained on 2015 data, beside the baselines measured the same way:
    {domain: {method: {"tweet": figures, "entity": figures}}} (see evaluation.sentirueval_scores).
    Company names are masked in the test tweets as they were in training."""
    methods = {
        "majority class (neutral)": lambda text: NEUTRAL,
        "all negative (organisers' baseline)": lambda text: NEGATIVE,
        "lexicon (RuSentiLex + ours)": lambda text: lexicon_analyse(text).label,
        "trained model": lambda text: model.predict(mask_companies(text), explain=False).label,
    }
    figures: dict = {}
    for domain, name in TEST_2016.items():
        tweets = read_sentirueval(data / name)
        figures[domain] = {method: sentirueval_scores(tweets, predict) for method, predict in methods.items()}
    return figures
