"""Where notes fall in time and how a player bends it: metric weight, grids, swing, humanising.

Everything here works in beats (quarter notes); milliseconds are converted with the tempo."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from songforge.compose.score import Note
from songforge.styles.schema import Feel
from songforge.theory import TimeSignature

EIGHTH_BEATS = 0.5
SIXTEENTH_BEATS = 0.25
TRIPLET_SWING = 1.0 / 3.0  # the off-note lands two thirds of the way through the pair
DEFAULT_SWING = 0.25
_EPS = 1e-6


@cache
def is_compound(meter: TimeSignature) -> bool:
    """6/8 and 12/8 feel dotted-quarter pulses of three eighths."""
    return meter.pulse_beats > 1.0


@cache
def bar_beats(meter: TimeSignature) -> float:
    """``meter.beats_per_bar``, cached (it is asked for every note)."""
    return meter.beats_per_bar


@cache
def strong_beats(meter: TimeSignature) -> tuple[float, ...]:
    """Positions in a bar (beats) with metric weight: 1 and 3 in 4/4, 1 in 3/4, 1 and 4 in 6/8."""
    pulses = round(meter.beats_per_bar / meter.pulse_beats)
    if pulses >= 4:
        return (0.0, 2 * meter.pulse_beats)
    if pulses == 2 and is_compound(meter):
        return (0.0, meter.pulse_beats)
    return (0.0,)


TICKS_PER_BEAT = 96  # a grid fine enough for 32nds and triplets


def _tick(beat: float) -> int | None:
    """The beat as a whole number of ticks, or None when it lies off the grid."""
    ticks = beat * TICKS_PER_BEAT
    whole = round(ticks)
    return whole if abs(ticks - whole) < 1e-3 else None


@cache
def _bar_ticks(meter: TimeSignature) -> int:
    return round(meter.beats_per_bar * TICKS_PER_BEAT)


@cache
def _ticks_of(positions: tuple[float, ...]) -> frozenset[int]:
    return frozenset(round(p * TICKS_PER_BEAT) for p in positions)


def is_strong(beat: float, meter: TimeSignature) -> bool:
    """Whether an absolute beat falls on a strong position of its bar."""
    tick = _tick(beat)
    return tick is not None and tick % _bar_ticks(meter) in _ticks_of(strong_beats(meter))


@cache
def pulse_positions(meter: TimeSignature) -> tuple[float, ...]:
    """The felt beats of a bar: quarters in simple meters, dotted quarters in compound ones."""
    count = round(meter.beats_per_bar / meter.pulse_beats)
    return tuple(i * meter.pulse_beats for i in range(count))


def on_pulse(beat: float, meter: TimeSignature) -> bool:
    """Whether an absolute beat falls on one of its bar's felt beats."""
    tick = _tick(beat)
    return tick is not None and tick % _bar_ticks(meter) in _ticks_of(pulse_positions(meter))


def grid(
    start_beat: float, end_beat: float, step_beats: float, offset_beats: float = 0.0
) -> Iterator[float]:
    """Points ``offset + k*step`` in [start, end), aligned to absolute beat 0."""
    k = math.ceil((start_beat - offset_beats) / step_beats - _EPS)
    while True:
        t = offset_beats + k * step_beats
        if t >= end_beat - _EPS:
            return
        yield round(t, 6)
        k += 1


def ms_to_beats(ms: float, tempo_bpm: float) -> float:
    return ms * tempo_bpm / 60000.0


@dataclass(frozen=True, slots=True)
class Swing:
    """Delay every second ``subdivision_beats`` note by ``amount`` of a subdivision."""

    subdivision_beats: float
    amount: float  # 1/3 moves the off-eighth to the triplet position

    def warp(self, beat: float) -> float:
        """Map a straight position to its swung one (monotonic, so lengths stay positive)."""
        d = self.subdivision_beats
        pair = 2 * d
        base = math.floor(beat / pair + _EPS) * pair
        x = beat - base
        off = d * (1.0 + self.amount)
        if x <= d:
            return base + x * off / d
        return base + off + (x - d) * (pair - off) / (pair - d)


def swing_for(feel: Feel, swing: float, meter: TimeSignature) -> Swing | None:
    """The swing a style asks for; compound meters already lilt, rubato has no grid to swing."""
    if is_compound(meter) or feel is Feel.RUBATO:
        return None
    if feel is Feel.SWING:
        return Swing(EIGHTH_BEATS, swing or DEFAULT_SWING)
    if feel is Feel.SHUFFLE:
        return Swing(EIGHTH_BEATS, max(swing, TRIPLET_SWING))
    if feel is Feel.SWING_16:
        return Swing(SIXTEENTH_BEATS, swing or DEFAULT_SWING)
    return Swing(SIXTEENTH_BEATS, swing) if swing > 0 else None


def apply_swing(notes: Sequence[Note], swing: Swing | None) -> list[Note]:
    """Swing note starts and ends through the same warp, so legato lines stay legato."""
    if swing is None:
        return list(notes)
    out = []
    for note in notes:
        start = swing.warp(note.start_beat)
        end = swing.warp(note.end_beat)
        out.append(Note(start, max(end - start, 0.01), note.pitch, note.velocity))
    return out


@dataclass(frozen=True, slots=True)
class Humanize:
    """A player's timing: a slow drift (shared by everything this part plays) plus small jitter."""

    drift_ms: float
    jitter_ms: float
    velocity_spread: int


def humanize(
    notes: Sequence[Note],
    rng: np.random.Generator,
    tempo_bpm: float,
    settings: Humanize,
    end_beat: float,
) -> list[Note]:
    """Shift notes by a bounded random walk plus jitter and vary velocity, never before beat 0 or
    past ``end_beat``."""
    if not notes:
        return []
    n = len(notes)
    starts = np.array([note.start_beat for note in notes])
    durations = np.array([note.duration_beats for note in notes])
    velocities = np.array([note.velocity for note in notes])
    points = math.ceil(end_beat) + 2
    steps = rng.normal(0.0, settings.drift_ms * 0.35, points).tolist()
    walk = [0.0] * points
    for i in range(1, points):
        walk[i] = min(settings.drift_ms, max(-settings.drift_ms, 0.85 * walk[i - 1] + steps[i]))
    drift = np.interp(starts, np.arange(points, dtype=float), np.array(walk))
    limit = 2 * settings.jitter_ms
    jitter = np.clip(rng.normal(0.0, settings.jitter_ms, n), -limit, limit)
    spread = settings.velocity_spread
    deltas = rng.integers(-spread, spread + 1, n) if spread > 0 else np.zeros(n, dtype=int)
    moved = np.clip(starts + (drift + jitter) * ms_to_beats(1.0, tempo_bpm), 0.0, end_beat - 0.01)
    lengths = np.maximum(np.minimum(durations, end_beat - moved), 0.01)
    new_starts = np.round(moved, 6).tolist()
    new_lengths = np.round(lengths, 6).tolist()
    new_velocities = np.clip(velocities + deltas, 1, 127).tolist()
    return [
        Note(start, length, note.pitch, int(velocity))
        for note, start, length, velocity in zip(
            notes, new_starts, new_lengths, new_velocities, strict=True
        )
    ]
