"""Merging the request's explicit fields with what the prompt implies into one concrete plan."""

from __future__ import annotations

from dataclasses import dataclass, field

from songforge.compose.score import SectionKind
from songforge.prompt.understand import Interpretation
from songforge.request import SongRequest
from songforge.seeding import rng_for
from songforge.styles.catalog import StyleCatalog
from songforge.styles.schema import Style
from songforge.theory import Key, Mode, TimeSignature, parse_pitch_class


@dataclass(frozen=True)
class SongPlan:
    """Every decision the composer needs, asked for or inferred (``sources`` says which)."""

    style: Style
    key: Key
    tempo_bpm: float
    tempo_locked: bool  # True when the user gave the bpm: the composer must not nudge it
    time_signature: TimeSignature
    duration_s: float
    structure: tuple[SectionKind, ...] | None
    seed: int
    energy: float  # 0..1 overall intensity, shifts the style's energy curve
    mood: str | None
    instrument_hints: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)  # field → "request" | "prompt" | "style"


def _choose_key(style: Style, interpretation: Interpretation, seed: int) -> Key:
    rng = rng_for(seed, "plan", "key")
    modes = list(style.modes)
    weights = [style.modes[m] for m in modes]
    if interpretation.mode is not None:
        mode = interpretation.mode
    else:
        total = sum(weights) or 1.0
        mode = modes[int(rng.choice(len(modes), p=[w / total for w in weights]))]
    tonic = parse_pitch_class(style.tonics[int(rng.integers(len(style.tonics)))])
    return Key(tonic, mode)


def resolve_plan(
    request: SongRequest, interpretation: Interpretation, catalog: StyleCatalog, seed: int
) -> SongPlan:
    """Explicit request fields win, then the prompt's reading, then the style's defaults."""
    sources: dict[str, str] = {}
    if request.genre is not None:
        style, sources["genre"] = catalog.get(request.genre), "request"
    else:
        style, sources["genre"] = catalog.get(interpretation.style_id), "prompt"

    explicit_key = request.resolved_key()
    if explicit_key is not None:
        key, sources["key"] = explicit_key, "request"
    elif interpretation.key is not None:
        key, sources["key"] = interpretation.key, "prompt"
        if request.mode is not None:
            key = Key(key.tonic_pc, request.mode)
    else:
        key, sources["key"] = _choose_key(style, interpretation, seed), "style"
        if request.mode is not None:
            key, sources["key"] = Key(key.tonic_pc, request.mode), "request"

    low, high = style.tempo_bpm
    if request.bpm is not None:
        tempo, locked, sources["bpm"] = float(request.bpm), True, "request"
    elif interpretation.tempo_bpm is not None and interpretation.tempo_explicit:
        tempo, locked, sources["bpm"] = interpretation.tempo_bpm, True, "prompt"
    else:
        rng = rng_for(seed, "plan", "tempo")
        centre = interpretation.tempo_bpm or style.default_tempo_bpm
        centre = min(max(centre, low), high)
        spread = (high - low) * 0.12
        tempo = float(round(min(max(centre + rng.uniform(-spread, spread), low), high)))
        locked = False
        sources["bpm"] = "prompt" if interpretation.tempo_bpm else "style"

    if request.time_signature is not None:
        meter, sources["time_signature"] = request.time_signature, "request"
    elif interpretation.time_signature is not None:
        meter, sources["time_signature"] = interpretation.time_signature, "prompt"
    else:
        meter, sources["time_signature"] = style.time_signatures[0], "style"

    if request.duration is not None:
        duration, sources["duration"] = request.duration, "request"
    elif interpretation.duration_s is not None:
        duration, sources["duration"] = interpretation.duration_s, "prompt"
    else:
        duration, sources["duration"] = style.default_duration_s, "style"

    energy = interpretation.energy if interpretation.energy is not None else style.energy
    mood = request.mood or interpretation.mood
    hints = tuple(request.instruments) or interpretation.instruments
    return SongPlan(
        style=style,
        key=key,
        tempo_bpm=tempo,
        tempo_locked=locked,
        time_signature=meter,
        duration_s=float(duration),
        structure=tuple(request.structure) if request.structure else None,
        seed=seed,
        energy=float(energy),
        mood=mood,
        instrument_hints=hints,
        sources=sources,
    )


__all__ = ["Mode", "SongPlan", "resolve_plan"]
