"""Bass lines locked to the kick and the harmony: every :class:`BassPattern`, each with the
chord's root on its changes (a drone holds a common tone instead) and approach notes into them."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

import numpy as np

from songforge.compose.context import PartContext, Span, note
from songforge.compose.pitch import fold_into, lowest_at_or_above
from songforge.compose.rhythm import (
    EIGHTH_BEATS,
    SIXTEENTH_BEATS,
    grid,
    is_strong,
    on_pulse,
)
from songforge.compose.score import Chord, Note
from songforge.compose.timeline import ChordSegment
from songforge.styles.schema import BassPattern

_EPS = 1e-6
LEGATO = 0.92
STACCATO = 0.45
MAX_808_BEATS = 2.0  # an 808 note rings at most this long
SLIDE_CHANCE = 0.35  # how often a half-time 808 note slides into a different next note
SLIDE_OVERLAP_BEATS = 0.125  # a sliding note is held this far into the next one
BassWriter = Callable[[PartContext, Span, np.random.Generator], list[Note]]


def root_pitch(ctx: PartContext, pc: int) -> int:
    return fold_into(lowest_at_or_above(pc, ctx.low), ctx.low, ctx.high)


def above(ctx: PartContext, pitch: int, semitones: int) -> int:
    """``pitch`` + ``semitones`` if that stays in range, else the same class an octave lower."""
    up = pitch + semitones
    return up if up <= ctx.high else max(ctx.low, up - 12)


def approach(ctx: PartContext, target: int, origin: int) -> int:
    """A chromatic neighbour leading into ``target`` from the side ``origin`` is on."""
    below, above_ = target - 1, target + 1
    preferred, other = (below, above_) if origin <= target else (above_, below)
    if ctx.low <= preferred <= ctx.high:
        return preferred
    return other if ctx.low <= other <= ctx.high else fold_into(preferred, ctx.low, ctx.high)


def _on_pulse(ctx: PartContext, t: float) -> bool:
    return on_pulse(t, ctx.meter)


def _accent(ctx: PartContext, t: float) -> float:
    return 1.08 if _on_pulse(ctx, t) else 0.94


def _segments(ctx: PartContext, span: Span, merge: bool = False) -> list[ChordSegment]:
    return ctx.timeline.segments(span.start_beat, span.end_beat, merge)


def _repeated(
    ctx: PartContext, span: Span, rng: np.random.Generator, step: float, chance: float = 0.6
) -> list[Note]:
    """The root on a grid, with an approach note on the last hit before a chord change."""
    notes = []
    for seg in _segments(ctx, span):
        root = root_pitch(ctx, seg.chord.bass)
        points = list(grid(seg.start_beat, seg.end_beat, step))
        for j, t in enumerate(points):
            pitch = root
            if (
                j == len(points) - 1
                and j > 0
                and seg.changes_next
                and seg.next_chord
                and rng.random() < chance
            ):
                pitch = approach(ctx, root_pitch(ctx, seg.next_chord.bass), root)
            notes.append(note(t, step * LEGATO, pitch, ctx.velocity(span.energy, _accent(ctx, t))))
    return notes


def root_eighths(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    step = 1.0 if span.energy < 0.35 or ctx.half_time else EIGHTH_BEATS
    return _repeated(ctx, span, rng, step)


def root_quarters(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    return _repeated(ctx, span, rng, ctx.meter.pulse_beats, chance=0.5)


def root_fifth(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """Boom-chick: root and fifth alternating on the strong beats."""
    notes = []
    for seg in _segments(ctx, span):
        root = root_pitch(ctx, seg.chord.bass)
        points = [seg.start_beat] + [
            t
            for t in grid(seg.start_beat + _EPS, seg.end_beat, ctx.meter.pulse_beats)
            if is_strong(t, ctx.meter)
        ]
        for k, t in enumerate(sorted(set(points))):
            pitch = root if k % 2 == 0 else above(ctx, root, 7)
            notes.append(
                note(
                    t,
                    ctx.meter.pulse_beats * LEGATO,
                    pitch,
                    ctx.velocity(span.energy, _accent(ctx, t)),
                )
            )
    return notes


def _offbeat_points(ctx: PartContext, start: float, end: float) -> list[float]:
    if ctx.meter.pulse_beats > 1:
        return [t for t in grid(start, end, EIGHTH_BEATS) if not _on_pulse(ctx, t)]
    return list(grid(start, end, 1.0, EIGHTH_BEATS))


def offbeat_eighths(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    notes = []
    for seg in _segments(ctx, span):
        root = root_pitch(ctx, seg.chord.bass)
        for k, t in enumerate(_offbeat_points(ctx, seg.start_beat, seg.end_beat)):
            pitch = above(ctx, root, 12) if span.energy >= 0.8 and k % 2 else root
            notes.append(note(t, EIGHTH_BEATS * 0.8, pitch, ctx.velocity(span.energy)))
    return notes


def rolling_sixteenths(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """Sixteenths around the kick (the beat itself is left to it)."""
    notes = []
    for seg in _segments(ctx, span):
        root = root_pitch(ctx, seg.chord.bass)
        for t in grid(seg.start_beat, seg.end_beat, SIXTEENTH_BEATS):
            if abs(t - round(t)) < _EPS and (ctx.meter.pulse_beats == 1 or _on_pulse(ctx, t)):
                continue
            third = round((t % 1.0) / SIXTEENTH_BEATS) == 3 and span.energy >= 0.75
            pitch = above(ctx, root, 12) if third else root
            notes.append(note(t, SIXTEENTH_BEATS * 0.8, pitch, ctx.velocity(span.energy, 0.95)))
    return notes


def octave_pulse(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    notes = []
    for seg in _segments(ctx, span):
        root = root_pitch(ctx, seg.chord.bass)
        for t in grid(seg.start_beat, seg.end_beat, EIGHTH_BEATS):
            up = round(t / EIGHTH_BEATS) % 2 == 1
            pitch = above(ctx, root, 12) if up else root
            notes.append(
                note(t, EIGHTH_BEATS * 0.85, pitch, ctx.velocity(span.energy, 0.92 if up else 1.05))
            )
    return notes


# (offset in the bar, interval above the root, length) — pop/funk syncopations
_SYNCOPATED = (
    ((0.0, 0, 0.75), (0.75, 0, 0.5), (1.5, 7, 0.5), (2.5, 0, 0.5), (3.0, 12, 0.5), (3.5, 7, 0.5)),
    ((0.0, 0, 1.0), (1.5, 0, 0.5), (2.0, 7, 0.5), (2.75, 12, 0.5), (3.5, 0, 0.5)),
    ((0.0, 0, 0.5), (0.75, 0, 0.25), (1.5, 12, 0.5), (2.5, 7, 0.5), (3.25, 0, 0.5)),
)


def _bar_figure(
    ctx: PartContext,
    span: Span,
    figure: tuple[tuple[float, int, float], ...],
    ghost_velocity: float = 0.45,
) -> list[Note]:
    """Repeat a one-bar figure of (offset, interval, length) over the span, on each bar's chord;
    an interval of -1 marks a ghost note on the root."""
    notes = []
    bar = ctx.bar_beats
    for bar_start in grid(span.start_beat, span.end_beat, bar, span.start_beat % bar):
        for offset, interval, length in figure:
            t = bar_start + offset
            if offset >= bar - _EPS or t >= span.end_beat - _EPS:
                continue
            root = root_pitch(ctx, ctx.timeline.chord_at(t).bass)
            if interval < 0:
                notes.append(note(t, length, root, ctx.velocity(span.energy, ghost_velocity)))
            else:
                accent = 1.12 if offset == 0 else 0.96
                notes.append(
                    note(t, length, above(ctx, root, interval), ctx.velocity(span.energy, accent))
                )
    return notes


def syncopated(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    return _bar_figure(ctx, span, _SYNCOPATED[int(rng.integers(len(_SYNCOPATED)))])


def _funk_figure(rng: np.random.Generator) -> tuple[tuple[float, int, float], ...]:
    """'The one' accented, then a seeded spray of sixteenth pops, fifths, sevenths and ghosts."""
    figure: list[tuple[float, int, float]] = [(0.0, 0, 0.4)]
    for offset in (0.75, 1.0, 1.5, 1.75, 2.25, 2.5, 3.0, 3.25, 3.75):
        roll = rng.random()
        if roll < 0.35:
            interval = int(rng.choice([0, 12, 7, 10]))
            figure.append((offset, interval, 0.2))
        elif roll < 0.6:
            figure.append((offset, -1, 0.1))
    return tuple(figure)


def funk_sixteenths(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    return _bar_figure(ctx, span, _funk_figure(rng))


def _chord_tones_in_range(ctx: PartContext, chord: Chord) -> list[int]:
    return [p for p in range(ctx.low, ctx.high + 1) if p % 12 in chord.pitch_classes]


def _nearest_of_class(ctx: PartContext, pc: int, near: float) -> int:
    """The pitch of class ``pc`` in the part's range nearest ``near``."""
    options = [p for p in range(ctx.low, ctx.high + 1) if p % 12 == pc] or [root_pitch(ctx, pc)]
    return min(options, key=lambda p: (abs(p - near), p))


def _walk_step(ctx: PartContext, current: int, target: int, pool: list[int]) -> int:
    """The next walking note: 1-4 semitones toward the target (up, from the middle of the range,
    when already there), never the note just played."""
    if target == current:
        direction = 1 if current < (ctx.low + ctx.high) / 2 else -1
    else:
        direction = 1 if target > current else -1
    for way in (direction, -direction):
        ahead = sorted(
            (p for p in pool if 1 <= (p - current) * way <= 4), key=lambda p: abs(p - current)
        )
        if ahead:
            return ahead[0]
    return current + direction * 2


def walking(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """Quarter notes: the root, chord tones (scale tones on weak beats) heading for the next
    root, then a chromatic approach into it."""
    notes = []
    step = ctx.meter.pulse_beats
    scale = set(ctx.key.scale_pitch_classes())
    prev: int | None = None
    for seg in _segments(ctx, span):
        root = _nearest_of_class(
            ctx, seg.chord.bass, root_pitch(ctx, seg.chord.bass) if prev is None else prev
        )
        standing = seg.next_chord is None or seg.next_chord == seg.chord
        goal = root + 12 if standing and root + 12 <= ctx.high else root - 12 if standing else root
        target = _nearest_of_class(ctx, (seg.next_chord or seg.chord).bass, goal)
        tones = _chord_tones_in_range(ctx, seg.chord) or [root]
        passing = sorted(set(tones) | {p for p in range(ctx.low, ctx.high + 1) if p % 12 in scale})
        points = list(grid(seg.start_beat, seg.end_beat, step))
        current = root
        for k, t in enumerate(points):
            if k == 0:
                pitch = root
            elif k == len(points) - 1:
                pitch = approach(ctx, target, current)
            else:
                pool = tones if is_strong(t, ctx.meter) else passing
                pitch = fold_into(_walk_step(ctx, current, target, pool), ctx.low, ctx.high)
            velocity = ctx.velocity(span.energy, 1.05 if k == 0 else 0.95)
            notes.append(note(t, step * LEGATO, pitch, velocity))
            current = pitch
        prev = current
    return notes


def boogie(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """Eighths up and down 1-3-5-6-b7-6-5-3 of each chord."""
    notes = []
    for seg in _segments(ctx, span):
        root = root_pitch(ctx, seg.chord.bass)
        third = (
            3 if 3 in seg.chord.quality.intervals and 4 not in seg.chord.quality.intervals else 4
        )
        shape = (0, third, 7, 9, 10, 9, 7, third)
        for k, t in enumerate(grid(seg.start_beat, seg.end_beat, EIGHTH_BEATS)):
            pitch = fold_into(root + shape[k % len(shape)], ctx.low, ctx.high)
            notes.append(
                note(t, EIGHTH_BEATS * LEGATO, pitch, ctx.velocity(span.energy, _accent(ctx, t)))
            )
    return notes


def follow_kick(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """A note on every kick (and every chord change), held to the next: the 808 way. In a
    half-time (trap) feel some notes slide into the next: held on past its start, which a
    mono 808 plays as a glide."""
    kicks = ctx.kicks_between(span.start_beat, span.end_beat)
    if not kicks:
        kicks = [
            b + p
            for b in grid(
                span.start_beat, span.end_beat, ctx.bar_beats, span.start_beat % ctx.bar_beats
            )
            for p in (
                0.0,
                ctx.bar_beats * 0.625 if ctx.meter.pulse_beats == 1 else ctx.meter.pulse_beats,
            )
            if b + p < span.end_beat - _EPS
        ]
    changes = [seg.start_beat for seg in _segments(ctx, span)]
    points = sorted({round(t, 6) for t in kicks + changes})
    pitches = []
    for t in points:
        root = root_pitch(ctx, ctx.timeline.chord_at(t).bass)
        offbeat = abs(t - round(t)) > _EPS
        pitches.append(above(ctx, root, 12) if offbeat and rng.random() < 0.2 else root)
    notes = []
    for j, (t, pitch) in enumerate(zip(points, pitches, strict=True)):
        end = points[j + 1] if j + 1 < len(points) else span.end_beat
        length = min(end - t, MAX_808_BEATS) - 0.04
        slides = (
            ctx.half_time
            and j + 1 < len(points)
            and pitches[j + 1] != pitch
            and end - t <= MAX_808_BEATS
            and rng.random() < SLIDE_CHANCE
        )
        if slides:
            length = end - t + SLIDE_OVERLAP_BEATS
        notes.append(note(t, length, pitch, ctx.velocity(span.energy, _accent(ctx, t))))
    return notes


def sustained(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    return [
        note(
            seg.start_beat,
            seg.duration_beats - 0.05,
            root_pitch(ctx, seg.chord.bass),
            ctx.velocity(span.energy),
        )
        for seg in _segments(ctx, span, merge=True)
    ]


def drone(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """Root and fifth held as a pedal while the harmony keeps the pedal tone."""
    runs: list[tuple[float, float, int]] = []
    for seg in _segments(ctx, span, merge=True):
        if runs and runs[-1][2] in seg.chord.pitch_classes:
            start, _, pc = runs[-1]
            runs[-1] = (start, seg.end_beat, pc)
        else:
            runs.append((seg.start_beat, seg.end_beat, seg.chord.bass))
    notes = []
    for start, end, pc in runs:
        root = root_pitch(ctx, pc)
        notes.append(note(start, end - start - 0.05, root, ctx.velocity(span.energy)))
        fifth = root + 7
        if fifth <= ctx.high:
            notes.append(note(start, end - start - 0.05, fifth, ctx.velocity(span.energy, 0.8)))
    return notes


def riff(ctx: PartContext, span: Span, rng: np.random.Generator) -> list[Note]:
    """The shared palm-muted chug on the root, sixteenths only when the energy is up; each
    note picked and held to the next, locked to the guitars."""
    notes = []
    bar = ctx.bar_beats
    dense = span.energy >= 0.5
    hits = [hit for hit in ctx.riff if dense or abs((hit.offset_beats / EIGHTH_BEATS) % 1) <= _EPS]
    for bar_start in grid(span.start_beat, span.end_beat, bar, span.start_beat % bar):
        for j, hit in enumerate(hits):
            t = bar_start + hit.offset_beats
            if t >= span.end_beat - _EPS:
                continue
            following = hits[j + 1].offset_beats if j + 1 < len(hits) else bar
            pitch = root_pitch(ctx, ctx.timeline.chord_at(t).bass)
            velocity = ctx.velocity(span.energy, 1.12 if hit.accent else 0.9)
            notes.append(note(t, (following - hit.offset_beats) * LEGATO, pitch, velocity))
    return notes


WRITERS: dict[BassPattern, BassWriter] = {
    BassPattern.ROOT_EIGHTHS: root_eighths,
    BassPattern.ROOT_QUARTERS: root_quarters,
    BassPattern.ROOT_FIFTH: root_fifth,
    BassPattern.OFFBEAT_EIGHTHS: offbeat_eighths,
    BassPattern.ROLLING_SIXTEENTHS: rolling_sixteenths,
    BassPattern.OCTAVE_PULSE: octave_pulse,
    BassPattern.SYNCOPATED: syncopated,
    BassPattern.FUNK_SIXTEENTHS: funk_sixteenths,
    BassPattern.WALKING: walking,
    BassPattern.BOOGIE: boogie,
    BassPattern.FOLLOW_KICK: follow_kick,
    BassPattern.SUSTAINED: sustained,
    BassPattern.DRONE: drone,
    BassPattern.RIFF: riff,
}


def ensure_roots_on_changes(ctx: PartContext, span: Span, notes: list[Note]) -> list[Note]:
    """Whatever the pattern, the first note after each chord change is that chord's root
    (inserted on the change when the pattern has none within a beat)."""
    out = sorted(notes, key=lambda n: (n.start_beat, n.pitch))
    starts = [n.start_beat for n in out]
    added: list[Note] = []
    previous: Chord | None = None
    for seg in _segments(ctx, span):
        if seg.chord == previous:
            continue
        previous = seg.chord
        root_pc = seg.chord.bass
        i = bisect_left(starts, seg.start_beat - _EPS)
        if i < len(out) and out[i].start_beat < seg.start_beat + 1.0 - _EPS:
            first = out[i].start_beat
            while i < len(out) and out[i].start_beat - first < _EPS:
                n = out[i]
                if n.pitch % 12 != root_pc:
                    pitch = fold_into(n.pitch - ((n.pitch - root_pc) % 12), ctx.low, ctx.high)
                    out[i] = Note(n.start_beat, n.duration_beats, pitch, n.velocity)
                i += 1
            continue
        for j in range(max(0, i - 2), i):
            n = out[j]
            if n.end_beat > seg.start_beat + _EPS:
                out[j] = Note(n.start_beat, seg.start_beat - n.start_beat, n.pitch, n.velocity)
        following = out[i].start_beat if i < len(out) else seg.end_beat
        length = min(following - seg.start_beat, 1.0) * LEGATO
        root = root_pitch(ctx, root_pc)
        added.append(note(seg.start_beat, length, root, ctx.velocity(span.energy)))
    return sorted(out + added, key=lambda n: (n.start_beat, n.pitch))


def bass_notes(
    pattern: BassPattern, ctx: PartContext, span: Span, rng: np.random.Generator
) -> list[Note]:
    """One section of bass in ``pattern``."""
    notes = WRITERS[pattern](ctx, span, rng)
    if pattern is BassPattern.DRONE:
        return notes
    return ensure_roots_on_changes(ctx, span, notes)
