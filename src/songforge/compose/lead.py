"""Lead and counter parts: every :class:`LeadPattern`, moved by whole octaves into the part's
range."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from songforge.compose.context import PartContext, Span, note
from songforge.compose.melody import HOOK_KINDS, PHRASE_BARS
from songforge.compose.pitch import (
    fold_into,
    melodic_scale,
    nearest_with_pc,
    octave_shift_into,
    scale_step,
    snap,
)
from songforge.compose.rhythm import EIGHTH_BEATS, SIXTEENTH_BEATS, is_strong
from songforge.compose.score import Note
from songforge.styles.schema import LeadPattern

_EPS = 1e-6
MIN_FILL_GAP_BEATS = 1.5
LeadWriter = Callable[[PartContext, Sequence[Span], np.random.Generator], list[Note]]


def _inside(t: float, spans: Sequence[Span]) -> Span | None:
    for span in spans:
        if span.start_beat - _EPS <= t < span.end_beat - _EPS:
            return span
    return None


def _place(ctx: PartContext, line: Sequence[Note], spans: Sequence[Span]) -> list[Note]:
    """The notes of ``line`` that fall in ``spans``, moved by octaves into range, at the part's
    velocity for each section's energy."""
    shift = octave_shift_into([n.pitch for n in line], ctx.low, ctx.high)
    out = []
    for n in line:
        span = _inside(n.start_beat, spans)
        if span is None:
            continue
        end = min(n.end_beat, span.end_beat)
        accent = n.velocity / 90.0
        pitch = fold_into(n.pitch + shift, ctx.low, ctx.high)
        out.append(note(n.start_beat, end - n.start_beat, pitch, ctx.velocity(span.energy, accent)))
    return out


def melody(ctx: PartContext, spans: Sequence[Span], rng: np.random.Generator) -> list[Note]:
    return _place(ctx, ctx.composition.melody, spans)


def counter(ctx: PartContext, spans: Sequence[Span], rng: np.random.Generator) -> list[Note]:
    return _place(ctx, ctx.composition.counter_melody, spans)


def _hook_beats(ctx: PartContext) -> float:
    hook = ctx.composition.hook
    if not hook:
        return ctx.bar_beats
    return max(1, math.ceil(max(n.end_beat for n in hook) / ctx.bar_beats - _EPS)) * ctx.bar_beats


def hook_only(ctx: PartContext, spans: Sequence[Span], rng: np.random.Generator) -> list[Note]:
    """The melody's hook bars at the head of every phrase of the choruses and drops."""
    hook_spans = [s for s in spans if s.kind in HOOK_KINDS]
    phrase = PHRASE_BARS * ctx.bar_beats
    length = _hook_beats(ctx)
    if hook_spans:
        chosen = [
            n
            for n in ctx.composition.melody
            if (span := _inside(n.start_beat, hook_spans)) is not None
            and (n.start_beat - span.start_beat) % phrase < length - _EPS
        ]
        return _place(ctx, chosen, hook_spans)
    return riff(ctx, spans, rng, repeat_beats=phrase)


def _degree(ctx: PartContext, pc: int, scale: Sequence[int]) -> int:
    """Index of ``pc`` (or the scale tone just below it) in the scale."""
    for k in range(12):
        candidate = (pc - k) % 12
        if candidate in scale:
            return list(scale).index(candidate)
    return 0


def riff(
    ctx: PartContext,
    spans: Sequence[Span],
    rng: np.random.Generator,
    repeat_beats: float | None = None,
) -> list[Note]:
    """A one- or two-bar figure from the hook, repeated and moved along the scale with the
    chords."""
    hook = list(ctx.composition.hook) or [
        n for n in ctx.composition.melody if n.start_beat < 2 * ctx.bar_beats
    ]
    if not hook:
        return []
    bar = ctx.bar_beats
    first_bar = [n for n in hook if n.start_beat < bar - _EPS]
    bars = 1 if len(first_bar) >= 3 else 2
    figure = [n for n in hook if n.start_beat < bars * bar - _EPS]
    period = repeat_beats or bars * bar
    scale = sorted(ctx.key.scale_pitch_classes())
    hook_start = next(
        (s.start_bar * bar for s in ctx.composition.sections if s.kind in HOOK_KINDS), 0.0
    )
    reference = _degree(ctx, ctx.timeline.chord_at(hook_start).root_pc, scale)
    shift = octave_shift_into([n.pitch for n in figure], ctx.low, ctx.high)
    out = []
    for span in spans:
        t0 = span.start_beat
        while t0 < span.end_beat - _EPS:
            degree = _degree(ctx, ctx.timeline.chord_at(t0).root_pc, scale)
            for n in figure:
                t = t0 + n.start_beat
                if t >= span.end_beat - _EPS:
                    continue
                pitch = scale_step(n.pitch + shift, degree - reference, scale)
                if is_strong(t, ctx.meter):
                    pitch = snap(pitch, ctx.timeline.chord_at(t).pitch_classes, ctx.low, ctx.high)
                pitch = fold_into(pitch, ctx.low, ctx.high)
                length = min(n.duration_beats, span.end_beat - t)
                out.append(note(t, length, pitch, ctx.velocity(span.energy, n.velocity / 90.0)))
            t0 += period
    return out


def fills(ctx: PartContext, spans: Sequence[Span], rng: np.random.Generator) -> list[Note]:
    """Answering licks in the melody's rests: a quick run down the scale onto a chord tone."""
    scale = melodic_scale(ctx.key, "blues" if ctx.key.mode.is_minor else "pentatonic")
    line = sorted(ctx.composition.melody, key=lambda n: n.start_beat)
    out: list[Note] = []
    for span in spans:
        inside = [n for n in line if span.start_beat <= n.start_beat < span.end_beat]
        ends = [(a.end_beat, b.start_beat) for a, b in pairwise(inside)]
        if inside:
            ends.append((inside[-1].end_beat, span.end_beat))
        else:
            ends.append((span.start_beat, span.end_beat))
        step = SIXTEENTH_BEATS if span.energy >= 0.7 else EIGHTH_BEATS
        for gap_start, gap_end in ends:
            if gap_end - gap_start < MIN_FILL_GAP_BEATS:
                continue
            start = math.ceil(gap_start / EIGHTH_BEATS - _EPS) * EIGHTH_BEATS + EIGHTH_BEATS
            stop = min(gap_end - SIXTEENTH_BEATS, start + 8 * step)
            count = int((stop - start) / step + _EPS)
            if count < 2:
                continue
            top = nearest_with_pc(
                ctx.high - 4, ctx.timeline.chord_at(start).pitch_classes, ctx.low, ctx.high
            )
            pitch = top
            for k in range(count):
                t = start + k * step
                if k == count - 1:
                    pitch = nearest_with_pc(
                        pitch - 1, ctx.timeline.chord_at(t).pitch_classes, ctx.low, ctx.high
                    )
                length = step * (2.0 if k == count - 1 else 0.9)
                out.append(note(t, min(length, gap_end - t), pitch, ctx.velocity(span.energy, 0.9)))
                pitch = fold_into(
                    scale_step(pitch, -1 if rng.random() < 0.8 else 1, scale), ctx.low, ctx.high
                )
    return out


WRITERS: dict[LeadPattern, LeadWriter] = {
    LeadPattern.MELODY: melody,
    LeadPattern.HOOK_ONLY: hook_only,
    LeadPattern.COUNTER: counter,
    LeadPattern.FILLS: fills,
    LeadPattern.RIFF: riff,
}


def lead_notes(
    pattern: LeadPattern, ctx: PartContext, spans: Sequence[Span], rng: np.random.Generator
) -> list[Note]:
    """The lead or counter part's notes over the sections it plays in."""
    return WRITERS[pattern](ctx, spans, rng)
