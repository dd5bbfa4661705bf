"""What a part generator needs to know: the composition, its chords, the part's spec and range,
the kit's kicks and the shared riff; plus the sections it plays in (spans)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.compose.rhythm import SIXTEENTH_BEATS, bar_beats, pulse_positions
from songforge.compose.score import Composition, Note, PartRole, Section, SectionKind
from songforge.compose.timeline import ChordTimeline
from songforge.styles.schema import PartSpec
from songforge.theory import Key, TimeSignature

DEFAULT_RANGES: dict[PartRole, tuple[int, int]] = {
    PartRole.BASS: (28, 52),
    PartRole.CHORDS: (48, 72),
    PartRole.PAD: (48, 76),
    PartRole.ARP: (55, 84),
    PartRole.LEAD: (60, 84),
    PartRole.COUNTER: (55, 79),
    PartRole.FX: (36, 96),
    PartRole.DRUMS: (27, 87),
    PartRole.PERCUSSION: (27, 87),
}
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Span:
    """A section as a part sees it: where it starts and ends in beats, and its energy."""

    section: Section
    start_beat: float
    end_beat: float

    @property
    def energy(self) -> float:
        return self.section.energy

    @property
    def kind(self) -> SectionKind:
        return self.section.kind


def spans_of(composition: Composition) -> list[Span]:
    bar = composition.beats_per_bar
    return [Span(s, s.start_bar * bar, s.end_bar * bar) for s in composition.sections]


@dataclass(frozen=True, slots=True)
class RiffHit:
    """One hit of the shared palm-muted riff, relative to its bar."""

    offset_beats: float
    duration_beats: float
    accent: bool


def make_riff(rng: np.random.Generator, meter: TimeSignature) -> tuple[RiffHit, ...]:
    """A one-bar chug: every eighth, some sixteenth pairs, accents on a few syncopated hits; the
    bass and the guitars share it so they lock."""
    steps = meter.steps_per_bar
    pulses = {round(p / SIXTEENTH_BEATS) for p in pulse_positions(meter)}
    hits = []
    for step in range(steps):
        on_eighth = step % 2 == 0
        if on_eighth or rng.random() < 0.35:
            roll = rng.random()
            accent = step == 0 or (step in pulses and roll < 0.5) or (step % 4 == 2 and roll < 0.25)
            hits.append(RiffHit(step * SIXTEENTH_BEATS, SIXTEENTH_BEATS * 0.8, accent))
    return tuple(hits)


@dataclass(frozen=True)
class PartContext:
    """Everything fixed for one part of one arrangement."""

    composition: Composition
    timeline: ChordTimeline
    spec: PartSpec
    low: int
    high: int
    kick_beats: tuple[float, ...]  # kicks on the grid (before swing and humanising)
    riff: tuple[RiffHit, ...]
    half_time: bool = False

    @property
    def meter(self) -> TimeSignature:
        return self.composition.time_signature

    @property
    def bar_beats(self) -> float:
        return bar_beats(self.meter)

    @property
    def key(self) -> Key:
        return self.composition.key

    def velocity(self, energy: float, accent: float = 1.0) -> int:
        """The spec's velocity scaled by section energy (and an accent factor)."""
        value = round(self.spec.velocity * (0.7 + 0.35 * energy) * accent)
        return min(127, max(1, value))

    def kicks_between(self, start: float, end: float) -> list[float]:
        return [k for k in self.kick_beats if start - _EPS <= k < end - _EPS]


def note(start: float, duration: float, pitch: int, velocity: int) -> Note:
    """A note with sane bounds (times are tidied once, when the part is finished)."""
    return Note(start, max(duration, 0.02), min(127, max(0, pitch)), min(127, max(1, velocity)))


def part_range(spec: PartSpec) -> tuple[int, int]:
    return spec.pitch_range or DEFAULT_RANGES[spec.role]
