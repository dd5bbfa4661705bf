"""The drum part: each section's groove (fitted to the meter, thinned or varied by energy and
seed), a fill closing every phrase and section, crashes on section starts and a final hit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from songforge.compose.context import Span, note
from songforge.compose.drums import Drum
from songforge.compose.grooves import (
    BarPattern,
    GrooveVariant,
    default_fill,
    fill_bar,
    groove_bars,
    half_time,
    thinned,
    varied,
)
from songforge.compose.rhythm import SIXTEENTH_BEATS
from songforge.compose.score import Composition, Note, SectionKind
from songforge.seeding import rng_for
from songforge.styles.schema import DrumSpec

VELOCITY = {"X": 118, "x": 96, "g": 42}
GHOST_MAX_VELOCITY = 50
CRASH_VELOCITY = 112
FINAL_HIT_VELOCITY = 120
HIT_BEATS = 0.25
RING_BEATS = 1.0
RINGING = frozenset(
    {Drum.CRASH, Drum.CHINA, Drum.SPLASH, Drum.HAT_OPEN, Drum.RIDE, Drum.RIDE_BELL, Drum.TIMPANI}
)
QUIET_FILL_ENERGY = 0.3
ROLL_32ND = "r"
ROLL_TRIPLET = "t"
ROLLS = frozenset({ROLL_32ND, ROLL_TRIPLET})
TRIPLETS_PER_STEP = 1.5  # three triplet sixteenths in the time of two sixteenths
ROLL_FLOOR = 0.6  # a roll starts at this share of a hit's velocity and rises to a full hit


def groove_name(drums: DrumSpec, kind: SectionKind) -> str:
    """The groove a section kind plays: its mapping, else 'main', else the first groove."""
    name = drums.section_grooves.get(kind)
    if name in drums.grooves:
        return name
    if "main" in drums.grooves:
        return "main"
    return next(iter(drums.grooves))


def choose_variant(rng: np.random.Generator) -> GrooveVariant:
    """Which of the seeded groove touches this song's kit uses."""
    push, open_hat, ghost = (bool(x) for x in rng.random(3) < 0.5)
    return GrooveVariant(push, open_hat, ghost)


def _energy_scale(energy: float) -> float:
    return 0.8 + 0.28 * energy


def _voice_scale(drums: DrumSpec, voice: str) -> float:
    """Per-voice balance as velocity (amplitude ~ velocity², so dB/40 per decade)."""
    gain_db = drums.voice_gain_db.get(voice, 0.0)  # type: ignore[call-overload]
    return float(10 ** (gain_db / 40.0))


def _roll_hits(steps: str, start: int) -> tuple[int, list[float]]:
    """The roll that begins at ``start``: where it ends (exclusive) and its hit offsets in
    sixteenths from the bar's start. ``r`` is two 32nds per step; a run of ``t`` steps holds
    16th-note triplets, three to each eighth it spans."""
    char = steps[start]
    end = start
    while end < len(steps) and steps[end] == char:
        end += 1
    if char == ROLL_32ND:
        return end, [start + k / 2.0 for k in range(2 * (end - start))]
    count = max(2, round((end - start) * TRIPLETS_PER_STEP))
    span = end - start
    return end, [start + span * k / count for k in range(count)]


def _bar_notes(
    bar: BarPattern, start: float, energy: float, drums: DrumSpec, from_step: int = 0
) -> list[Note]:
    notes = []
    for voice, steps in bar.items():
        try:
            drum = Drum.from_voice(voice)
        except KeyError:
            continue
        scale = _voice_scale(drums, voice)
        length = RING_BEATS if drum in RINGING else HIT_BEATS
        i = from_step
        while i < len(steps):
            char = steps[i]
            if char in ROLLS:
                i, offsets = _roll_hits(steps, i)
                for k, offset in enumerate(offsets):
                    rise = ROLL_FLOOR + (1.0 - ROLL_FLOOR) * (k + 1) / len(offsets)
                    velocity = VELOCITY["x"] * scale * _energy_scale(energy) * rise
                    at = start + offset * SIXTEENTH_BEATS
                    notes.append(note(at, min(length, SIXTEENTH_BEATS), int(drum), int(velocity)))
                continue
            i += 1
            if char == ".":
                continue
            velocity = VELOCITY[char] * scale
            velocity = (
                min(velocity, GHOST_MAX_VELOCITY)
                if char == "g"
                else velocity * _energy_scale(energy)
            )
            notes.append(note(start + (i - 1) * SIXTEENTH_BEATS, length, int(drum), int(velocity)))
    return notes


def _is_fill_bar(index: int, bars: int, every: int) -> bool:
    return index == bars - 1 or (every > 0 and (index + 1) % every == 0)


def drum_notes(
    composition: Composition,
    drums: DrumSpec,
    spans: Sequence[Span],
    half_time_feel: bool,
    seed: int,
) -> list[Note]:
    """The whole kit on the grid (swing and humanising come later)."""
    meter = composition.time_signature
    bar_beats = composition.beats_per_bar
    variant = choose_variant(rng_for(seed, "drums", "variant"))
    fill_rng = rng_for(seed, "drums", "fills")
    fills = [fill_bar(f, meter) for f in drums.fills] or [default_fill(meter)]
    out: list[Note] = []
    for index, span in enumerate(spans):
        section = span.section
        bars = groove_bars(drums.grooves[groove_name(drums, section.kind)], meter)
        quiet = span.energy < QUIET_FILL_ENERGY
        for b in range(section.bars):
            pattern = varied(bars[b % len(bars)], variant, b)
            if half_time_feel:
                pattern = half_time(pattern)
            pattern = thinned(pattern, span.energy)
            start = span.start_beat + b * bar_beats
            if _is_fill_bar(b, section.bars, 0 if quiet else drums.fill_every_bars):
                fill = fills[int(fill_rng.integers(len(fills)))]
                split = meter.steps_per_bar // 2 if (quiet or section.bars == 1) else 0
                kept = {v: s[:split] for v, s in pattern.items()}
                out += _bar_notes(kept, start, span.energy, drums)
                out += _bar_notes(fill, start, span.energy, drums, from_step=split)
            else:
                out += _bar_notes(pattern, start, span.energy, drums)
        if drums.crash_on_section_start and (index > 0 or span.energy >= 0.6):
            velocity = CRASH_VELOCITY * _voice_scale(drums, "crash") * _energy_scale(span.energy)
            out.append(note(span.start_beat, RING_BEATS * 2, int(Drum.CRASH), int(velocity)))
    end = composition.total_beats
    ring = composition.ending_beats
    out.append(note(end, HIT_BEATS, int(Drum.KICK), FINAL_HIT_VELOCITY))
    out.append(
        note(end, ring, int(Drum.CRASH), int(FINAL_HIT_VELOCITY * _voice_scale(drums, "crash")))
    )
    return _dedupe(out)


def _dedupe(notes: list[Note]) -> list[Note]:
    """One hit per drum per instant (a crash in the groove and on the section start merge)."""
    best: dict[tuple[float, int], Note] = {}
    for n in notes:
        key = (n.start_beat, n.pitch)
        if key not in best or n.velocity > best[key].velocity:
            best[key] = n
    return sorted(best.values(), key=lambda n: (n.start_beat, n.pitch))
