"""Genre scoring: every layer's votes for every installed style, combined with documented
weights, and the evidence for the winner (and a close runner-up)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from songforge.prompt.cues import Cue, joined
from songforge.prompt.embeddings import EmbeddingMatcher, similarities_or_none
from songforge.prompt.explicit import ExplicitReading
from songforge.prompt.interpretation import Evidence
from songforge.prompt.lexicon import Concept
from songforge.prompt.matching import AliasTarget, Hit
from songforge.prompt.similarity import style_index
from songforge.prompt.text import Token
from songforge.styles.catalog import StyleCatalog

# Layer weights: what one unit of each layer is worth in the genre score.
ALIAS_WEIGHT = 4.0  # a genre named outright ("synthwave", "drum and bass")
FIRST_GENRE_BONUS = 1.1  # "metal but also hip hop": the genre named first leads
LEXICON_WEIGHT = 1.0  # × the concept's vote × its kind's weight × match quality
SIMILARITY_WEIGHT = 8.0  # × TF-IDF cosine above the floor (one distinctive tag word ≈ 0.1)
SIMILARITY_FLOOR = 0.045  # below this a TF-IDF match is noise (shared letters, not meaning)
EMBEDDING_WEIGHT = 4.0  # × embedding cosine above the median over styles
FALLBACK_STYLE = "pop"
FALLBACK_PRIOR = 0.4  # the general-purpose style's head start: weak, vague cues land on pop
GENRE_EVIDENCE_LIMIT = 6  # contributions listed per style
RUNNER_UP_SHOWN = 0.6  # the runner-up's reasons are listed when it scored this close to the winner


@dataclass(frozen=True, slots=True)
class Vote:
    """Some amount of score for one style, from some words, for a human-readable reason."""

    style_id: str
    amount: float
    words: tuple[str, ...]
    reason: str


def _styles_phrase(concept: Concept, catalog: StyleCatalog) -> str:
    present = sorted(
        ((s, v) for s, v in concept.styles.items() if s in catalog.ids()), key=lambda sv: -sv[1]
    )
    return "/".join(s for s, _ in present[:3])


def _concept_reason(cue: Cue, concept: Concept, catalog: StyleCatalog) -> str:
    styles = _styles_phrase(concept, catalog)
    if concept.kind == "artist":
        return f"{joined(cue.phrases, 'is an artist marker', 'are artist markers')} for {styles}"
    if concept.kind == "place":
        return f"{joined(cue.phrases, 'is a place marker', 'are place markers')} for {styles}"
    if concept.kind == "genre":
        related = joined(cue.phrases, "is a related genre", "are related genres")
        return f"{related}; nearest styles {styles}"
    return f"{joined(cue.phrases, 'suggests', 'suggest')} {styles} (lexicon: {concept.kind})"


def lexical_votes(cues: list[Cue], catalog: StyleCatalog) -> list[Vote]:
    """Votes of the genre names and lexicon concepts heard (styles not installed are skipped)."""
    ids = set(catalog.ids())
    votes: list[Vote] = []
    first_genre = next((c.target for c in cues if isinstance(c.target, AliasTarget)), None)
    for cue in cues:
        target = cue.target
        if isinstance(target, AliasTarget):
            reason = f"{joined(cue.phrases, 'names', 'name')} {target.style_id}"
            amount = ALIAS_WEIGHT * cue.weight
            if cue.context < 1.0:
                reason += " (weak here: a seasoning or an ordinary noun)"
            elif (
                target == first_genre
                and len({c.target for c in cues if isinstance(c.target, AliasTarget)}) > 1
            ):
                amount *= FIRST_GENRE_BONUS
                reason += " (named first)"
            votes.append(Vote(target.style_id, amount, cue.words, reason))
            continue
        reason = _concept_reason(cue, target, catalog)
        for style_id, vote in target.styles.items():
            if style_id in ids:
                amount = LEXICON_WEIGHT * vote * target.style_weight * cue.weight
                votes.append(Vote(style_id, amount, cue.words, reason))
    return votes


def similarity_text(
    prompt: str, tokens: tuple[Token, ...], explicit: ExplicitReading, hits: list[Hit]
) -> str:
    """The words no other layer has read. Literal numbers and keys mean nothing to TF-IDF, and
    words the aliases and lexicon matched have already voted: the similarity layer is for the
    rest ("galloping", "ostinato", "crate digging"), so it never counts a word twice."""
    chars = list(prompt)
    spans = list(explicit.spans)
    spans += [(tokens[h.start].start, tokens[h.end - 1].end) for h in hits]
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def similarity_votes(text: str, catalog: StyleCatalog) -> list[Vote]:
    """TF-IDF votes: the part of each style's similarity above the noise floor."""
    sims, top_words = style_index(catalog).analyse(text)
    votes = []
    for style_id, sim in sims.items():
        if sim > SIMILARITY_FLOOR:
            words = top_words[style_id]
            reason = f"semantic similarity {sim:.2f} to {style_id}'s tags and description"
            if words:
                reason += " (" + ", ".join(f"'{w}'" for w in words) + ")"
            votes.append(
                Vote(style_id, SIMILARITY_WEIGHT * (sim - SIMILARITY_FLOOR), words, reason)
            )
    return votes


def embedding_votes(
    matcher: EmbeddingMatcher | None, prompt: str, catalog: StyleCatalog
) -> list[Vote]:
    """Sentence-embedding votes: how much each style stands out above the median similarity."""
    sims = similarities_or_none(matcher, prompt, catalog)
    if not sims or matcher is None:
        return []
    median = statistics.median(sims.values())
    return [
        Vote(
            sid,
            EMBEDDING_WEIGHT * (cos - median),
            (),
            f"{matcher.name} similarity {cos:.2f} to {sid}",
        )
        for sid, cos in sims.items()
        if cos > median
    ]


def _fallback_style(catalog: StyleCatalog) -> str:
    return FALLBACK_STYLE if FALLBACK_STYLE in catalog.ids() else catalog.ids()[0]


def choose_style(
    votes: list[Vote], catalog: StyleCatalog
) -> tuple[str, tuple[tuple[str, float], ...], list[Evidence], bool]:
    """The winning style, every style's normalised score (best first), the evidence, and
    whether the choice is the fallback for a prompt without any genre cue."""
    raw: dict[str, float] = dict.fromkeys(catalog.ids(), 0.0)
    for vote in votes:
        raw[vote.style_id] += vote.amount
    fallback = _fallback_style(catalog)
    if sum(raw.values()) <= 0:
        scores = tuple(sorted(((s, 0.0) for s in raw), key=lambda sv: (sv[0] != fallback, sv[0])))
        reason = f"no genre cue in the prompt: falling back to {fallback}"
        return fallback, scores, [Evidence("genre", fallback, (), reason, 0.0)], True
    raw[fallback] += FALLBACK_PRIOR
    total = sum(raw.values())
    ranked = sorted(raw.items(), key=lambda sv: (-sv[1], sv[0] != fallback, sv[0]))
    scores = tuple((s, round(v / total, 4)) for s, v in ranked)
    best = ranked[0][0]
    summary = f"highest score {scores[0][1]:.2f}"
    if len(scores) > 1 and scores[1][1] > 0:
        summary += f" (runner-up {scores[1][0]} {scores[1][1]:.2f})"
    evidence = [Evidence("genre", best, _top_words(votes, best), summary, scores[0][1])]
    if best == fallback and raw[best] - FALLBACK_PRIOR < FALLBACK_PRIOR:
        reason = (
            f"{fallback} is the default for vague prompts: its head start of "
            f"{FALLBACK_PRIOR:g} outweighs the weak cues"
        )
        evidence.append(Evidence("genre", best, (), reason, round(FALLBACK_PRIOR / total, 3)))
    close_second = len(scores) > 1 and scores[1][1] >= RUNNER_UP_SHOWN * scores[0][1]
    shown = [best] + ([scores[1][0]] if close_second else [])
    for style_id in shown:
        mine = sorted((v for v in votes if v.style_id == style_id), key=lambda v: -v.amount)
        for vote in mine[:GENRE_EVIDENCE_LIMIT]:
            confidence = round(min(1.0, vote.amount / raw[style_id]), 3)
            evidence.append(Evidence("genre", style_id, vote.words, vote.reason, confidence))
    return best, scores, evidence, False


def _top_words(votes: list[Vote], style_id: str) -> tuple[str, ...]:
    words: dict[str, float] = defaultdict(float)
    for vote in votes:
        if vote.style_id == style_id:
            for word in vote.words:
                words[word] += vote.amount
    return tuple(w for w, _ in sorted(words.items(), key=lambda kv: -kv[1])[:4])


__all__ = [
    "ALIAS_WEIGHT",
    "EMBEDDING_WEIGHT",
    "FALLBACK_PRIOR",
    "FALLBACK_STYLE",
    "LEXICON_WEIGHT",
    "SIMILARITY_FLOOR",
    "SIMILARITY_WEIGHT",
    "Vote",
    "choose_style",
    "embedding_votes",
    "lexical_votes",
    "similarity_text",
    "similarity_votes",
]
