"""Extra percussion parts a style lists beside the kit (shaker, congas, taiko...): the instrument
comes from the part's name, the pattern from what that instrument usually plays."""

from __future__ import annotations

from collections.abc import Sequence

from songforge.compose.context import PartContext, Span, note
from songforge.compose.drums import Drum
from songforge.compose.rhythm import (
    EIGHTH_BEATS,
    SIXTEENTH_BEATS,
    grid,
    is_strong,
    on_pulse,
    pulse_positions,
)
from songforge.compose.score import Note

_EPS = 1e-6
_SHAKEN = (Drum.SHAKER, Drum.TAMBOURINE, Drum.HAT_CLOSED, Drum.RIDE)
_HAND = (Drum.CONGA_HIGH, Drum.CONGA_LOW, Drum.BONGO)
_BIG = (Drum.TAIKO, Drum.TIMPANI, Drum.TOM_LOW)
_ALIASES = {
    "conga": Drum.CONGA_HIGH,
    "bongos": Drum.BONGO,
    "hat": Drum.HAT_CLOSED,
    "hihat": Drum.HAT_CLOSED,
}


def voice_for(name: str) -> Drum:
    """The drum a part's name mentions ('shaker', 'congas', 'taiko_hits'), a shaker by default."""
    text = name.lower().replace("-", "_").replace(" ", "_")
    for drum in sorted(Drum, key=lambda d: -len(d.name)):
        if drum.name.lower() in text:
            return drum
    for word, drum in _ALIASES.items():
        if word in text:
            return drum
    return Drum.SHAKER


def _on_pulse(ctx: PartContext, t: float) -> bool:
    return on_pulse(t, ctx.meter)


def percussion_notes(ctx: PartContext, spans: Sequence[Span]) -> list[Note]:
    """The part's instrument played the way it usually is, section by section."""
    drum = voice_for(ctx.spec.name)
    notes: list[Note] = []
    for span in spans:
        if drum in _HAND:
            for k, t in enumerate(grid(span.start_beat, span.end_beat, EIGHTH_BEATS)):
                if k % 4 == 1:
                    continue
                pitch = Drum.CONGA_LOW if k % 4 == 3 else drum
                notes.append(
                    note(
                        t,
                        SIXTEENTH_BEATS,
                        int(pitch),
                        ctx.velocity(span.energy, 1.0 if k % 2 else 0.8),
                    )
                )
        elif drum in _BIG:
            for t in grid(span.start_beat, span.end_beat, ctx.meter.pulse_beats):
                if is_strong(t, ctx.meter):
                    notes.append(note(t, 1.0, int(drum), ctx.velocity(span.energy, 1.1)))
            if span.energy >= 0.6:
                for t in grid(
                    max(span.start_beat, span.end_beat - 1.0), span.end_beat, SIXTEENTH_BEATS
                ):
                    notes.append(
                        note(t, SIXTEENTH_BEATS, int(drum), ctx.velocity(span.energy, 0.8))
                    )
        elif drum in _SHAKEN:
            step = SIXTEENTH_BEATS if span.energy >= 0.7 else EIGHTH_BEATS
            for t in grid(span.start_beat, span.end_beat, step):
                weight = 0.75 if _on_pulse(ctx, t) else 0.95
                notes.append(note(t, step, int(drum), ctx.velocity(span.energy, weight)))
        else:
            weak = [p for p in pulse_positions(ctx.meter) if not is_strong(p, ctx.meter)]
            offbeats = weak or [p for p in pulse_positions(ctx.meter) if p > 0]
            for bar_start in grid(
                span.start_beat, span.end_beat, ctx.bar_beats, span.start_beat % ctx.bar_beats
            ):
                for offset in offbeats:
                    if bar_start + offset < span.end_beat - _EPS:
                        notes.append(
                            note(
                                bar_start + offset,
                                SIXTEENTH_BEATS,
                                int(drum),
                                ctx.velocity(span.energy),
                            )
                        )
    return notes
