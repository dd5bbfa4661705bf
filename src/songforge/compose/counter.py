"""The counter-melody: a simpler line of chord tones that answers the melody in its rests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from songforge.compose.melody import HOOK_KINDS, MelodyFrame
from songforge.compose.pitch import nearest_with_pc
from songforge.compose.rhythm import EIGHTH_BEATS
from songforge.compose.score import Note, Section
from songforge.seeding import rng_for

MIN_GAP_BEATS = 1.5  # rests shorter than this are left alone
CLEARANCE_BEATS = 0.25  # space kept before the melody comes back
VELOCITY = 72
_EPS = 1e-6


def _gaps(melody: Sequence[Note], start: float, end: float) -> list[tuple[float, float]]:
    """Rests of the melody inside [start, end), from a note's end to the next note's start."""
    inside = [n for n in melody if start - _EPS <= n.start_beat < end - _EPS]
    gaps = []
    for a, b in pairwise(inside):
        if b.start_beat - a.end_beat >= MIN_GAP_BEATS - _EPS:
            gaps.append((a.end_beat, b.start_beat))
    if inside and end - inside[-1].end_beat >= MIN_GAP_BEATS - _EPS:
        gaps.append((inside[-1].end_beat, end))
    return gaps


def _answer(
    gap: tuple[float, float], frame: MelodyFrame, around: int, rng_value: float
) -> list[Note]:
    """Two or three chord tones on the beat grid, stepping toward ``around``'s register."""
    first = math.ceil(gap[0] / EIGHTH_BEATS - _EPS) * EIGHTH_BEATS
    last_end = gap[1] - CLEARANCE_BEATS
    length = 1.0 if rng_value < 0.6 else EIGHTH_BEATS * 3
    notes: list[Note] = []
    t = first
    prev = around
    direction = -1 if rng_value < 0.5 else 1
    while t + EIGHTH_BEATS <= last_end + _EPS and len(notes) < 3:
        duration = min(length, last_end - t)
        pcs = frame.timeline.chord_at(t).pitch_classes
        low, high = frame.window_low - 7, frame.window_low + 9
        pitch = nearest_with_pc(prev + direction * 2, pcs, low, high)
        notes.append(Note(round(t, 6), round(duration, 6), pitch, VELOCITY))
        prev = pitch
        t += length
    return notes


def write_counter_melody(
    sections: Sequence[Section], melody: Sequence[Note], frame: MelodyFrame, seed: int
) -> tuple[Note, ...]:
    """Fill the melody's rests in every section that has a melody (choruses all alike)."""
    bar = frame.meter.beats_per_bar
    out: list[Note] = []
    for section in sections:
        start, end = section.start_bar * bar, section.end_bar * bar
        occurrence = "1" if section.kind in HOOK_KINDS else str(section.occurrence)
        rng = rng_for(seed, "counter", section.kind.value, occurrence)
        around = frame.window_low + 2
        for gap in _gaps(melody, start, end):
            out += _answer(gap, frame, around, float(rng.random()))
    return tuple(out)
