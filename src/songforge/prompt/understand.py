"""Text → style, mood, tempo, key and energy, with the words that led to each choice.

PLACEHOLDER CONTRACT: the prompt helper replaces the body of :func:`understand`; the dataclasses'
fields are the contract the planner reads."""

from __future__ import annotations

from dataclasses import dataclass

from songforge.styles.catalog import StyleCatalog
from songforge.theory import Key, Mode, TimeSignature


@dataclass(frozen=True, slots=True)
class Evidence:
    """One inference: which field got which value from which words, and why."""

    field: str  # "genre", "mood", "bpm", "key", "energy", "duration", "instruments", "era", ...
    value: str
    words: tuple[str, ...]
    reason: str  # "explicit number", "alias of rock", "semantic match 0.62 to 'night drive'"...
    confidence: float  # 0..1


@dataclass(frozen=True)
class Interpretation:
    style_id: str
    style_scores: tuple[tuple[str, float], ...]  # every candidate style with its score, best first
    mood: str | None = None
    mode: Mode | None = None  # implied by the mood (sad → minor) unless a key was given
    key: Key | None = None  # an explicit key in the text
    tempo_bpm: float | None = None
    tempo_explicit: bool = False  # "140 bpm" in the text, as opposed to "slow"
    time_signature: TimeSignature | None = None
    duration_s: float | None = None  # "3 minutes" in the text
    energy: float | None = None  # 0..1
    instruments: tuple[str, ...] = ()
    era: str | None = None
    evidence: tuple[Evidence, ...] = ()


def understand(prompt: str, catalog: StyleCatalog) -> Interpretation:
    """Read a prompt. (Placeholder: picks the first style whose alias appears, else the first.)"""
    text = prompt.lower()
    for name, style_id in catalog.aliases().items():
        if name and name in text:
            return Interpretation(style_id=style_id, style_scores=((style_id, 1.0),))
    first = catalog.ids()[0]
    return Interpretation(style_id=first, style_scores=((first, 0.0),))
