"""Text → features for the trained sentiment model (kruzhok/feedback/sentiment_classifier.py).

The same functions run when the model is trained and when it classifies a text, so training and use
cannot drift apart. Features are plain strings (counted, weighted by TF-IDF, then scored linearly):
- word features: normalised words, «не»/«not» glued to the next word («не_нравится»), word pairs;
- lexicon features: each RuSentiLex/Kruzhok lexicon hit adds «lex:pos» or «lex:neg» (flipped by a
  negation). They carry the lexicon into languages and words the tweets never showed: an English
  «terrible» fires the same «lex:neg» the model learnt from Russian tweets;
- emoji and bracket smileys («)))» is a smile in Russian chats) as «emo:pos» / «emo:neg»;
- character 2–5-grams inside words, which cover Russian inflection without a morphological analyser.
"""

import re
from functools import lru_cache

from kruzhok.feedback.sentiment_lexicon import NEGATORS, lexicon, stem

# A text longer than this is judged by its beginning: feedback is short, and a 1 MB paste must not
# cost seconds of CPU.
MAX_CHARS = 5000

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HTML_TAG = re.compile(r"</?[a-z][^<>]{0,200}>", re.IGNORECASE)
# «(см. расписание)» is an aside, not a frown and a smile: brackets with words inside are dropped.
ASIDE = re.compile(r"\(([^()]{1,80})\)")
MENTION = re.compile(r"@\w+")
REPEAT = re.compile(r"(\w)\1{2,}")
DIGITS = re.compile(r"\d+")
TOKEN = re.compile(r"[a-zа-я]+(?:['-][a-zа-я]+)*|[.,;:!?]|\)+|\(+", re.IGNORECASE)
CLAUSE_END = set(".,;:!?")

POSITIVE_EMOJI = set("😀😁😂😃😄😅😆😊😇😉😍🥰😘😋😎🤗👍👏💪🙏❤💖💕💗💓💙💚💛💜🧡🎉🥳🌟⭐✨🔥🙂☺😻")
NEGATIVE_EMOJI = set("😞😟😠😡🤬😢😭😩😫😤😒😔😕🙁☹😣😖😨😰😱💔👎🤮🤢😓😿🥺")
SMILEYS_POS = (":)", ":-)", ":d", "=)", ";)", "xd")
SMILEYS_NEG = (":(", ":-(", ":'(", "=(")


def normalise(text: str) -> str:
    """Lower-cased, ё→е, links and @mentions replaced by placeholders, «ооочень» → «оочень»."""
    text = (text or "")[:MAX_CHARS].lower().replace("ё", "е")
    text = HTML_TAG.sub(" ", text)
    text = ASIDE.sub(r" \1 ", text)
    text = URL.sub(" url ", text)
    text = MENTION.sub(" @user ", text)
    text = DIGITS.sub("0", text)
    text = REPEAT.sub(r"\1\1", text)
    return text.replace("#", " ")


@lru_cache(maxsize=1)
def _lexicon_table() -> dict[str, float]:
    return lexicon()


def _lexicon_weight(word: str) -> float:
    table = _lexicon_table()
    weight = table.get(stem(word))
    if weight is None:
        weight = table.get(word)
    return weight or 0.0


def word_features(text: str) -> list[str]:
    """Words (negation glued on), word pairs, lexicon hits and emoji marks of an already normalised text."""
    features: list[str] = []
    words: list[str] = []
    negate_left = 0
    for raw in TOKEN.findall(text):
        if raw[0] in ")(":
            features.append("emo:pos" if raw[0] == ")" else "emo:neg")
            negate_left = 0
            continue
        if raw in CLAUSE_END:
            features.append("p:" + raw)
            negate_left = 0
            continue
        if raw in NEGATORS:
            negate_left = 2
            words.append(raw)
            continue
        token = ("не_" if negate_left else "") + raw
        features.append("w:" + token)
        weight = _lexicon_weight(raw)
        if weight:
            polar = weight > 0
            if negate_left:
                polar = not polar
            features.append("lex:pos" if polar else "lex:neg")
            if abs(weight) >= 1.5:
                features.append("lex:strong_pos" if polar else "lex:strong_neg")
        words.append(token)
        negate_left = max(0, negate_left - 1)
    features.extend(f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    for char in text:
        if char in POSITIVE_EMOJI:
            features.append("emo:pos")
        elif char in NEGATIVE_EMOJI:
            features.append("emo:neg")
    features.extend("emo:pos" for smiley in SMILEYS_POS if smiley in text)
    features.extend("emo:neg" for smiley in SMILEYS_NEG if smiley in text)
    return features


CHAR_WORD = re.compile(r"[a-zа-я]+")


def char_features(text: str, *, low: int = 2, high: int = 5) -> list[str]:
    """Character n-grams inside each word padded with spaces (like scikit-learn's ``char_wb``)."""
    grams: list[str] = []
    for word in CHAR_WORD.findall(text):
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if n > size:
                break
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams
