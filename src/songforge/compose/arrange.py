"""Arranging a composition for a style: the drum part, one part per ``style.parts`` entry playing
in the sections its energy threshold (or section list) allows, the final chord, then swing, a
beat of silence before some choruses, humanising, and the kick map for sidechaining.

The style may differ from the one that composed the piece: that is how remix works."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from songforge.compose.bass import bass_notes, root_pitch
from songforge.compose.context import (
    PartContext,
    RiffHit,
    Span,
    make_riff,
    note,
    part_range,
    spans_of,
)
from songforge.compose.drum_part import drum_notes
from songforge.compose.drums import Drum
from songforge.compose.fx import fx_notes
from songforge.compose.harmony_parts import Voicer, final_chord, harmony_part_notes
from songforge.compose.instruments import assign_hints
from songforge.compose.lead import lead_notes
from songforge.compose.percussion import percussion_notes
from songforge.compose.pitch import nearest_with_pc
from songforge.compose.rhythm import Humanize, Swing, apply_swing, humanize, swing_for
from songforge.compose.score import Composition, Note, Part, PartRole, Score, SectionKind
from songforge.compose.timeline import ChordTimeline
from songforge.seeding import rng_for
from songforge.styles.schema import (
    BassPattern,
    ChordPattern,
    Feel,
    FxPattern,
    LeadPattern,
    PartSpec,
    Style,
)

if TYPE_CHECKING:
    from songforge.plan import SongPlan

DROP_OUT_BEFORE = (SectionKind.CHORUS, SectionKind.DROP)
DROP_OUT_ROLES = frozenset(
    {
        PartRole.DRUMS,
        PartRole.PERCUSSION,
        PartRole.BASS,
        PartRole.CHORDS,
        PartRole.PAD,
        PartRole.ARP,
    }
)
HARMONY_ROLES = (PartRole.CHORDS, PartRole.PAD, PartRole.ARP)
FINAL_ROLES = (PartRole.BASS, *HARMONY_ROLES)
POWER_PATTERNS = (
    ChordPattern.POWER_EIGHTHS,
    ChordPattern.POWER_SUSTAIN,
    ChordPattern.PALM_MUTED_RIFF,
)
DEFAULT_HUMANIZE_MS = 6.0
RUBATO = Humanize(drift_ms=30.0, jitter_ms=12.0, velocity_spread=8)
HIT_ENDING_BEATS = 1.5
FADE_FLOOR = 0.55
_EPS = 1e-6


def plays_in(spec: PartSpec, span: Span) -> bool:
    """A part plays in the kinds it lists, or else wherever the energy reaches its threshold."""
    if spec.sections is not None:
        return span.kind in spec.sections
    return span.energy >= spec.min_energy - _EPS


def _silences(
    composition: Composition, spans: Sequence[Span], seed: int
) -> tuple[tuple[float, float], ...]:
    """A beat of silence before choruses and drops, if this song's dice say so."""
    if rng_for(seed, "arrange", "dropout").random() >= 0.5:
        return ()
    beat = composition.time_signature.pulse_beats
    return tuple(
        (span.start_beat - beat, span.start_beat)
        for i, span in enumerate(spans)
        if i > 0 and span.kind in DROP_OUT_BEFORE and spans[i - 1].section.bars >= 2
    )


def _silenced(notes: Sequence[Note], windows: Sequence[tuple[float, float]]) -> list[Note]:
    out = []
    for n in notes:
        keep = True
        duration = n.duration_beats
        for start, end in windows:
            if start - _EPS <= n.start_beat < end - _EPS:
                keep = False
                break
            if n.start_beat < start < n.end_beat:
                duration = min(duration, start - n.start_beat)
        if keep:
            out.append(Note(n.start_beat, duration, n.pitch, n.velocity))
    return out


def _faded(notes: Sequence[Note], composition: Composition) -> list[Note]:
    """For 'fade' endings: velocities fall across the last section."""
    last = composition.sections[-1]
    start = last.start_bar * composition.beats_per_bar
    length = max(composition.total_beats + composition.ending_beats - start, _EPS)
    out = []
    for n in notes:
        if n.start_beat <= start:
            out.append(n)
            continue
        scale = 1.0 - (1.0 - FADE_FLOOR) * min(1.0, (n.start_beat - start) / length)
        out.append(Note(n.start_beat, n.duration_beats, n.pitch, max(1, round(n.velocity * scale))))
    return out


def _humanizer(style: Style, drums: bool) -> Humanize:
    if style.feel is Feel.RUBATO:
        return RUBATO
    kit = style.drums
    drift = kit.humanize_ms if kit else DEFAULT_HUMANIZE_MS
    spread = kit.velocity_spread if kit else 8
    if drums:
        return Humanize(drift, drift * 0.25, spread)
    return Humanize(drift * 0.6, drift * 0.2, max(3, spread // 2))


def _ending_length(style: Style, composition: Composition) -> float:
    if style.form.ending == "hit":
        return min(composition.ending_beats, HIT_ENDING_BEATS)
    return composition.ending_beats


def _final_notes(
    spec: PartSpec, ctx: PartContext, composition: Composition, style: Style, energy: float
) -> list[Note]:
    """The part's share of the last chord, struck on the final downbeat."""
    event = composition.chords[-1]
    start = composition.total_beats
    length = _ending_length(style, composition)
    if spec.role is PartRole.BASS:
        return [note(start, length, root_pitch(ctx, event.chord.bass), ctx.velocity(energy, 1.05))]
    if spec.role in HARMONY_ROLES:
        if spec.pattern in POWER_PATTERNS:
            shape = Voicer(ctx.low, ctx.high).power(event.chord)
            return [note(start, length, p, ctx.velocity(energy, 1.05)) for p in shape]
        return final_chord(ctx, event.chord, start, length, energy)
    if spec.role is PartRole.LEAD and spec.pattern != LeadPattern.FILLS:
        pitch = nearest_with_pc(
            (ctx.low + ctx.high) / 2, [composition.key.tonic_pc], ctx.low, ctx.high
        )
        return [note(start, length, pitch, ctx.velocity(energy))]
    return []


def _write(
    spec: PartSpec, ctx: PartContext, active: Sequence[Span], spans: Sequence[Span], plan: SongPlan
) -> list[Note]:
    rng = rng_for(plan.seed, "part", spec.name)
    role, pattern = spec.role, spec.pattern or ""  # the schema requires a pattern for these roles
    if role is PartRole.BASS:
        return [n for span in active for n in bass_notes(BassPattern(pattern), ctx, span, rng)]
    if role in HARMONY_ROLES:
        return harmony_part_notes(ChordPattern(pattern), ctx, active, rng)
    if role in (PartRole.LEAD, PartRole.COUNTER):
        return lead_notes(LeadPattern(pattern), ctx, active, rng)
    if role is PartRole.FX:
        return fx_notes(FxPattern(pattern), ctx, active, spans)
    return percussion_notes(ctx, active)


@dataclass(frozen=True)
class _Performance:
    """How every part of one arrangement is played: swing, silences, humanising, the ending."""

    composition: Composition
    style: Style
    swing: Swing | None
    silences: tuple[tuple[float, float], ...]
    seed: int

    def play(self, notes: Sequence[Note], role: PartRole, name: str) -> tuple[Note, ...]:
        """Swing, silences, humanising and fades; then nothing may sound past the song's end."""
        composition = self.composition
        end = composition.total_beats + composition.ending_beats
        out = list(notes) if role is PartRole.FX else apply_swing(notes, self.swing)
        if role in DROP_OUT_ROLES:
            out = _silenced(out, self.silences)
        if role is not PartRole.FX:
            feel = _humanizer(self.style, drums=role in (PartRole.DRUMS, PartRole.PERCUSSION))
            rng = rng_for(self.seed, "humanize", name)
            out = humanize(out, rng, composition.tempo_bpm, feel, end)
        if self.style.form.ending == "fade":
            out = _faded(out, composition)
        out = [
            n if n.end_beat <= end else Note(n.start_beat, end - n.start_beat, n.pitch, n.velocity)
            for n in out
            if n.start_beat < end - _EPS
        ]
        return tuple(
            sorted(out, key=lambda n: (n.start_beat, n.pitch, n.duration_beats, n.velocity))
        )


def arrange(composition: Composition, style: Style, plan: SongPlan) -> Score:
    """Give the composition to ``style``'s parts: drums, bass, harmony parts, lead, fx (pure)."""
    spans = spans_of(composition)
    timeline = ChordTimeline(composition.chords)
    meter = composition.time_signature
    performance = _Performance(
        composition,
        style,
        swing_for(style.feel, style.swing, meter),
        _silences(composition, spans, plan.seed),
        plan.seed,
    )
    specs, applied = assign_hints(style.parts, plan.instrument_hints)
    parts: list[Part] = []
    kick_grid: tuple[float, ...] = ()
    if style.drums is not None:
        grid_notes = drum_notes(
            composition, style.drums, spans, style.feel is Feel.HALF_TIME, plan.seed
        )
        kick_grid = tuple(n.start_beat for n in grid_notes if n.pitch == Drum.KICK)
        kit = performance.play(grid_notes, PartRole.DRUMS, "drums")
        if kit:
            parts.append(
                Part("drums", PartRole.DRUMS, kit, style.drums.instrument, style.drums.mix)
            )
    riff: tuple[RiffHit, ...] = make_riff(rng_for(plan.seed, "arrange", "riff"), meter)
    harmony_at_end = any(plays_in(s, spans[-1]) for s in specs if s.role in FINAL_ROLES)
    for spec in specs:
        low, high = part_range(spec)
        ctx = PartContext(
            composition, timeline, spec, low, high, kick_grid, riff, style.feel is Feel.HALF_TIME
        )
        active = [s for s in spans if plays_in(spec, s)]
        notes = _write(spec, ctx, active, spans, plan)
        ends_here = plays_in(spec, spans[-1]) or (spec.role in FINAL_ROLES and not harmony_at_end)
        if ends_here:
            notes += _final_notes(spec, ctx, composition, style, spans[-1].energy)
        finished = performance.play(notes, spec.role, spec.name)
        if finished:
            parts.append(Part(spec.name, spec.role, finished, spec.instrument, spec.mix))
    kicks = tuple(
        sorted(
            {
                n.start_beat
                for p in parts
                if p.role is PartRole.DRUMS
                for n in p.notes
                if n.pitch == Drum.KICK
            }
        )
    )
    extras: dict[str, object] = {"instrument_hints": applied} if applied else {}
    return Score(composition, style.id, composition.tempo_bpm, tuple(parts), kicks, extras)
