"""Motifs: a 1–2 bar rhythm plus a contour in scale steps, and the ways a composer develops one
(repeat, vary the rhythm, take its first bar). Pitches come later, against the chords."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from songforge.compose.rhythm import EIGHTH_BEATS, pulse_positions
from songforge.theory import TimeSignature

_EPS = 1e-6
MAX_NOTE_BEATS = 2.0


@dataclass(frozen=True, slots=True)
class Motif:
    """Onsets and lengths in beats from the motif's start; ``steps[i]`` is the scale-step move
    from note i to note i+1."""

    onsets: tuple[float, ...]
    durations: tuple[float, ...]
    steps: tuple[int, ...]
    length_beats: float

    def __post_init__(self) -> None:
        if not self.onsets or len(self.steps) != len(self.onsets) - 1:
            raise ValueError("a motif needs notes and one step between each pair")


def _bar_onsets(
    rng: np.random.Generator,
    meter: TimeSignature,
    count: int,
    syncopation: float,
    downbeat: bool,
) -> list[float]:
    bar = meter.beats_per_bar
    slots = [i * EIGHTH_BEATS for i in range(round(bar / EIGHTH_BEATS))]
    pulses = set(pulse_positions(meter)) | {
        float(b) for b in range(int(bar)) if not meter.pulse_beats > 1
    }
    chosen = [0.0] if downbeat else []
    rest = [s for s in slots if s not in chosen]
    weights = np.array([1.0 if s in pulses else 0.25 + syncopation for s in rest])
    wanted = max(0, min(count - len(chosen), len(rest)))
    if wanted:
        picks = rng.choice(len(rest), size=wanted, replace=False, p=weights / weights.sum())
        chosen += [rest[int(i)] for i in picks]
    if not chosen:
        chosen = [0.0]
    return sorted(chosen)


def motif_rhythm(
    rng: np.random.Generator,
    bars: int,
    meter: TimeSignature,
    notes_per_bar: float,
    syncopation: float,
    rest_probability: float,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Onsets on an eighth-note grid (the first on the downbeat), lengths leaving some rests."""
    bar = meter.beats_per_bar
    onsets: list[float] = []
    for b in range(bars):
        count = int(
            np.clip(round(notes_per_bar + rng.normal(0.0, 0.6)), 1, round(bar / EIGHTH_BEATS))
        )
        downbeat = b == 0 or rng.random() < 0.7
        onsets += [b * bar + t for t in _bar_onsets(rng, meter, count, syncopation, downbeat)]
    length = bars * bar
    durations = []
    for i, onset in enumerate(onsets):
        gap = (onsets[i + 1] if i + 1 < len(onsets) else length) - onset
        duration = min(gap, MAX_NOTE_BEATS)
        if gap >= 1.0 - _EPS and rng.random() < rest_probability:
            duration = gap / 2
        durations.append(duration)
    return tuple(onsets), tuple(durations)


def motif_contour(
    rng: np.random.Generator, count: int, step_probability: float, leap_probability: float
) -> tuple[int, ...]:
    """Scale steps between notes: steps, repeats and leaps (a third to a fifth), each leap
    answered by a step the other way."""
    steps: list[int] = []
    direction = 1 if rng.random() < 0.6 else -1
    pending_recovery = 0
    for _ in range(count - 1):
        if pending_recovery:
            steps.append(pending_recovery)
            pending_recovery = 0
            continue
        roll = rng.random()
        if rng.random() < 0.3:
            direction = -direction
        if roll < step_probability:
            steps.append(direction)
        elif roll < step_probability + leap_probability:
            leap = direction * (4 if rng.random() < 0.15 else int(rng.integers(2, 4)))
            steps.append(leap)
            pending_recovery = -direction
        else:
            steps.append(0)
    return tuple(steps)


def make_motif(
    rng: np.random.Generator,
    bars: int,
    meter: TimeSignature,
    notes_per_bar: float,
    syncopation: float,
    rest_probability: float,
    step_probability: float,
    leap_probability: float,
) -> Motif:
    """A fresh motif: a rhythm at the given density and a contour from the style's odds."""
    onsets, durations = motif_rhythm(rng, bars, meter, notes_per_bar, syncopation, rest_probability)
    steps = motif_contour(rng, len(onsets), step_probability, leap_probability)
    return Motif(onsets, durations, steps, bars * meter.beats_per_bar)


def truncated(motif: Motif, length_beats: float) -> Motif:
    """The motif's notes that start before ``length_beats`` (lengths clipped to it)."""
    keep = [i for i, t in enumerate(motif.onsets) if t < length_beats - _EPS] or [0]
    n = len(keep)
    return Motif(
        tuple(motif.onsets[i] for i in keep),
        tuple(min(motif.durations[i], length_beats - motif.onsets[i]) for i in keep),
        motif.steps[: n - 1],
        length_beats,
    )


def varied_rhythm(motif: Motif, rng: np.random.Generator) -> Motif:
    """The same idea with one rhythmic change: a long note split in two, or two notes merged."""
    onsets, durations, steps = list(motif.onsets), list(motif.durations), list(motif.steps)
    long_notes = [i for i, d in enumerate(durations) if d >= 1.0 - _EPS]
    if long_notes and (len(onsets) < 3 or rng.random() < 0.6):
        i = long_notes[int(rng.integers(len(long_notes)))]
        half = round(durations[i] / 2 / EIGHTH_BEATS) * EIGHTH_BEATS or EIGHTH_BEATS
        onsets.insert(i + 1, onsets[i] + half)
        durations[i : i + 1] = [half, durations[i] - half]
        steps.insert(i, 1 if rng.random() < 0.5 else -1)
        if i + 1 < len(steps):
            steps[i + 1] -= steps[i]
    elif len(onsets) >= 3:
        i = int(rng.integers(1, len(onsets) - 1))
        durations[i - 1] = onsets[i] - onsets[i - 1] + durations[i]
        del onsets[i], durations[i]
        merged = steps[i - 1] + steps[i]
        steps[i - 1 : i + 1] = [max(-4, min(4, merged))]
    return Motif(tuple(onsets), tuple(durations), tuple(steps), motif.length_beats)


def thinned(motif: Motif) -> Motif:
    """Every other note of the motif, each held until the next: a sparser statement of the idea."""
    keep = list(range(0, len(motif.onsets), 2))
    onsets = tuple(motif.onsets[i] for i in keep)
    durations = tuple(
        min(
            (onsets[j + 1] if j + 1 < len(onsets) else motif.length_beats) - onsets[j],
            MAX_NOTE_BEATS,
        )
        for j in range(len(onsets))
    )
    steps = tuple(max(-4, min(4, sum(motif.steps[a:b]))) for a, b in pairwise(keep))
    return Motif(onsets, durations, steps, motif.length_beats)
