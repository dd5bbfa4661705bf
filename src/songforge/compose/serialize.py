"""Composition ⇄ plain JSON-able dict, so a song's metadata can be re-arranged later (remix)."""

from __future__ import annotations

from typing import Any

from songforge.compose.score import (
    Chord,
    ChordEvent,
    ChordQuality,
    Composition,
    Note,
    Section,
    SectionKind,
)
from songforge.theory import Key, Mode, TimeSignature


def _notes_to_list(notes: tuple[Note, ...]) -> list[list[float]]:
    return [[n.start_beat, n.duration_beats, n.pitch, n.velocity] for n in notes]


def _notes_from_list(rows: list[list[float]]) -> tuple[Note, ...]:
    return tuple(Note(float(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in rows)


def composition_to_dict(composition: Composition) -> dict[str, Any]:
    return {
        "key": {"tonic_pc": composition.key.tonic_pc, "mode": composition.key.mode.value},
        "tempo_bpm": composition.tempo_bpm,
        "time_signature": composition.time_signature.value,
        "sections": [
            {
                "name": s.name,
                "kind": s.kind.value,
                "start_bar": s.start_bar,
                "bars": s.bars,
                "energy": s.energy,
                "occurrence": s.occurrence,
            }
            for s in composition.sections
        ],
        "chords": [
            {
                "start_beat": c.start_beat,
                "duration_beats": c.duration_beats,
                "root_pc": c.chord.root_pc,
                "quality": c.chord.quality.value,
                "bass_pc": c.chord.bass_pc,
                "numeral": c.numeral,
            }
            for c in composition.chords
        ],
        "melody": _notes_to_list(composition.melody),
        "counter_melody": _notes_to_list(composition.counter_melody),
        "hook": _notes_to_list(composition.hook),
        "ending_beats": composition.ending_beats,
        "style_id": composition.style_id,
        "seed": composition.seed,
    }


def composition_from_dict(data: dict[str, Any]) -> Composition:
    """Inverse of :func:`composition_to_dict`; raises KeyError/ValueError on a malformed sheet."""
    return Composition(
        key=Key(int(data["key"]["tonic_pc"]), Mode(data["key"]["mode"])),
        tempo_bpm=float(data["tempo_bpm"]),
        time_signature=TimeSignature(data["time_signature"]),
        sections=tuple(
            Section(
                name=s["name"],
                kind=SectionKind(s["kind"]),
                start_bar=int(s["start_bar"]),
                bars=int(s["bars"]),
                energy=float(s["energy"]),
                occurrence=int(s.get("occurrence", 1)),
            )
            for s in data["sections"]
        ),
        chords=tuple(
            ChordEvent(
                start_beat=float(c["start_beat"]),
                duration_beats=float(c["duration_beats"]),
                chord=Chord(int(c["root_pc"]), ChordQuality(c["quality"]), c.get("bass_pc")),
                numeral=str(c.get("numeral", "")),
            )
            for c in data["chords"]
        ),
        melody=_notes_from_list(data["melody"]),
        counter_melody=_notes_from_list(data.get("counter_melody", [])),
        hook=_notes_from_list(data.get("hook", [])),
        ending_beats=float(data.get("ending_beats", 4.0)),
        style_id=str(data.get("style_id", "")),
        seed=int(data.get("seed", 0)),
    )
