"""Scores a sentiment model on labelled texts: accuracy, macro-F1 and per-class precision/recall/F1,
plus SentiRuEval's official figure (mean F1 of positive and negative)."""

import csv
import xml.etree.ElementTree as ET  # noqa: S405 — reads local evaluation files we were given
from collections.abc import Callable, Iterable
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
    predict = predict or (lambda text: analyse(text).label)
    counts = {label: {"tp": 0, "fp": 0, "fn": 0} for label in LABELS}
    total = correct = 0
    for text, gold in pairs:
        guess = predict(text)
        total += 1
        if guess == gold:
            correct += 1
            counts[gold]["tp"] += 1
        else:
            counts[guess]["fp"] += 1
            counts[gold]["fn"] += 1
    per_class = {}
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


def read_sentirueval_xml(path: Path) -> list[tuple[str, str]]:
    """Tweet-level labels from a SentiRuEval dump: the one label all mentioned companies share
    (tweets with mixed or no labels are left out)."""
    pairs = []
    tree = ET.parse(path)  # noqa: S314
    for table in tree.iter("table"):
        columns = {col.get("name"): (col.text or "").strip() for col in table.iter("column")}
        text = columns.pop("text", "")
        for meta in ("id", "twitid", "date"):
            columns.pop(meta, None)
        labels = {LABEL_ALIASES.get(v) for v in columns.values() if v in ("-1", "0", "1")}
        if len(labels) == 1:
            pairs.append((text, labels.pop()))
    return pairs
