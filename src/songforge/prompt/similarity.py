"""TF-IDF similarity between a prompt and each style's own words (name, aliases, tags, moods,
description), so words the lexicon has never seen still land near the right genre.

Two views of the text, each TF-IDF weighted over the catalog's styles and L2-normalised: word
stems (unigrams and bigrams) and character 3–5-grams inside words, which catch misspellings and
word families ("synthy" ~ "synth", "orchestration" ~ "orchestral"). The vectoriser is built
once per catalog and cached while the catalog lives."""

from __future__ import annotations

import math
import weakref
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from songforge.prompt.text import STOPWORDS, tokenize
from songforge.styles.catalog import StyleCatalog
from songforge.styles.schema import Style

WORD_VIEW_WEIGHT = 0.6
CHAR_VIEW_WEIGHT = 0.4
CHAR_NGRAM_SIZES = (3, 4, 5)
ALIAS_REPEAT = 2  # a style's own names count twice in its document


def _words(text: str) -> list[str]:
    return [t.stem for t in tokenize(text) if t.text not in STOPWORDS and len(t.text) > 1]


def word_features(text: str) -> Counter[str]:
    """Stems and adjacent-stem bigrams of the content words."""
    stems = _words(text)
    features = Counter(stems)
    features.update(f"{a} {b}" for a, b in pairwise(stems))
    return features


def _char_grams(word: str) -> list[str]:
    if word in STOPWORDS or not word.isalpha() or len(word) < 3:
        return []
    padded = f" {word} "
    return [padded[i : i + n] for n in CHAR_NGRAM_SIZES for i in range(len(padded) - n + 1)]


def char_features(text: str) -> Counter[str]:
    """Character n-grams within each content word, padded so word edges count."""
    features: Counter[str] = Counter()
    for token in tokenize(text):
        features.update(_char_grams(token.text))
    return features


def style_document(style: Style) -> str:
    """The words a style is described by, its own names weighted up."""
    names = " . ".join((style.name, *style.aliases))
    return " . ".join(
        [names] * ALIAS_REPEAT
        + [" . ".join(style.tags), " . ".join(style.moods), style.description]
    )


@dataclass(frozen=True)
class _View:
    vocabulary: dict[str, int]
    idf: NDArray[np.float64]
    matrix: NDArray[np.float64]  # styles × features, rows L2-normalised

    def vector(self, features: Counter[str]) -> NDArray[np.float64]:
        vec = np.zeros(len(self.vocabulary))
        for feature, count in features.items():
            column = self.vocabulary.get(feature)
            if column is not None:
                vec[column] = (1.0 + math.log(count)) * self.idf[column]
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec


def _fit(documents: list[Counter[str]]) -> _View:
    vocabulary: dict[str, int] = {}
    for doc in documents:
        for feature in sorted(doc):
            vocabulary.setdefault(feature, len(vocabulary))
    df = np.zeros(len(vocabulary))
    for doc in documents:
        for feature in doc:
            df[vocabulary[feature]] += 1
    n = len(documents)
    # no "+1" floor: a feature every style shares says nothing about which style is meant
    idf = np.log((1.0 + n) / (1.0 + df))
    matrix = np.zeros((n, len(vocabulary)))
    for row, doc in enumerate(documents):
        for feature, count in doc.items():
            column = vocabulary[feature]
            matrix[row, column] = (1.0 + math.log(count)) * idf[column]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return _View(vocabulary, idf, matrix)


@dataclass(frozen=True)
class StyleIndex:
    """TF-IDF vectors of every style's document, ready to compare prompts against."""

    style_ids: tuple[str, ...]
    words: _View
    chars: _View

    def similarities(self, text: str) -> dict[str, float]:
        """Cosine similarity (0..1) of the text to every style, blending both views."""
        return self.analyse(text)[0]

    def analyse(
        self, text: str, limit: int = 3
    ) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
        """Similarity to every style, and for each style the prompt words that pull towards it
        the most (each word's share of the cosine: its stem and its n-grams)."""
        q_words = self.words.vector(word_features(text))
        q_chars = self.chars.vector(char_features(text))
        sims = WORD_VIEW_WEIGHT * (self.words.matrix @ q_words)
        sims += CHAR_VIEW_WEIGHT * (self.chars.matrix @ q_chars)
        shares: dict[str, NDArray[np.float64]] = {}
        for token in tokenize(text):
            if token.text in STOPWORDS or token.text in shares:
                continue
            w_cols = [c for c in (self.words.vocabulary.get(token.stem),) if c is not None]
            c_cols = sorted(
                {
                    c
                    for g in _char_grams(token.text)
                    if (c := self.chars.vocabulary.get(g)) is not None
                }
            )
            share = WORD_VIEW_WEIGHT * (self.words.matrix[:, w_cols] @ q_words[w_cols])
            share += CHAR_VIEW_WEIGHT * (self.chars.matrix[:, c_cols] @ q_chars[c_cols])
            shares[token.text] = share
        top: dict[str, tuple[str, ...]] = {}
        for row, style_id in enumerate(self.style_ids):
            ranked = sorted(
                ((w, float(v[row])) for w, v in shares.items() if v[row] > 0.01),
                key=lambda wv: (-wv[1], wv[0]),
            )
            top[style_id] = tuple(w for w, _ in ranked[:limit])
        return {sid: float(v) for sid, v in zip(self.style_ids, sims, strict=True)}, top


def build_style_index(catalog: StyleCatalog) -> StyleIndex:
    styles = list(catalog)
    documents = [style_document(s) for s in styles]
    return StyleIndex(
        style_ids=tuple(s.id for s in styles),
        words=_fit([word_features(d) for d in documents]),
        chars=_fit([char_features(d) for d in documents]),
    )


_CACHE: weakref.WeakKeyDictionary[StyleCatalog, StyleIndex] = weakref.WeakKeyDictionary()


def remember_style_index(catalog: StyleCatalog, index: StyleIndex) -> None:
    """Use ``index`` (built earlier, e.g. loaded from a cache) for ``catalog``."""
    _CACHE[catalog] = index


def style_index(catalog: StyleCatalog) -> StyleIndex:
    """The TF-IDF index of a catalog, built on first use and kept while the catalog lives."""
    index = _CACHE.get(catalog)
    if index is None:
        index = _CACHE[catalog] = build_style_index(catalog)
    return index


__all__ = [
    "StyleIndex",
    "build_style_index",
    "char_features",
    "remember_style_index",
    "style_index",
    "word_features",
]
