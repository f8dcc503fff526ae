"""The trained sentiment model: TF-IDF over word and character features, multinomial logistic regression.

Trained with scikit-learn (`fit_model`), then exported to plain arrays (`sentiment.npz`, loaded with
``allow_pickle=False``: no code runs on load) and applied here with numpy alone, so classifying a text
needs neither the training environment nor a pickle. `fit_model` checks that the exported arrays give
the same scores as the scikit-learn pipeline before it returns.
"""

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kruzhok.feedback.sentiment_text import char_features, normalise, word_features

MODEL_DIR = Path(__file__).resolve().parent / "model"
ARRAYS = "sentiment.npz"
METADATA = "sentiment.json"
LABELS = ("negative", "neutral", "positive")


@dataclass
class Prediction:
    label: str
    probabilities: dict[str, float]
    terms: list[str] = field(default_factory=list)


def _features(text: str) -> tuple[list[str], list[str]]:
    normal = normalise(text)
    return word_features(normal), char_features(normal)


class _Block:
    """One TF-IDF block (words or characters): vocabulary, idf, sublinear tf and l2 norm, as scikit-learn's
    ``TfidfVectorizer(sublinear_tf=True)`` computes them."""

    def __init__(self, terms: Sequence[str], idf: np.ndarray, offset: int):
        self.index = {term: offset + i for i, term in enumerate(terms)}
        self.idf = idf
        self.offset = offset

    def vector(self, features: list[str]) -> tuple[list[int], np.ndarray]:
        columns, values = [], []
        for term, count in Counter(features).items():
            column = self.index.get(term)
            if column is not None:
                columns.append(column)
                values.append((1.0 + math.log(count)) * self.idf[column - self.offset])
        weights = np.asarray(values, dtype=np.float64)
        norm = float(np.sqrt((weights**2).sum()))
        return columns, weights / norm if norm else weights


class SentimentModel:
    def __init__(self, *, word_terms, word_idf, char_terms, char_idf, coef, intercept, metadata=None):
        self.words = _Block(word_terms, np.asarray(word_idf, dtype=np.float64), 0)
        self.chars = _Block(char_terms, np.asarray(char_idf, dtype=np.float64), len(word_terms))
        self.word_terms = list(word_terms)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.metadata = metadata or {}

    # --- applying -----------------------------------------------------------------------------------
    def decision(self, text: str) -> tuple[np.ndarray, list[str], list[int], np.ndarray]:
        words, chars = _features(text)
        word_columns, word_values = self.words.vector(words)
        char_columns, char_values = self.chars.vector(chars)
        columns = word_columns + char_columns
        values = np.concatenate([word_values, char_values])
        logits = self.coef[:, columns] @ values + self.intercept if columns else self.intercept.copy()
        return logits, words, word_columns, word_values

    def predict(self, text: str, *, explain: bool = True) -> Prediction:
        logits, words, word_columns, word_values = self.decision(text)
        exp = np.exp(logits - logits.max())
        probabilities = exp / exp.sum()
        label = LABELS[int(probabilities.argmax())]
        terms = self._terms(label, words, word_columns, word_values) if explain else []
        return Prediction(
            label, {name: float(p) for name, p in zip(LABELS, probabilities, strict=True)}, terms
        )

    def _terms(self, label: str, features: list[str], columns: list[int], values: np.ndarray) -> list[str]:
        """Words that pushed the text towards its label, strongest first («грубит −», «не нравится −»).
        A word earns its own weight plus its share of the lexicon feature it fired."""
        if label == "neutral" or not columns:
            return []
        # Positive minus negative weight: > 0 pulls towards positive, < 0 towards negative.
        pull = dict(zip(columns, (self.coef[2, columns] - self.coef[0, columns]) * values, strict=True))
        by_term = {self.word_terms[column]: value for column, value in pull.items()}
        lexicon_hits = Counter(f for f in features if f.startswith("lex:"))
        by_word: dict[str, float] = {}
        previous = ""
        for feature in features:
            if feature.startswith("w:"):
                previous = feature[2:]
                by_word.setdefault(previous, by_term.get(feature, 0.0))
            elif feature.startswith("lex:") and previous:
                by_word[previous] += by_term.get(feature, 0.0) / lexicon_hits[feature]
        sign = 1 if label == "positive" else -1
        ranked = sorted(
            ((word, value) for word, value in by_word.items() if sign * value > 0 and _shown(word)),
            key=lambda pair: -sign * pair[1],
        )
        if not ranked:
            return []
        strongest = abs(ranked[0][1])
        return [
            f"{word.replace('не_', 'не ', 1)} {'+' if value > 0 else '−'}"
            for word, value in ranked[:5]
            if abs(value) >= strongest / 4
        ]

    # --- storing -----------------------------------------------------------------------------------
    def save(self, directory: Path, *, metadata: dict) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / ARRAYS,
            word_terms=np.array("\n".join(self.word_terms)),
            word_idf=self.words.idf.astype(np.float32),
            char_terms=np.array("\n".join(self.chars.index)),
            char_idf=self.chars.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
        )
        (directory / METADATA).write_text(
            json.dumps(metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> "SentimentModel":
        with np.load(directory / ARRAYS, allow_pickle=False) as arrays:
            metadata_path = directory / METADATA
            metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.exists() else {}
            return cls(
                word_terms=str(arrays["word_terms"]).split("\n"),
                word_idf=arrays["word_idf"],
                char_terms=str(arrays["char_terms"]).split("\n"),
                char_idf=arrays["char_idf"],
                coef=arrays["coef"],
                intercept=arrays["intercept"],
                metadata=metadata,
            )


def fit_model(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    sample_weight: Sequence[float] | None = None,
    c: float = 0.5,
    word_min_df: int = 2,
    char_min_df: int = 3,
    max_char_features: int | None = None,
) -> SentimentModel:
    """Fits the scikit-learn pipeline with balanced class weights and exports it to a SentimentModel."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    features = [_features(text) for text in texts]
    word_vectoriser = TfidfVectorizer(
        analyzer=_identity, min_df=word_min_df, sublinear_tf=True, dtype=np.float64
    )
    char_vectoriser = TfidfVectorizer(
        analyzer=_identity,
        min_df=char_min_df,
        sublinear_tf=True,
        max_features=max_char_features,
        dtype=np.float64,
    )
    x = sparse.hstack(
        [
            word_vectoriser.fit_transform([words for words, _ in features]),
            char_vectoriser.fit_transform([chars for _, chars in features]),
        ]
    ).tocsr()
    y = np.array([LABELS.index(label) for label in labels])
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    # Balanced classes: positive tweets are rare, and the official metric averages positive and negative F1.
    class_weight = weights.sum() / (len(LABELS) * np.bincount(y, weights=weights, minlength=len(LABELS)))
    classifier = LogisticRegression(C=c, max_iter=3000)
    classifier.fit(x, y, sample_weight=weights * class_weight[y])

    model = SentimentModel(
        word_terms=word_vectoriser.get_feature_names_out().tolist(),
        word_idf=word_vectoriser.idf_,
        char_terms=char_vectoriser.get_feature_names_out().tolist(),
        char_idf=char_vectoriser.idf_,
        coef=classifier.coef_,
        intercept=classifier.intercept_,
    )
    # The exported arrays must score exactly as the fitted pipeline does.
    sample = list(range(0, len(texts), max(1, len(texts) // 200)))
    expected = classifier.decision_function(x[sample])
    got = np.array([model.decision(texts[i])[0] for i in sample])
    if not np.allclose(expected, got, atol=1e-6):
        raise RuntimeError("the exported model does not reproduce scikit-learn's scores")
    return model


# Words too common to explain anything to a manager.
_NOT_SHOWN = set(
    "url user the and was was were are is it to of in on at for a an this that with my our we he she they "
    "и в во на с со а но что это как так мы он она они я у к по за из от до же ли бы то был была были".split()
)


def _shown(word: str) -> bool:
    return len(word) > 2 and word not in _NOT_SHOWN


def _identity(features: list[str]) -> list[str]:
    return features
