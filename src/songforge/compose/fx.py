"""Effects as notes: risers into choruses and drops with an impact on their downbeat, or one
continuous bed under the song (:class:`FxPattern.TEXTURE`)."""

from __future__ import annotations

from collections.abc import Sequence

from songforge.compose.context import PartContext, Span, note
from songforge.compose.pitch import lowest_at_or_above
from songforge.compose.score import Note, SectionKind
from songforge.styles.schema import FxPattern

RISE_INTO = (SectionKind.CHORUS, SectionKind.DROP)
RISER_BARS = 2
BUILD_RISER_BARS = 8
IMPACT_BEATS = 2.0
_EPS = 1e-6


def riser_pitch(ctx: PartContext) -> int:
    """Risers sit high (a noise sweep's target), on the tonic."""
    return min(
        ctx.high, lowest_at_or_above(ctx.key.tonic_pc, max(ctx.low, (ctx.low + ctx.high) // 2 + 6))
    )


def impact_pitch(ctx: PartContext) -> int:
    """Impacts sit low, on the tonic."""
    return lowest_at_or_above(ctx.key.tonic_pc, ctx.low)


def transitions(ctx: PartContext, spans: Sequence[Span], all_spans: Sequence[Span]) -> list[Note]:
    """A riser across the end of the section before each chorus/drop, an impact on its downbeat."""
    bar = ctx.bar_beats
    playing = {id(s.section) for s in spans}
    notes = []
    for index, span in enumerate(all_spans):
        if index == 0 or span.kind not in RISE_INTO or id(span.section) not in playing:
            continue
        before = all_spans[index - 1]
        bars = BUILD_RISER_BARS if before.kind is SectionKind.BUILD else RISER_BARS
        length = min(bars * bar, before.end_beat - before.start_beat)
        notes.append(
            note(span.start_beat - length, length, riser_pitch(ctx), ctx.velocity(span.energy, 0.9))
        )
        notes.append(
            note(span.start_beat, IMPACT_BEATS, impact_pitch(ctx), ctx.velocity(span.energy, 1.1))
        )
    return notes


def texture(ctx: PartContext, spans: Sequence[Span], all_spans: Sequence[Span]) -> list[Note]:
    """One long note per unbroken run of sections the part plays in (the whole song if all)."""
    pitch = lowest_at_or_above(ctx.key.tonic_pc, (ctx.low + ctx.high) // 2 - 6)
    runs: list[list[float]] = []
    for span in spans:
        if runs and abs(runs[-1][1] - span.start_beat) < _EPS:
            runs[-1][1] = span.end_beat
        else:
            runs.append([span.start_beat, span.end_beat])
    if runs and all_spans and abs(runs[-1][1] - all_spans[-1].end_beat) < _EPS:
        runs[-1][1] += ctx.composition.ending_beats
    energy = max((s.energy for s in spans), default=0.5)
    return [note(start, end - start, pitch, ctx.velocity(energy * 0.8)) for start, end in runs]


def fx_notes(
    pattern: FxPattern, ctx: PartContext, spans: Sequence[Span], all_spans: Sequence[Span]
) -> list[Note]:
    """The fx part's notes: transitions into climaxes, or a continuous bed."""
    if pattern is FxPattern.TEXTURE:
        return texture(ctx, spans, all_spans)
    return transitions(ctx, spans, all_spans)
