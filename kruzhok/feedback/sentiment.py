"""Sentiment of a piece of feedback: negative, neutral or positive, with a confidence and the words that
decided it (shown to staff, so a manager can see *why* a text was called negative).

`analyse(text)` uses the trained model committed in kruzhok/feedback/model/ (TF-IDF + logistic
regression, trained on SentiRuEval-2015 tweets, our own Russian/English feedback and the RuSentiLex
lexicon by `manage.py sentiment_train`; figures in docs/sentiment.md). Nothing is downloaded at run time.

Optional: when ``SENTIMENT_TRANSFORMER_PATH`` names a local Hugging Face text-classification model (and
the `transformers` package is installed), that model decides the label instead; the linear model still
explains. A model that cannot be loaded is logged once and the linear model is used.
"""

import logging
from functools import lru_cache

from django.conf import settings

from kruzhok.feedback.sentiment_classifier import SentimentModel
from kruzhok.feedback.sentiment_lexicon import (  # noqa: F401 — the public names of this module
    DATA,
    LABELS,
    NEGATIVE,
    NEGATORS,
    NEUTRAL,
    POSITIVE,
    WORD,
    Sentiment,
    lexicon,
    lexicon_analyse,
    stem,
)

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def model() -> SentimentModel:
    return SentimentModel.load()


def analyse(text: str) -> Sentiment:
    text = text or ""
    if not text.strip():
        # Nothing was said: neutral, and sure of it.
        return Sentiment(NEUTRAL, 1.0, 0.0, [])
    prediction = model().predict(text)
    label, probabilities = prediction.label, prediction.probabilities
    transformer = _transformer(getattr(settings, "SENTIMENT_TRANSFORMER_PATH", ""))
    if transformer is not None:
        probabilities = _transformer_probabilities(transformer, text) or probabilities
        label = max(probabilities, key=probabilities.get)
    terms = prediction.terms if label == prediction.label else []
    return Sentiment(
        label,
        round(probabilities[label], 2),
        round(probabilities[POSITIVE] - probabilities[NEGATIVE], 2),
        terms,
    )


@lru_cache(maxsize=2)
def _transformer(path: str):
    if not path:
        return None
    try:
        from transformers import pipeline  # an optional dependency, not in requirements.txt

        return pipeline("text-classification", model=path, tokenizer=path, top_k=None, truncation=True)
    except Exception:  # a missing package or a broken model must not stop feedback from being filed
        logger.exception("SENTIMENT_TRANSFORMER_PATH=%s could not be loaded; using the linear model", path)
        return None


def _transformer_probabilities(transformer, text: str) -> dict[str, float] | None:
    """Maps the model's own label names (negative/neutral/positive in any case or language prefix)."""
    scores = transformer(text[:2000])
    scores = scores[0] if scores and isinstance(scores[0], list) else scores
    probabilities = dict.fromkeys(LABELS, 0.0)
    for item in scores:
        name = str(item["label"]).lower()
        for label in LABELS:
            if name.startswith(label[:3]):
                probabilities[label] += float(item["score"])
    return probabilities if sum(probabilities.values()) > 0 else None
