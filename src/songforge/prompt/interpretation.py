"""What the prompt reader hands the planner: a style choice with scores, optional musical
parameters, and the evidence behind each inference (printed by ``songforge explain``)."""

from __future__ import annotations

from dataclasses import dataclass

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
    """The prompt's reading. Fields left None carry no cue in the text: the style decides."""

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
    excluded_instruments: tuple[str, ...] = ()  # "no drums", "without piano"
    fallback: bool = False  # no genre cue at all: the style is the default


__all__ = ["Evidence", "Interpretation"]
