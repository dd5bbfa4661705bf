"""Chord voicings inside a part's range, chosen for smooth voice leading from the previous one."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from songforge.compose.pitch import lowest_at_or_above
from songforge.compose.score import Chord

MAX_VOICES = 4
Voicing = tuple[int, ...]


def chord_tones(chord: Chord, max_voices: int = MAX_VOICES) -> list[int]:
    """The chord's pitch classes in stacking order; big chords drop the fifth, then the root."""
    intervals = list(dict.fromkeys(i % 12 for i in chord.quality.intervals))
    for drop in (7, 0):
        if len(intervals) > max_voices and drop in intervals:
            intervals.remove(drop)
    return [(chord.root_pc + i) % 12 for i in intervals[:max_voices]]


def close_voicings(pcs: Sequence[int], low: int, high: int) -> list[Voicing]:
    """Every close-position inversion of ``pcs`` that fits in [low, high]."""
    out: list[Voicing] = []
    n = len(pcs)
    for r in range(n):
        order = list(pcs[r:]) + list(pcs[:r])
        bottom = lowest_at_or_above(order[0], low)
        while bottom <= high:
            stack = [bottom]
            for pc in order[1:]:
                stack.append(lowest_at_or_above(pc, stack[-1] + 1))
            if stack[-1] <= high:
                out.append(tuple(stack))
            bottom += 12
    return out


def _distance(a: Voicing, b: Voicing) -> float:
    if len(a) == len(b):
        return float(sum(abs(x - y) for x, y in zip(a, b, strict=True)))
    return abs(sum(a) / len(a) - sum(b) / len(b)) * max(len(a), len(b)) + 2.0


@lru_cache(maxsize=4096)
def voice(
    chord: Chord, previous: Voicing | None, low: int, high: int, max_voices: int = MAX_VOICES
) -> Voicing:
    """The voicing of ``chord`` nearest the previous one (or the range's centre to start)."""
    pcs = chord_tones(chord, max_voices)
    candidates = close_voicings(pcs, low, high)
    while not candidates and len(pcs) > 1:
        pcs = pcs[:-1]
        candidates = close_voicings(pcs, low, high)
    if not candidates:
        return (lowest_at_or_above(chord.root_pc, low),)
    if previous is None:
        centre = (low + high) / 2
        return min(candidates, key=lambda v: (abs(sum(v) / len(v) - centre), v))
    return min(candidates, key=lambda v: (_distance(v, previous), v))


@lru_cache(maxsize=4096)
def power_voicing(chord: Chord, previous: Voicing | None, low: int, high: int) -> Voicing:
    """Root, fifth and octave (as much as fits), the root kept near the previous one."""
    roots = [p for p in range(low, high + 1) if p % 12 == chord.root_pc]
    if not roots:
        return (lowest_at_or_above(chord.root_pc, low),)
    target = previous[0] if previous else low + 5
    root = min(roots, key=lambda p: (abs(p - target), p))
    return tuple(p for p in (root, root + 7, root + 12) if p <= high) or (root,)


@lru_cache(maxsize=4096)
def shell_voicing(chord: Chord, previous: Voicing | None, low: int, high: int) -> Voicing:
    """Jazz shells: third and seventh (the colour tones), plus the ninth when the chord has one."""
    intervals = chord.quality.intervals
    colour = [i for i in intervals if i % 12 in (3, 4, 10, 11, 9, 2)]
    pcs = [(chord.root_pc + i) % 12 for i in colour[:3]]
    if len(pcs) < 2:
        pcs = chord_tones(chord, 3)
    candidates = close_voicings(pcs, low, high)
    if not candidates:
        return voice(chord, previous, low, high, 3)
    if previous is None:
        centre = (low + high) / 2
        return min(candidates, key=lambda v: (abs(sum(v) / len(v) - centre), v))
    return min(candidates, key=lambda v: (_distance(v, previous), v))
