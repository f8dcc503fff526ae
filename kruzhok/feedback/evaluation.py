"""Scores a sentiment model on labelled texts: accuracy, macro-F1 and per-class precision/recall/F1,
plus SentiRuEval's official figure (mean F1 of positive and negative)."""

import csv
import xml.etree.ElementTree as ET  # noqa: S405 — reads local evaluation files we were given
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kruzhok.feedback.sentiment import LABELS, analyse

LABEL_ALIASES = {
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
    "-1": "negative",
    "0": "neutral",
    "1": "positive",
}


def evaluate(pairs: Iterable[tuple[str, str]], predict: Callable[[str], str] | None = None) -> dict:
    """Figures of ``predict`` (the shipped model by default) on (text, gold label) pairs."""
    predict = predict or (lambda text: analyse(text).label)
    return score([(gold, predict(text)) for text, gold in pairs])


def score(decisions: Iterable[tuple[str, str]]) -> dict:
    """Accuracy, macro-F1, F1(pos,neg) and per-class figures of (gold, guess) pairs."""
    counts = {label: {"tp": 0, "fp": 0, "fn": 0} for label in LABELS}
    total = correct = 0
    for gold, guess in decisions:
        total += 1
        if guess == gold:
            correct += 1
            counts[gold]["tp"] += 1
        else:
            counts[guess]["fp"] += 1
            counts[gold]["fn"] += 1
    per_class = {}
    polar = [counts["positive"], counts["negative"]]
    micro_tp, micro_fp, micro_fn = (sum(c[key] for c in polar) for key in ("tp", "fp", "fn"))
    for label, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    return {
        "n": total,
        "accuracy": round(correct / total, 4) if total else 0.0,
        "macro_f1": round(sum(v["f1"] for v in per_class.values()) / len(per_class), 4),
        "f1_pos_neg": round((per_class["positive"]["f1"] + per_class["negative"]["f1"]) / 2, 4),
        # SentiRuEval's F-micro: one F1 over the positive and negative decisions pooled.
        "f1_micro_pos_neg": round(2 * micro_tp / (2 * micro_tp + micro_fp + micro_fn), 4)
        if micro_tp
        else 0.0,
        "per_class": per_class,
    }


def read_csv(path: Path, *, text_column: str, label_column: str) -> list[tuple[str, str]]:
    pairs = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"columns not found: {', '.join(sorted(missing))}")
        for row in reader:
            label = LABEL_ALIASES.get((row[label_column] or "").strip().lower())
            if label is not None:
                pairs.append((row[text_column] or "", label))
    return pairs


@dataclass(frozen=True)
class Tweet:
    """One SentiRuEval tweet: its text and the label towards each company it mentions."""

    text: str
    entities: dict[str, str]  # company column → negative / neutral / positive

    @property
    def label(self) -> str | None:
        """The tweet's one label when all its companies share it; None when they disagree."""
        labels = set(self.entities.values())
        return labels.pop() if len(labels) == 1 else None


def read_sentirueval(path: Path) -> list[Tweet]:
    """Tweets of a SentiRuEval phpMyAdmin XML dump (one <table> per tweet, a column per company holding
    1 / 0 / -1, or NULL when not mentioned). The rare 2015 extra marks «+-» and «--» are left out."""
    tweets = []
    tree = ET.parse(path)  # noqa: S314
    for table in tree.iter("table"):
        columns = {col.get("name"): (col.text or "").strip() for col in table.iter("column")}
        text = columns.pop("text", "")
        for meta in ("id", "twitid", "date"):
            columns.pop(meta, None)
        entities = {name: LABEL_ALIASES[v] for name, v in columns.items() if v in ("-1", "0", "1")}
        if entities:
            tweets.append(Tweet(text=text, entities=entities))
    return tweets


def read_sentirueval_xml(path: Path) -> list[tuple[str, str]]:
    """Tweet-level pairs: the one label all mentioned companies share (mixed tweets are left out)."""
    return [(tweet.text, tweet.label) for tweet in read_sentirueval(path) if tweet.label]


def sentirueval_scores(tweets: list[Tweet], predict: Callable[[str], str]) -> dict:
    """SentiRuEval figures of a tweet-level classifier, two ways (each tweet is classified once):
    - ``tweet``: one label per tweet when all its companies share it; the few tweets whose companies
      disagree (11 of 3,313 banks, 49 of 2,247 telecom in 2016) are left out. This is the reading that
      reproduces the organisers' own baseline (all negative: 0.3144 / 0.1875 here, 0.3146 / 0.1885
      in their table, TKK / banks);
    - ``entity``: every (tweet, company) pair is scored, the company getting its tweet's label.
    The official metric is ``f1_pos_neg``: F1 of positive and F1 of negative, averaged."""
    guesses = [predict(tweet.text) for tweet in tweets]
    by_tweet = [(tweet.label, guess) for tweet, guess in zip(tweets, guesses, strict=True) if tweet.label]
    by_entity = [
        (gold, guess)
        for tweet, guess in zip(tweets, guesses, strict=True)
        for gold in tweet.entities.values()
    ]
    return {"tweet": score(by_tweet), "entity": score(by_entity)}
