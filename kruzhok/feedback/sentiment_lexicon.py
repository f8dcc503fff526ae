"""The lexicon model: an interpretable baseline, and the lexicon features of the trained model.

Each word is reduced to a crude stem (ending stripped), looked up in a polarity lexicon, and the hits are
summed with negation ("не нравится", "not good") flipping the next words. The result is a label, a
confidence and the words that decided it.

Lexicons, both shipped in kruzhok/feedback/data/:
- lexicon_ru.tsv: derived from RuSentiLex 2017 (Loukachevitch & Levchik, LREC 2016) by
  `manage.py sentiment_lexicon_build` (single words with positive/negative polarity, stemmed), see
  docs/sentiment.md for origin and licence;
- lexicon_en.tsv: our own general English list (about 120 words);
- lexicon_extra.tsv: our own words for after-school feedback in Russian and English (teacher, price,
  schedule, a child's mood), written for Kruzhok, weighted higher than the general lexicon.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
LABELS = (NEGATIVE, NEUTRAL, POSITIVE)

WORD = re.compile(r"[a-zа-яё]+(?:[-'][a-zа-яё]+)?|[.,!?;:()]", re.IGNORECASE)
PUNCTUATION = set(".,!?;:()")
NEGATORS = {"не", "нет", "ни", "нельзя", "not", "no", "never", "dont", "don't", "isnt", "wasnt", "nothing"}
INTENSIFIERS = {
    "очень",
    "совсем",
    "крайне",
    "слишком",
    "абсолютно",
    "very",
    "so",
    "really",
    "too",
    "extremely",
}

_RU_ENDINGS = sorted(
    """
    иями ями ами ыми ими ого его ому ему ыми ими ая яя ое ее ые ие ый ий ой ей ом ем ам ям ах ях ую юю
    ешь ет ем ете ут ют ишь ит им ите ат ят ла ли ло ть ти ться тся лся лась лись лось ешься ется
    ость ости остью ностью ия ие ья ье ию ью ь ы и а я о е у ю й ах ов ев ей
    ся сь
    """.split(),
    key=len,
    reverse=True,
)
_EN_ENDINGS = sorted("ingly edly ing ed ly es s".split(), key=len, reverse=True)


def stem(word: str) -> str:
    """Strips one inflectional ending; the same on lexicon words and on text, so they meet."""
    word = word.lower().replace("ё", "е")
    cyrillic = any("а" <= ch <= "я" for ch in word)
    endings = _RU_ENDINGS if cyrillic else _EN_ENDINGS
    # Reflexive "-ся" first, then one ending; a stem keeps at least three letters.
    for suffix in ("ся", "сь") if cyrillic else ():
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _read(path: Path) -> dict[str, float]:
    table: dict[str, float] = {}
    if not path.exists():
        return table
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2:
            try:
                table[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return table


@lru_cache(maxsize=1)
def lexicon() -> dict[str, float]:
    table = _read(DATA / "lexicon_ru.tsv")
    # Our own words (English, then the after-school ones) win over the general lexicon.
    for name in ("lexicon_en.tsv", "lexicon_extra.tsv"):
        for word, weight in _read(DATA / name).items():
            table[stem(word)] = weight
    return table


@dataclass
class Sentiment:
    label: str
    confidence: float
    score: float
    terms: list[str] = field(default_factory=list)


def lexicon_analyse(text: str) -> Sentiment:
    table = lexicon()
    tokens = [t.lower() for t in WORD.findall(text or "")]
    score, terms = 0.0, []
    negate_left, boost = 0, 1.0
    for token in tokens:
        if token in PUNCTUATION:
            # A negation ends with its clause: «не понравилось, было скучно».
            negate_left, boost = 0, 1.0
            continue
        if token in NEGATORS:
            negate_left = 2
            continue
        if token in INTENSIFIERS:
            boost = 1.5
            continue
        weight = table.get(stem(token))
        if weight is None:
            weight = table.get(token.replace("ё", "е"))
        if weight:
            value = weight * boost * (-1 if negate_left else 1)
            score += value
            terms.append(("не " if negate_left else "") + token + (" +" if value > 0 else " −"))
        boost = 1.0
        negate_left = max(0, negate_left - 1)
    hits = len(terms)
    if hits == 0:
        return Sentiment(NEUTRAL, 0.6, 0.0, [])
    if score >= 0.75:
        label = POSITIVE
    elif score <= -0.75:
        label = NEGATIVE
    else:
        return Sentiment(NEUTRAL, 0.5, round(score, 2), terms[:10])
    confidence = min(0.97, 0.55 + 0.12 * abs(score))
    return Sentiment(label, round(confidence, 2), round(score, 2), terms[:10])
