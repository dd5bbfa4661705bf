"""Chord, pad and arpeggio parts: every :class:`ChordPattern`, voiced inside the part's range with
smooth voice leading (each chord takes the voicing nearest the last one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from songforge.compose.context import PartContext, Span, note
from songforge.compose.rhythm import (
    EIGHTH_BEATS,
    SIXTEENTH_BEATS,
    grid,
    is_strong,
    on_pulse,
)
from songforge.compose.score import Chord, Note
from songforge.compose.timeline import ChordSegment
from songforge.compose.voicing import Voicing, power_voicing, shell_voicing, voice
from songforge.styles.schema import ChordPattern

_EPS = 1e-6
STRUM_STAGGER_BEATS = 0.015
OPEN_RIFF_ENERGY = 0.9  # the riff's chugs ring as open power chords from this energy up
PALM_MUTED_LENGTH = 0.9  # a chug is damped by the palm just before the next pick stroke


class Voicer:
    """Remembers the last voicing of one part so the next chord moves as little as possible."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self._previous: Voicing | None = None

    def full(self, chord: Chord) -> Voicing:
        self._previous = voice(chord, self._previous, self.low, self.high)
        return self._previous

    def power(self, chord: Chord) -> Voicing:
        self._previous = power_voicing(chord, self._previous, self.low, self.high)
        return self._previous

    def shell(self, chord: Chord) -> Voicing:
        self._previous = shell_voicing(chord, self._previous, self.low, self.high)
        return self._previous


ChordWriter = Callable[[PartContext, Span, np.random.Generator, Voicer], list[Note]]


def _segments(ctx: PartContext, span: Span, merge: bool = False) -> list[ChordSegment]:
    return ctx.timeline.segments(span.start_beat, span.end_beat, merge)


def _on_pulse(ctx: PartContext, t: float) -> bool:
    return on_pulse(t, ctx.meter)


def _chord_hits(
    ctx: PartContext,
    span: Span,
    voicing: Voicing,
    times: Sequence[float],
    length: float,
    accent: float = 1.0,
) -> list[Note]:
    notes = []
    for t in times:
        weight = accent * (1.06 if _on_pulse(ctx, t) else 0.94)
        notes += [note(t, length, p, ctx.velocity(span.energy, weight)) for p in voicing]
    return notes


def _bars(span: Span, bar: float) -> list[float]:
    return list(grid(span.start_beat, span.end_beat, bar, span.start_beat % bar))


def power_eighths(
    ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer
) -> list[Note]:
    step = 1.0 if span.energy < 0.45 or ctx.half_time else EIGHTH_BEATS
    notes = []
    for seg in _segments(ctx, span):
        times = list(grid(seg.start_beat, seg.end_beat, step))
        notes += _chord_hits(ctx, span, voicer.power(seg.chord), times, step * 0.85)
    return notes


def power_sustain(
    ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer
) -> list[Note]:
    notes = []
    for seg in _segments(ctx, span):
        notes += _chord_hits(
            ctx, span, voicer.power(seg.chord), [seg.start_beat], seg.duration_beats - 0.05
        )
    return notes


def palm_muted_riff(
    ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer
) -> list[Note]:
    """The shared riff: palm-muted root-fifth chugs, each picked and damped until the next,
    with full power chords on the accents; at a chorus's energy every hit rings open."""
    notes = []
    hits = list(ctx.riff)
    bar = ctx.bar_beats
    open_chords = span.energy >= OPEN_RIFF_ENERGY
    for bar_start in _bars(span, bar):
        for j, hit in enumerate(hits):
            t = bar_start + hit.offset_beats
            if t >= span.end_beat - _EPS:
                continue
            following = hits[j + 1].offset_beats if j + 1 < len(hits) else bar
            gap = following - hit.offset_beats
            shape = voicer.power(ctx.timeline.chord_at(t))
            if hit.accent or open_chords:
                weight = 1.1 if hit.accent else 0.95
                notes += [note(t, gap * 0.95, p, ctx.velocity(span.energy, weight)) for p in shape]
            else:
                notes += [
                    note(t, gap * PALM_MUTED_LENGTH, p, ctx.velocity(span.energy, 0.85))
                    for p in shape[:2]
                ]
    return notes


def _strum_pattern(rng: np.random.Generator, ctx: PartContext) -> list[str]:
    """Per eighth of the bar: 'D' down-strum, 'U' up-strum or '.'."""
    pattern = []
    for k in range(round(ctx.bar_beats / EIGHTH_BEATS)):
        t = k * EIGHTH_BEATS
        if _on_pulse(ctx, t):
            pattern.append("D")
        elif abs(t - round(t)) < _EPS:
            pattern.append("D" if rng.random() < 0.7 else ".")
        else:
            pattern.append("U" if rng.random() < 0.6 else ".")
    return pattern


def strum(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Down-strums on the beats, lighter up-strums between, each string a little later."""
    pattern = _strum_pattern(rng, ctx)
    hits = [k for k, c in enumerate(pattern) if c != "."]
    notes = []
    for bar_start in _bars(span, ctx.bar_beats):
        for j, k in enumerate(hits):
            t = bar_start + k * EIGHTH_BEATS
            if t >= span.end_beat - _EPS:
                continue
            nxt = hits[j + 1] * EIGHTH_BEATS if j + 1 < len(hits) else ctx.bar_beats
            length = min(nxt - k * EIGHTH_BEATS, 1.0) - 0.02
            shape = voicer.full(ctx.timeline.chord_at(t))
            down = pattern[k] == "D"
            strings = shape if down else tuple(reversed(shape[-3:]))
            weight = 1.0 if down else 0.8
            for i, p in enumerate(strings):
                offset = i * STRUM_STAGGER_BEATS
                notes.append(
                    note(t + offset, length - offset, p, ctx.velocity(span.energy, weight))
                )
    return notes


def _offbeats(ctx: PartContext, start: float, end: float) -> list[float]:
    if ctx.meter.pulse_beats > 1:
        return [t for t in grid(start, end, EIGHTH_BEATS) if not _on_pulse(ctx, t)]
    return list(grid(start, end, 1.0, EIGHTH_BEATS))


def stabs(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    notes = []
    for seg in _segments(ctx, span):
        times = _offbeats(ctx, seg.start_beat, seg.end_beat)
        if span.energy < 0.5:
            times = times[::2]
        notes += _chord_hits(ctx, span, voicer.full(seg.chord), times, 0.2)
    return notes


_SYNCOPATED_STABS = (
    (0.0, 0.75, 1.5, 2.5, 3.25),
    (0.5, 1.25, 2.0, 2.75, 3.5),
    (0.0, 1.5, 2.25, 3.0, 3.75),
)


def _figure_hits(
    ctx: PartContext,
    span: Span,
    voicer: Voicer,
    offsets: Sequence[float],
    length: float,
    shell: bool = False,
) -> list[Note]:
    notes = []
    for bar_start in _bars(span, ctx.bar_beats):
        for offset in offsets:
            t = bar_start + offset
            if offset >= ctx.bar_beats - _EPS or t >= span.end_beat - _EPS:
                continue
            chord = ctx.timeline.chord_at(t)
            shape = voicer.shell(chord) if shell else voicer.full(chord)
            notes += _chord_hits(ctx, span, shape, [t], length)
    return notes


def syncopated_stabs(
    ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer
) -> list[Note]:
    figure = _SYNCOPATED_STABS[int(rng.integers(len(_SYNCOPATED_STABS)))]
    return _figure_hits(ctx, span, voicer, figure, 0.25)


_COMPING = ((0.0,), (0.0, 1.5), (0.5, 2.5), (1.5, 3.5), (0.0, 2.5, 3.5), (1.0, 2.5))


def comp(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Shell voicings in a different syncopated rhythm each bar, like a pianist comping."""
    notes = []
    for bar_start in _bars(span, ctx.bar_beats):
        figure = _COMPING[int(rng.integers(len(_COMPING)))]
        sub = Span(span.section, bar_start, min(bar_start + ctx.bar_beats, span.end_beat))
        notes += _figure_hits(ctx, sub, voicer, figure, 0.6, shell=True)
    return notes


def block(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Block chords on every pulse (on the strong beats only when quiet)."""
    notes = []
    pulse = ctx.meter.pulse_beats
    for seg in _segments(ctx, span):
        times = list(grid(seg.start_beat, seg.end_beat, pulse))
        if span.energy < 0.5:
            times = [t for t in times if is_strong(t, ctx.meter) or abs(t - seg.start_beat) < _EPS]
        notes += _chord_hits(ctx, span, voicer.full(seg.chord), times, pulse * 0.9)
    return notes


def sustained(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    notes = []
    for seg in _segments(ctx, span, merge=True):
        notes += _chord_hits(
            ctx, span, voicer.full(seg.chord), [seg.start_beat], seg.duration_beats - 0.05, 0.95
        )
    return notes


def gated(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """A sustained chord chopped into sixteenths by a seeded trance gate."""
    mask = [True] + [bool(x) for x in rng.random(15) < 0.7]
    notes = []
    for seg in _segments(ctx, span):
        shape = voicer.full(seg.chord)
        for t in grid(seg.start_beat, seg.end_beat, SIXTEENTH_BEATS):
            step = round((t % ctx.bar_beats) / SIXTEENTH_BEATS) % len(mask)
            if mask[step]:
                weight = 1.0 if step % 2 == 0 else 0.85
                notes += [
                    note(t, SIXTEENTH_BEATS * 0.72, p, ctx.velocity(span.energy, weight))
                    for p in shape
                ]
    return notes


def arpeggio(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """The chord broken into eighths (sixteenths when energetic), up or up-and-down."""
    step = SIXTEENTH_BEATS if span.energy >= 0.75 else EIGHTH_BEATS
    updown = rng.random() < 0.5
    notes = []
    for seg in _segments(ctx, span):
        shape = list(voicer.full(seg.chord))
        if shape[0] + 12 > shape[-1] and shape[0] + 12 <= ctx.high:
            shape.append(shape[0] + 12)
        order = shape + shape[-2:0:-1] if updown and len(shape) > 2 else shape
        for k, t in enumerate(grid(seg.start_beat, seg.end_beat, step)):
            pitch = order[k % len(order)]
            notes.append(
                note(
                    t,
                    step * 0.9,
                    pitch,
                    ctx.velocity(span.energy, 1.05 if _on_pulse(ctx, t) else 0.9),
                )
            )
    return notes


_BROKEN = (0, 2, 1, 2, 3, 2, 1, 2)


def broken(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Ballad piano: the lowest note on the downbeat, the upper ones rocking in eighths."""
    notes = []
    for seg in _segments(ctx, span):
        shape = voicer.full(seg.chord)
        for k, t in enumerate(grid(seg.start_beat, seg.end_beat, EIGHTH_BEATS)):
            index = _BROKEN[k % len(_BROKEN)] % len(shape)
            length = EIGHTH_BEATS * (2.0 if index == 0 else 0.95)
            notes.append(
                note(
                    t, length, shape[index], ctx.velocity(span.energy, 1.05 if index == 0 else 0.88)
                )
            )
    return notes


# Indices into a (root, fifth, octave) shape: sixteenths rolling in 3+3+2 groups, each group
# accented on its low root; eighths rocking root-fifth-octave-fifth when the music is calmer.
_OSTINATO_SIXTEENTHS = (0, 2, 1, 0, 2, 1, 0, 2)
_OSTINATO_ACCENTS = frozenset({0, 3, 6})
_OSTINATO_EIGHTHS = (0, 1, 2, 1)


def ostinato(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Cinematic strings: a driving spiccato figure on root, fifth and octave, sixteenths in
    3+3+2 accent groups when the energy is up, rocking eighths when it is not."""
    sixteenths = span.energy >= 0.6
    step = SIXTEENTH_BEATS if sixteenths else EIGHTH_BEATS
    figure = _OSTINATO_SIXTEENTHS if sixteenths else _OSTINATO_EIGHTHS
    notes = []
    for seg in _segments(ctx, span):
        shape = voicer.power(seg.chord)
        for t in grid(seg.start_beat, seg.end_beat, step):
            k = round((t % ctx.bar_beats) / step)
            index = figure[k % len(figure)]
            if sixteenths:
                weight = 1.12 if k % len(figure) in _OSTINATO_ACCENTS else 0.82
            else:
                weight = 1.08 if _on_pulse(ctx, t) else 0.9
            pitch = shape[min(index, len(shape) - 1)]
            notes.append(note(t, step * 0.75, pitch, ctx.velocity(span.energy, weight)))
    return notes


def scratch(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Funk guitar: muted sixteenth scratches with a seeded set of syncopated chord chops."""
    accents = [step % 4 != 0 and rng.random() < 0.3 for step in range(16)]
    notes = []
    for seg in _segments(ctx, span):
        shape = voicer.full(seg.chord)
        for t in grid(seg.start_beat, seg.end_beat, SIXTEENTH_BEATS):
            step = round((t % ctx.bar_beats) / SIXTEENTH_BEATS) % 16
            if accents[step]:
                notes += [note(t, 0.15, p, ctx.velocity(span.energy, 1.05)) for p in shape[-3:]]
            else:
                notes.append(note(t, 0.06, shape[len(shape) // 2], ctx.velocity(span.energy, 0.42)))
    return notes


# Per eighth of a bar: the upper note of the dyad above the root. Over seventh chords the fifth
# rocks up to the sixth (and, when the band digs in, the flat seventh): the boogie shuffle.
_SHUFFLE_SEVENTHS = (7, 7, 9, 9, 7, 7, 9, 9)
_SHUFFLE_SEVENTHS_HIGH = (7, 7, 9, 9, 10, 10, 9, 9)
_SHUFFLE_TRIADS = (7, 7, 12, 12, 7, 7, 12, 12)
SHUFFLE_HIGH_ENERGY = 0.65


def shuffle(ctx: PartContext, span: Span, rng: np.random.Generator, voicer: Voicer) -> list[Note]:
    """Blues rhythm guitar: two-note dyads on the low strings in eighths (the feel swings them),
    root and fifth rocking to root and sixth over seventh chords, fifth and octave over triads,
    each chord's root kept near the last one's."""
    notes = []
    for seg in _segments(ctx, span):
        chord = seg.chord
        root = voicer.power(chord)[0]
        sevenths = len(chord.quality.intervals) >= 4
        if not sevenths:
            uppers = _SHUFFLE_TRIADS
        elif span.energy >= SHUFFLE_HIGH_ENERGY:
            uppers = _SHUFFLE_SEVENTHS_HIGH
        else:
            uppers = _SHUFFLE_SEVENTHS
        for t in grid(seg.start_beat, seg.end_beat, EIGHTH_BEATS):
            k = round((t % ctx.bar_beats) / EIGHTH_BEATS)
            upper = root + uppers[k % len(uppers)]
            if upper > ctx.high:
                upper -= 12
            weight = 1.06 if _on_pulse(ctx, t) else 0.86
            velocity = ctx.velocity(span.energy, weight)
            notes += [note(t, EIGHTH_BEATS * 0.8, p, velocity) for p in sorted({root, upper})]
    return notes


WRITERS: dict[ChordPattern, ChordWriter] = {
    ChordPattern.POWER_EIGHTHS: power_eighths,
    ChordPattern.POWER_SUSTAIN: power_sustain,
    ChordPattern.PALM_MUTED_RIFF: palm_muted_riff,
    ChordPattern.STRUM: strum,
    ChordPattern.STABS: stabs,
    ChordPattern.SYNCOPATED_STABS: syncopated_stabs,
    ChordPattern.COMP: comp,
    ChordPattern.BLOCK: block,
    ChordPattern.SUSTAINED: sustained,
    ChordPattern.GATED: gated,
    ChordPattern.ARPEGGIO: arpeggio,
    ChordPattern.BROKEN: broken,
    ChordPattern.OSTINATO: ostinato,
    ChordPattern.SCRATCH: scratch,
    ChordPattern.SHUFFLE: shuffle,
}


def harmony_part_notes(
    pattern: ChordPattern, ctx: PartContext, spans: Sequence[Span], rng: np.random.Generator
) -> list[Note]:
    """All the sections a chord/pad/arp part plays, voice-led from one to the next."""
    voicer = Voicer(ctx.low, ctx.high)
    notes: list[Note] = []
    for span in spans:
        notes += WRITERS[pattern](ctx, span, rng, voicer)
    return notes


def final_chord(
    ctx: PartContext, chord: Chord, start: float, length: float, energy: float
) -> list[Note]:
    """The last chord, struck once and left to ring."""
    shape = Voicer(ctx.low, ctx.high).full(chord)
    return [note(start, length, p, ctx.velocity(energy, 1.05)) for p in shape]
