"""Small builders shared by the composer's specification: plans, style variants, cached songs."""

from __future__ import annotations

from functools import cache
from typing import Any

from songforge.compose.composer import arrange, compose
from songforge.compose.score import Composition, Note, Score, Section, SectionKind
from songforge.plan import SongPlan
from songforge.styles.catalog import default_catalog
from songforge.styles.schema import Style
from songforge.theory import Key, Mode, TimeSignature


def rock() -> Style:
    return default_catalog().get("rock")


def style_variant(base: Style, **changes: Any) -> Style:
    """A validated copy of ``base`` with top-level fields replaced (nested dicts merged)."""
    data = base.model_dump(mode="python")
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return Style.model_validate(data)


def make_plan(style: Style | None = None, **overrides: Any) -> SongPlan:
    style = style or rock()
    fields: dict[str, Any] = {
        "style": style,
        "key": Key(4, Mode.MINOR),
        "tempo_bpm": style.default_tempo_bpm,
        "tempo_locked": False,
        "time_signature": style.time_signatures[0],
        "duration_s": 200.0,
        "structure": None,
        "seed": 7,
        "energy": style.energy,
        "mood": None,
    }
    fields.update(overrides)
    return SongPlan(**fields)


def song_plan(
    style_id: str = "rock",
    seed: int = 7,
    minor: bool = True,
    meter: TimeSignature = TimeSignature.FOUR_FOUR,
    duration_s: float = 200.0,
) -> SongPlan:
    return make_plan(
        default_catalog().get(style_id),
        key=Key(4 if minor else 7, Mode.MINOR if minor else Mode.MAJOR),
        seed=seed,
        time_signature=meter,
        duration_s=duration_s,
    )


@cache
def _composed(
    style_id: str, seed: int, minor: bool, meter: TimeSignature, duration_s: float
) -> Composition:
    return compose(song_plan(style_id, seed, minor, meter, duration_s))


@cache
def _song(
    style_id: str, seed: int, minor: bool, meter: TimeSignature, duration_s: float
) -> tuple[Composition, Score]:
    composition = _composed(style_id, seed, minor, meter, duration_s)
    plan = song_plan(style_id, seed, minor, meter, duration_s)
    return composition, arrange(composition, plan.style, plan)


def composed(
    style_id: str = "rock",
    seed: int = 7,
    minor: bool = True,
    meter: TimeSignature = TimeSignature.FOUR_FOUR,
    duration_s: float = 200.0,
) -> Composition:
    """A composition (not yet arranged), cached across tests (it is immutable)."""
    return _composed(style_id, seed, minor, meter, duration_s)


def song(
    style_id: str = "rock",
    seed: int = 7,
    minor: bool = True,
    meter: TimeSignature = TimeSignature.FOUR_FOUR,
    duration_s: float = 200.0,
) -> tuple[Composition, Score]:
    """A composed and arranged song, cached across tests (both are immutable)."""
    return _song(style_id, seed, minor, meter, duration_s)


def section_beats(composition: Composition, section: Section) -> tuple[float, float]:
    bar = composition.beats_per_bar
    return section.start_bar * bar, section.end_bar * bar


def notes_in(notes: tuple[Note, ...] | list[Note], start: float, end: float) -> list[Note]:
    return [n for n in notes if start - 1e-6 <= n.start_beat < end - 1e-6]


def relative(notes: list[Note], origin: float) -> list[tuple[float, float, int]]:
    return [(round(n.start_beat - origin, 6), round(n.duration_beats, 6), n.pitch) for n in notes]


def sections_of(composition: Composition, kind: SectionKind) -> list[Section]:
    return [s for s in composition.sections if s.kind is kind]
