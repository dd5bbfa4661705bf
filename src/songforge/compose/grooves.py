"""Groove strings as bars: fitting a style's 16-step patterns to any meter (a waltz for 3/4, a
compound lilt for 6/8), half-time, thinning for quiet sections and seeded variants.

A bar pattern maps a voice name to a step string of exactly the meter's ``steps_per_bar``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from songforge.styles.schema import Groove
from songforge.theory import TimeSignature

BarPattern = dict[str, str]
REST = "."
STRENGTH = {".": 0, "g": 1, "x": 2, "r": 2, "t": 2, "X": 3}
MAX_PATTERN_BARS = 8
SIMPLE_BEAT_STEPS = 4
COMPOUND_PULSE_STEPS = 6
HAT_LIKE = frozenset(
    {"hat_closed", "hat_open", "hat_pedal", "ride", "ride_bell", "shaker", "tambourine", "cowbell"}
)
BACKBEAT = frozenset({"snare", "clap", "rim", "snap"})


def _beats_of(steps: str, beat_steps: int) -> list[str]:
    return [steps[i : i + beat_steps] for i in range(0, len(steps), beat_steps)]


def _beat_map(target: int, source: int) -> list[int]:
    """Which source beat each target beat copies: 3 from 4 gives the waltz [0, 1, 1]."""
    if target == 3 and source == 4:
        return [0, 1, 1]
    if target <= source:
        return list(range(target))
    if source == 1:
        return [0] * target
    return [i if i < source else 1 + (i - source) % (source - 1) for i in range(target)]


def _compound_pulse(beat: str, voice: str) -> str:
    """A source quarter (4 sixteenths) as a dotted-quarter pulse (6 sixteenths)."""
    s = (beat + "....")[:4]
    out = [s[0], REST, s[1], REST, s[2], s[3]]
    if voice in HAT_LIKE and s[0] != REST and s[2] != REST and s[1] == REST:
        out[2] = s[2]
    return "".join(out)


def adapt_bar(steps: str, source_steps: int, meter: TimeSignature, voice: str) -> str:
    """One source bar of any length as a bar of ``meter``."""
    target_steps = meter.steps_per_bar
    if source_steps == target_steps:
        return steps
    compound = meter.pulse_beats > 1
    if source_steps % SIMPLE_BEAT_STEPS == 0:
        beats = _beats_of(steps, SIMPLE_BEAT_STEPS)
        if compound:
            pulses = target_steps // COMPOUND_PULSE_STEPS
            return "".join(_compound_pulse(beats[b], voice) for b in _beat_map(pulses, len(beats)))
        if target_steps % SIMPLE_BEAT_STEPS == 0:
            count = target_steps // SIMPLE_BEAT_STEPS
            return "".join(beats[b] for b in _beat_map(count, len(beats)))
    out = [REST] * target_steps
    for i, char in enumerate(steps):
        if char != REST:
            j = min(target_steps - 1, round(i * target_steps / source_steps))
            if STRENGTH[char] > STRENGTH[out[j]]:
                out[j] = char
    return "".join(out)


def _source_bar_steps(length: int, meter: TimeSignature) -> int:
    for candidate in (meter.steps_per_bar, 16, 12):
        if length % candidate == 0:
            return candidate
    return length


def groove_bars(groove: Groove, meter: TimeSignature) -> list[BarPattern]:
    """The groove as whole bars of ``meter`` (voices of different lengths cycle together)."""
    per_voice: dict[str, list[str]] = {}
    for voice, steps in groove.voices.items():
        source = _source_bar_steps(len(steps), meter)
        per_voice[voice] = [
            adapt_bar(steps[i : i + source], source, meter, voice)
            for i in range(0, len(steps), source)
        ]
    count = 1
    for bars in per_voice.values():
        count = min(MAX_PATTERN_BARS, count * len(bars) // math.gcd(count, len(bars)))
    return [{voice: bars[i % len(bars)] for voice, bars in per_voice.items()} for i in range(count)]


def fill_bar(fill: Groove, meter: TimeSignature) -> BarPattern:
    """A fill as one bar of ``meter`` (its last bar if it is longer)."""
    bars = groove_bars(fill, meter)
    return bars[-1]


def default_fill(meter: TimeSignature) -> BarPattern:
    """A snare run into the next bar, for styles that list no fills."""
    steps = meter.steps_per_bar
    return {
        "kick": "x" + REST * (steps - 1),
        "snare": REST * (steps - 4) + "gxxX",
        "tom_low": REST * (steps - 2) + "x.",
    }


def half_time(bar: BarPattern) -> BarPattern:
    """Backbeats on 2 and 4 become one backbeat on 3 (16-step bars only)."""
    out = dict(bar)
    for voice in BACKBEAT & set(bar):
        steps = bar[voice]
        if len(steps) == 16 and steps[4] != REST and steps[12] != REST and steps[8] == REST:
            strongest = max(steps[4], steps[12], key=STRENGTH.__getitem__)
            chars = list(steps)
            chars[4] = chars[12] = REST
            chars[8] = strongest
            out[voice] = "".join(chars)
    return out


def thinned(bar: BarPattern, energy: float) -> BarPattern:
    """Quiet sections: no ghost notes and half the cymbal hits."""
    if energy >= 0.35:
        return bar
    out = {}
    for voice, steps in bar.items():
        chars = [REST if c == "g" else c for c in steps]
        if voice in HAT_LIKE:
            hits = [i for i, c in enumerate(chars) if c != REST]
            for n, i in enumerate(hits):
                if n % 2:
                    chars[i] = REST
        out[voice] = "".join(chars)
    return out


@dataclass(frozen=True, slots=True)
class GrooveVariant:
    """Seeded touches that make one song's kit its own."""

    push_kick: bool  # a kick on the last eighth of every 4th bar
    open_hat_turn: bool  # the last closed hat of every 2nd bar opens
    ghost_snare: bool  # ghost snares before the backbeats


def varied(bar: BarPattern, variant: GrooveVariant, bar_index: int) -> BarPattern:
    """The bar with the variant's touches for its place in the phrase."""
    out = dict(bar)
    steps = len(next(iter(bar.values())))
    if variant.push_kick and bar_index % 4 == 3 and "kick" in out:
        out["kick"] = _set(out["kick"], steps - 2, "x")
    if variant.open_hat_turn and bar_index % 2 == 1 and "hat_closed" in out:
        hats = out["hat_closed"]
        last = max((i for i, c in enumerate(hats) if c != REST), default=None)
        if last is not None and last >= steps // 2:
            out["hat_closed"] = _set(hats, last, REST, force=True)
            out["hat_open"] = _set(out.get("hat_open", REST * steps), last, "x")
    if variant.ghost_snare and "snare" in out and steps == 16:
        for step in (7, 15):
            out["snare"] = _set(out["snare"], step, "g")
    return out


def _set(steps: str, index: int, char: str, force: bool = False) -> str:
    if not 0 <= index < len(steps) or (steps[index] != REST and not force):
        return steps
    return steps[:index] + char + steps[index + 1 :]
