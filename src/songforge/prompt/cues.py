"""Cues: each alias or concept heard in a prompt, once, with the phrases that carried it.

Shared by the genre scoring and the readers of mood, mode, tempo, energy and era, so that every
piece of evidence quotes the prompt the same way."""

from __future__ import annotations

from dataclasses import dataclass

from songforge.prompt.lexicon import Concept
from songforge.prompt.matching import Hit, Target


@dataclass(frozen=True, slots=True)
class Cue:
    """One alias or concept heard in the prompt, however often: repeating "gym workout" is
    one idea, so it counts once, at its strongest mention."""

    target: Target
    weight: float
    phrases: tuple[str, ...]  # as they appear in evidence: 'metalica' (read as 'metallica')
    words: tuple[str, ...]  # the prompt's phrases, plain
    context: float


def _target_key(target: Target) -> tuple[str, object]:
    # concepts hold a dict (unhashable); each is one object in the loaded lexicon
    return ("concept", id(target)) if isinstance(target, Concept) else ("alias", target)


def cues_from_hits(hits: list[Hit]) -> list[Cue]:
    """Group the (non-negated) hits by what they matched, in order of first mention."""
    grouped: dict[tuple[str, object], list[Hit]] = {}
    for hit in hits:
        if not hit.negated and hit.weight > 0:
            grouped.setdefault(_target_key(hit.target), []).append(hit)
    cues = []
    for group in grouped.values():
        target = group[0].target
        strongest = max(group, key=lambda h: h.weight)
        quoted = tuple(dict.fromkeys(hit_phrase(h) for h in group))
        plain = tuple(dict.fromkeys(" ".join(h.words) for h in group))
        cues.append(Cue(target, strongest.weight, quoted, plain, strongest.context))
    return cues


def hit_phrase(hit: Hit) -> str:
    """The prompt's words in quotes, with the word a misspelling was read as."""
    phrase = " ".join(hit.words)
    return f"'{phrase}' (read as '{hit.matched}')" if hit.matched else f"'{phrase}'"


def joined(phrases: tuple[str, ...], singular: str, plural: str) -> str:
    """ "'a' + 'b' suggest" / "'a' suggests": the phrases and a verb that agrees with them."""
    return " + ".join(phrases) + " " + (singular if len(phrases) == 1 else plural)


def concept_cues(cues: list[Cue]) -> list[tuple[Cue, Concept]]:
    """The cues that are lexicon concepts, each with its concept."""
    return [(c, c.target) for c in cues if isinstance(c.target, Concept)]


def phrases(cues: list[Cue]) -> tuple[str, ...]:
    """Every quoted phrase of these cues, once."""
    return tuple(dict.fromkeys(p for c in cues for p in c.phrases))


def words_of(cues: list[Cue]) -> tuple[str, ...]:
    """Every plain phrase of these cues, once (for :attr:`Evidence.words`)."""
    return tuple(dict.fromkeys(w for c in cues for w in c.words))


__all__ = ["Cue", "concept_cues", "cues_from_hits", "hit_phrase", "joined", "phrases", "words_of"]
