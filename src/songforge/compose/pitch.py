"""Pitch arithmetic on scales and chords: nearest tones, scale steps, fitting lines into ranges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from songforge.theory import Key

MIDI_MAX = 127
_PENTATONIC_MAJOR = (0, 2, 4, 7, 9)
_PENTATONIC_MINOR = (0, 3, 5, 7, 10)
_BLUES = (0, 3, 5, 6, 7, 10)


def melodic_scale(key: Key, kind: str = "mode") -> tuple[int, ...]:
    """Pitch classes a melody may use: the key's mode, its pentatonic, or the blues scale."""
    intervals: tuple[int, ...]
    if kind == "pentatonic":
        intervals = _PENTATONIC_MINOR if key.mode.is_minor else _PENTATONIC_MAJOR
    elif kind == "blues":
        intervals = _BLUES
    else:
        intervals = key.mode.intervals
    return tuple(sorted({(key.tonic_pc + i) % 12 for i in intervals}))


def nearest_with_pc(
    target: float, pcs: Iterable[int], low: int = 0, high: int = MIDI_MAX, direction: int = 0
) -> int:
    """The pitch in [low, high] with one of ``pcs`` nearest ``target``.

    ``direction`` +1 only looks above the target, -1 only below, 0 both (ties go down); when nothing
    qualifies the direction is dropped, and then the range."""
    pcset = {pc % 12 for pc in pcs}
    if not pcset:
        raise ValueError("no pitch classes given")
    low, high = max(0, low), min(MIDI_MAX, high)
    best: int | None = None
    best_cost = float("inf")
    for pc in pcset:
        first = lowest_at_or_above(pc, low)
        if first > high:
            continue
        last_k = (high - first) // 12
        k_near = min(max(round((target - first) / 12), 0), last_k)
        for k in (k_near - 1, k_near, k_near + 1):
            if not 0 <= k <= last_k:
                continue
            pitch = first + 12 * k
            delta = pitch - target
            if (direction > 0 and delta <= 0) or (direction < 0 and delta >= 0):
                continue
            cost = abs(delta) + (0.01 if delta > 0 else 0.0)
            if cost < best_cost:
                best, best_cost = pitch, cost
    if best is None:
        if direction != 0:
            return nearest_with_pc(target, pcset, low, high, 0)
        if low > 0 or high < MIDI_MAX:
            return nearest_with_pc(target, pcset, 0, MIDI_MAX, 0)
        raise ValueError("no pitch found")
    return best


def snap(pitch: int, pcs: Iterable[int], low: int, high: int, prefer: int = 0) -> int:
    """``pitch`` if its class is in ``pcs`` (and in range), else the nearest such pitch; a tie
    goes the ``prefer`` way (+1 up, -1 down)."""
    pcset = {pc % 12 for pc in pcs}
    if pitch % 12 in pcset and low <= pitch <= high:
        return pitch
    up = nearest_with_pc(pitch, pcset, low, high, 1)
    down = nearest_with_pc(pitch, pcset, low, high, -1)
    cost_up, cost_down = abs(up - pitch), abs(down - pitch)
    if cost_up == cost_down:
        return up if prefer > 0 else down
    return up if cost_up < cost_down else down


def scale_step(pitch: int, steps: int, scale_pcs: Sequence[int]) -> int:
    """Move ``steps`` scale degrees from ``pitch`` (snapping onto the scale toward the move)."""
    pcset = set(scale_pcs)
    current = pitch
    if current % 12 not in pcset:
        direction = 1 if steps >= 0 else -1
        current = nearest_with_pc(current, pcset, direction=direction)
        steps -= direction if steps != 0 else 0
    direction = 1 if steps > 0 else -1
    for _ in range(abs(steps)):
        current += direction
        while current % 12 not in pcset:
            current += direction
    return max(0, min(MIDI_MAX, current))


def lowest_at_or_above(pc: int, low: int) -> int:
    """The lowest pitch of pitch class ``pc`` that is >= ``low``."""
    return low + (pc - low) % 12


def octave_shift_into(pitches: Sequence[int], low: int, high: int) -> int:
    """Semitones (a multiple of 12) that best move a whole line into [low, high]."""
    if not pitches:
        return 0
    lo, hi = min(pitches), max(pitches)
    best, best_cost = 0, float("inf")
    for octaves in range(-6, 7):
        shift = 12 * octaves
        overflow = max(0, low - (lo + shift)) + max(0, (hi + shift) - high)
        centre_gap = abs((lo + hi) / 2 + shift - (low + high) / 2)
        cost = overflow * 100 + centre_gap
        if cost < best_cost:
            best, best_cost = shift, cost
    return best


def fold_into(pitch: int, low: int, high: int) -> int:
    """Move a pitch by octaves until it lies in [low, high] (if the range spans an octave)."""
    while pitch < low:
        pitch += 12
    while pitch > high and pitch - 12 >= low:
        pitch -= 12
    return max(0, min(MIDI_MAX, pitch))
