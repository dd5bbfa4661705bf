"""Finding genre aliases and lexicon concepts in a prompt's tokens.

One pass, longest phrase first, so "lo-fi hip hop" beats "hip hop", "drum and bass" beats "bass"
and "house party" beats "house". Each position tries the exact words, then their stems, then
(for a long single word) the closest known word. Negation ("no drums", "not too fast") and
intensity ("very slow", "slightly dark") are read from the words just before a hit."""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Literal

from songforge.prompt.lexicon import Concept, Lexicon
from songforge.prompt.text import (
    STOPWORDS,
    FuzzyIndex,
    Token,
    normalise_phrase,
    stem,
    tokenize,
    word_set,
)
from songforge.styles.catalog import StyleCatalog

MatchKind = Literal["exact", "stem", "fuzzy"]
MATCH_QUALITY: dict[MatchKind, float] = {"exact": 1.0, "stem": 0.9, "fuzzy": 0.5}
FUZZY_CUTOFF = 0.86
FUZZY_MIN_LENGTH = 6

_NEGATORS = word_set(
    "no not without never non avoid except dont zero minus nothing nor isnt shouldnt lose skip"
)
_INTENSIFIERS = {
    "very": 1.5, "really": 1.4, "super": 1.5, "extremely": 1.7, "so": 1.3, "ultra": 1.6,
    "incredibly": 1.6, "totally": 1.4, "deeply": 1.4, "insanely": 1.7, "hella": 1.5,
    "mega": 1.5, "crazy": 1.4, "truly": 1.3, "most": 1.3, "pure": 1.3, "maximum": 1.6,
    "slightly": 0.5, "somewhat": 0.6, "bit": 0.5, "little": 0.6, "mildly": 0.5, "kinda": 0.6,
    "sorta": 0.7, "fairly": 0.7, "less": 0.5, "touch": 0.6, "hint": 0.5,
}  # fmt: skip
_HEDGES = frozenset({"kind", "sort"})  # "kind of dark"
HEDGE_FACTOR = 0.7
# Words after which a named genre is a seasoning, not the dish: "lofi with jazz chords".
_MODIFIER_BEFORE = word_set("with plus hints hint touch touches elements influences bits")
_MODIFIER_AFTER = word_set(
    "influenced inspired tinged flavoured flavored infused elements touches undertones "
    "influences accents flavour flavor edge"
)
MODIFIER_FACTOR = 0.5
# Genre words that are also ordinary nouns: "a song about my house" is not house music.
_AMBIGUOUS_ALIASES = word_set(
    "house country trap metal rock garage jungle soul drill space grime ambient"
)
_DETERMINERS = word_set("my our your his her their the this that whole")
_MUSIC_NOUNS = word_set(
    "music song songs track tracks beat beats tune tunes vibe vibes style sound sounds feel "
    "record album mix set banger anthem ballad band groove jam"
)
AMBIGUOUS_FACTOR = 0.05


@dataclass(frozen=True, slots=True)
class AliasTarget:
    """A catalog name or alias of a style."""

    style_id: str
    alias: str


Target = Concept | AliasTarget


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase of the prompt matched to an alias or a concept."""

    target: Target
    words: tuple[str, ...]  # the prompt's words, normalised
    start: int  # token indices [start, end)
    end: int
    how: MatchKind
    weight: float  # match quality × intensity × context (0 when negated)
    negated: bool = False
    matched: str = ""  # the known word a misspelling was read as
    context: float = 1.0  # < 1 when a genre word is a seasoning or an ordinary noun here


@dataclass(frozen=True)
class PhraseIndex:
    """Aliases and lexicon terms by their exact words and by their stems."""

    exact: dict[tuple[str, ...], tuple[Target, ...]]
    stems: dict[tuple[str, ...], tuple[tuple[Target, tuple[str, ...]], ...]]  # with term words
    fuzzy: FuzzyIndex
    max_words: int


def _add(
    table: dict[tuple[str, ...], list[tuple[Target, tuple[str, ...]]]],
    key: tuple[str, ...],
    target: Target,
    words: tuple[str, ...],
) -> None:
    bucket = table.setdefault(key, [])
    if all(existing != target for existing, _ in bucket):
        bucket.append((target, words))


def build_index(lexicon: Lexicon, catalog: StyleCatalog) -> PhraseIndex:
    """Index every style name and alias in the catalog and every term in the lexicon."""
    exact: dict[tuple[str, ...], list[tuple[Target, tuple[str, ...]]]] = {}
    stems: dict[tuple[str, ...], list[tuple[Target, tuple[str, ...]]]] = {}

    def add(phrase: str, target: Target) -> None:
        tokens = tokenize(phrase)
        if tokens:
            words = tuple(t.text for t in tokens)
            _add(exact, words, target, words)
            _add(stems, tuple(t.stem for t in tokens), target, words)

    for style in catalog:
        for name in (style.id, style.name, *style.aliases):
            add(name.replace("_", " "), AliasTarget(style.id, style.id))
    for concept in lexicon.concepts:
        for term in concept.terms:
            add(term, concept)
    fuzzy_words = frozenset(k[0] for k in exact if len(k) == 1 and len(k[0]) >= FUZZY_MIN_LENGTH)
    return PhraseIndex(
        exact={k: tuple(t for t, _ in v) for k, v in exact.items()},
        stems={k: tuple(v) for k, v in stems.items()},
        fuzzy=FuzzyIndex(fuzzy_words, cutoff=FUZZY_CUTOFF, min_length=FUZZY_MIN_LENGTH),
        max_words=max((len(k) for k in exact), default=1),
    )


# catalog → {id(lexicon): (lexicon, index)}; holding the lexicon keeps its id from being reused
_INDEX_CACHE: weakref.WeakKeyDictionary[StyleCatalog, dict[int, tuple[Lexicon, PhraseIndex]]] = (
    weakref.WeakKeyDictionary()
)


def remember_phrase_index(lexicon: Lexicon, catalog: StyleCatalog, index: PhraseIndex) -> None:
    """Use ``index`` (built earlier, e.g. loaded from a cache) for this lexicon and catalog."""
    _INDEX_CACHE.setdefault(catalog, {})[id(lexicon)] = (lexicon, index)


def phrase_index(lexicon: Lexicon, catalog: StyleCatalog) -> PhraseIndex:
    """The index for this lexicon and catalog, built once and kept while the catalog lives."""
    per_catalog = _INDEX_CACHE.setdefault(catalog, {})
    cached = per_catalog.get(id(lexicon))
    if cached is None:
        cached = per_catalog[id(lexicon)] = (lexicon, build_index(lexicon, catalog))
    return cached[1]


def _punctuation_between(text: str, left: Token, right: Token) -> bool:
    return bool(re.search(r"[,.;:!?()\n]", text[left.end : right.start]))


def _intensity(tokens: tuple[Token, ...], start: int) -> float:
    """ "very slow" counts more than "slow", "slightly dark" and "kind of dark" less."""
    if start == 0:
        return 1.0
    previous = tokens[start - 1].text
    if previous == "of" and start >= 2 and tokens[start - 2].text in _HEDGES:
        return HEDGE_FACTOR
    return _INTENSIFIERS.get(previous, 1.0)


def _negated(text: str, tokens: tuple[Token, ...], start: int, hits: list[Hit]) -> bool:
    """A negator up to three words before, with no punctuation or other hit in between; or a
    list continuing a negated hit ("no drums or bass")."""
    previous_end = hits[-1].end if hits else 0
    for j in range(start - 1, max(previous_end, start - 3) - 1, -1):
        if _punctuation_between(text, tokens[j], tokens[start]):
            return False
        if tokens[j].text in _NEGATORS:
            return True
    if hits and hits[-1].negated and start - hits[-1].end == 1:
        between = tokens[hits[-1].end : start]
        joined = all(t.text in ("or", "and", "nor") for t in between)
        return joined and not _punctuation_between(text, tokens[hits[-1].end - 1], tokens[start])
    return False


def _alias_context(tokens: tuple[Token, ...], start: int, end: int) -> float:
    """Down-weight a genre named as a seasoning or as an ordinary noun."""
    factor = 1.0
    before = {t.text for t in tokens[max(0, start - 3) : start]}
    after = tokens[end].text if end < len(tokens) else ""
    if before & _MODIFIER_BEFORE or after in _MODIFIER_AFTER:
        factor *= MODIFIER_FACTOR
    words = tuple(t.text for t in tokens[start:end])
    if (
        len(words) == 1
        and words[0] in _AMBIGUOUS_ALIASES
        and start > 0
        and tokens[start - 1].text in _DETERMINERS
        and after not in _MUSIC_NOUNS
    ):
        factor *= AMBIGUOUS_FACTOR
    return factor


def find_hits(
    text: str, tokens: tuple[Token, ...], consumed: frozenset[int], index: PhraseIndex
) -> list[Hit]:
    """Every alias and concept in the tokens, longest phrase first, left to right."""
    hits: list[Hit] = []
    i = 0
    while i < len(tokens):
        if i in consumed:
            i += 1
            continue
        found = _match_at(tokens, i, consumed, index)
        if found is None:
            i += 1
            continue
        targets, end, how, matched = found
        negated = _negated(text, tokens, i, hits)
        intensity = _intensity(tokens, i)
        words = tuple(t.text for t in tokens[i:end])
        for target in targets:
            context = _alias_context(tokens, i, end) if isinstance(target, AliasTarget) else 1.0
            weight = 0.0 if negated else MATCH_QUALITY[how] * intensity * context
            hits.append(Hit(target, words, i, end, how, weight, negated, matched, context))
        i = end
    return hits


def _match_at(
    tokens: tuple[Token, ...], i: int, consumed: frozenset[int], index: PhraseIndex
) -> tuple[tuple[Target, ...], int, MatchKind, str] | None:
    longest = min(index.max_words, len(tokens) - i)
    for length in range(longest, 0, -1):
        end = i + length
        if any(j in consumed for j in range(i, end)):
            continue
        span = tokens[i:end]
        if length == 1 and span[0].text in STOPWORDS:
            return None
        targets = index.exact.get(tuple(t.text for t in span))
        if targets:
            return targets, end, "exact", ""
        by_stem = tuple(
            target
            for target, words in index.stems.get(tuple(t.stem for t in span), ())
            if all(_stem_compatible(t, w) for t, w in zip(span, words, strict=True))
        )
        if by_stem:
            return by_stem, end, "stem", ""
    word = tokens[i].text
    close = index.fuzzy.closest(word)
    if close is not None:
        known, _ratio = close
        return index.exact[(known,)], i + 1, "fuzzy", known
    return None


def _stem_compatible(token: Token, term_word: str) -> bool:
    """Stems meet only when the prompt word is inflected or the term word is not: "drives"
    meets "driving", but a bare "long" never meets "longing"."""
    return len(token.text) > 2 and (token.text != token.stem or term_word == stem(term_word))


def normalised_terms(concept: Concept) -> tuple[tuple[str, ...], ...]:
    """A concept's terms as token tuples (for checks and explanations)."""
    return tuple(dict.fromkeys(normalise_phrase(t) for t in concept.terms))


__all__ = [
    "MATCH_QUALITY",
    "AliasTarget",
    "Hit",
    "PhraseIndex",
    "Target",
    "build_index",
    "find_hits",
    "normalised_terms",
    "phrase_index",
]
