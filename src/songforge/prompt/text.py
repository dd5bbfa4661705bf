"""Text normalisation shared by the prompt readers: tokens with offsets, a light stemmer, stop
words and a fuzzy look-up for misspellings.

Every reader sees the same tokens, so "Lo-Fi", "lo fi" and "lo‑fi" meet, "drum & bass" and
"drum'n'bass" both read "drum and bass", and "driving"/"drives"/"drive" share the stem "driv"."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")
_APOSTROPHES = re.compile(r"['’]")
_QUOTED_N = re.compile(r"['’]n['’]")  # "drum'n'bass": same length, so offsets hold

# Tokens that join words inside names: "&" and the "n" of "rock 'n' roll" both read "and".
_TOKEN_ALIASES = {"&": "and", "n": "and"}


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated string (easier to read and edit)."""
    return frozenset(text.split())


STOPWORDS = word_set(
    """a an the and or but if of to in on at by for with from into onto over under about
    through during before after above below up down out off again then once here there when
    where why how all any both each few more most other some such no nor not only own same so
    than too very can will just dont should now i me my myself we our ours you your yours he him
    his she her hers it its they them their what which who whom this that these those am is are
    was were be been being have has had having do does did doing would could might must shall
    like make made makes making want wanted need please give me something some kind sort type
    lot lots bit really quite maybe also get gets got im ive id let lets us one ones thing
    song songs track tracks music tune tunes piece sound sounds sounding style genre vibe feel
    feeling feels kinda sorta gonna wanna write written create compose play played playing"""
)


def fold(text: str) -> str:
    """Lower-case with accents stripped ("Beyoncé" → "beyonce", "Motörhead" → "motorhead")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the prompt: its normal form, its stem and where it sits in the prompt."""

    text: str
    stem: str
    start: int
    end: int


def stem(word: str) -> str:
    """A light suffix stripper (not Porter): enough for "melancholy"/"melancholic",
    "driving"/"drives"/"drive", "dreamy"/"dreams" and "studying"/"study" to meet."""
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ingly", "edly", "ness", "ing", "ful", "ly", "ed"):
        if suffix == "ly" and w.endswith("oly"):
            continue  # "melancholy", "holy": not adverbs
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            root = w[: -len(suffix)]
            if any(v in root for v in "aeiouy"):
                w = root
                if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lsz":
                    w = w[:-1]  # "running" → "run", "chilled" keeps "chill"
            break
    if w.endswith("ical") and len(w) > 6:
        w = w[:-4]
    elif w.endswith(("ic", "al")) and len(w) > 5:
        w = w[:-2]
    if w.endswith(("y", "e", "i")) and len(w) > 3:
        w = w[:-1]
    return w


@lru_cache(maxsize=1 << 16)
def _word(raw: str) -> tuple[str, str]:
    """A matched word's token text and stem (the style and lexicon texts repeat their words:
    building the indexes tokenizes ~11,000 words, ~2,000 of them distinct)."""
    folded = fold(_APOSTROPHES.sub("", raw))
    word = _TOKEN_ALIASES.get(folded, folded)
    return word, stem(word)


def tokenize(text: str) -> tuple[Token, ...]:
    """Split a prompt into word tokens (numbers included) with character offsets."""
    tokens = []
    for match in _WORD.finditer(_QUOTED_N.sub(" n ", text)):
        word, root = _word(match.group())
        tokens.append(Token(word, root, match.start(), match.end()))
    return tuple(tokens)


def normalise_phrase(text: str) -> tuple[str, ...]:
    """The token texts of a phrase, as the prompt reader would see them."""
    return tuple(t.text for t in tokenize(text))


class FuzzyIndex:
    """Closest known word to a misspelt one ("metalica" → "metallica"), cached per word.

    Only words of at least ``min_length`` letters are considered on either side: short words
    are one keystroke from too many others."""

    def __init__(self, words: frozenset[str], *, cutoff: float = 0.85, min_length: int = 5) -> None:
        self._cutoff = cutoff
        self._min_length = min_length
        self._by_initial: dict[str, list[str]] = {}
        for word in sorted(words):
            if len(word) >= min_length and word.isalpha():
                self._by_initial.setdefault(word[0], []).append(word)
        self._cache: dict[str, tuple[str, float] | None] = {}

    def closest(self, word: str) -> tuple[str, float] | None:
        """The closest known word and its similarity ratio (0..1), or None below the cutoff."""
        if word in self._cache:
            return self._cache[word]
        found: tuple[str, float] | None = None
        if len(word) >= self._min_length and word.isalpha():
            candidates = [
                w for w in self._by_initial.get(word[0], ()) if abs(len(w) - len(word)) <= 2
            ]
            matches = difflib.get_close_matches(word, candidates, n=1, cutoff=self._cutoff)
            if matches:
                ratio = difflib.SequenceMatcher(None, word, matches[0]).ratio()
                found = (matches[0], ratio)
        self._cache[word] = found
        return found


__all__ = [
    "STOPWORDS",
    "FuzzyIndex",
    "Token",
    "fold",
    "normalise_phrase",
    "stem",
    "tokenize",
    "word_set",
]
