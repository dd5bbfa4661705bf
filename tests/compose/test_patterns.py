"""Every pattern a style file may name is implemented, in every meter, and does what it says."""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from typing import Any

import pytest
from compose_helpers import make_plan, rock, style_variant

from songforge.compose.composer import arrange, compose
from songforge.compose.melody import HOOK_KINDS
from songforge.compose.score import Composition, Note, Part, PartRole, Score, SectionKind
from songforge.compose.timeline import ChordTimeline
from songforge.styles.schema import BassPattern, ChordPattern, FxPattern, LeadPattern, Style
from songforge.theory import TimeSignature

METERS = [TimeSignature.FOUR_FOUR, TimeSignature.THREE_FOUR, TimeSignature.SIX_EIGHT]
RANGES = {"bass": (28, 52), "chords": (48, 74), "lead": (60, 86), "fx": (36, 96)}


def _part(name: str, role: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "pattern": pattern,
        "instrument": {"source": "synth", "synth": "saw_lead"},
        "pitch_range": list(RANGES.get(role, RANGES["chords"])),
        "velocity": 90,
    }


def every_pattern_style() -> Style:
    parts = [_part(f"bass_{p.value}", "bass", p.value) for p in BassPattern]
    parts += [_part(f"chords_{p.value}", "chords", p.value) for p in ChordPattern]
    parts += [_part(f"lead_{p.value}", "lead", p.value) for p in LeadPattern]
    parts += [_part(f"fx_{p.value}", "fx", p.value) for p in FxPattern]
    return style_variant(rock(), parts=parts, harmony={"extensions": "triads"})


@cache
def arranged(meter: TimeSignature) -> tuple[Composition, Score]:
    style = every_pattern_style()
    plan = make_plan(style, time_signature=meter, duration_s=120.0, seed=3)
    composition = compose(plan)
    return composition, arrange(composition, style, plan)


def part_for(score: Score, name: str) -> Part:
    return score.part(name)


def sounding(timeline: ChordTimeline, note: Note) -> set[int]:
    """Pitch classes of the chords around a note's onset (humanising moves onsets a little)."""
    pcs: set[int] = set()
    for dt in (-0.12, 0.0, 0.12):
        pcs |= set(timeline.chord_at(note.start_beat + dt).pitch_classes)
    return pcs


@pytest.mark.parametrize("meter", METERS, ids=[m.value for m in METERS])
def test_every_pattern_is_implemented_and_produces_sensible_notes(meter: TimeSignature) -> None:
    composition, score = arranged(meter)
    end = composition.total_beats + composition.ending_beats
    names = {p.name for p in score.parts}
    for pattern in [*BassPattern, *ChordPattern, *LeadPattern, *FxPattern]:
        prefix = {
            BassPattern: "bass",
            ChordPattern: "chords",
            LeadPattern: "lead",
            FxPattern: "fx",
        }[type(pattern)]
        name = f"{prefix}_{pattern.value}"
        assert name in names, f"{name} wrote nothing in {meter.value}"
        part = score.part(name)
        low, high = RANGES[prefix]
        for n in part.notes:
            assert 0 <= n.start_beat < end and n.end_beat <= end + 1e-6, (name, n)
            assert n.duration_beats > 0 and 1 <= n.velocity <= 127, (name, n)
            if prefix != "fx":
                assert low <= n.pitch <= high, (name, n)


@pytest.mark.parametrize("meter", METERS, ids=[m.value for m in METERS])
def test_bass_roots_sound_on_each_chord_change(meter: TimeSignature) -> None:
    composition, score = arranged(meter)
    changes = [
        e
        for prev, e in zip(composition.chords, composition.chords[1:], strict=False)
        if e.chord != prev.chord
    ]
    for pattern in BassPattern:
        notes = score.part(f"bass_{pattern.value}").notes
        for change in changes:
            near = [
                n
                for n in notes
                if change.start_beat - 0.1 <= n.start_beat < change.start_beat + 1.0
            ]
            if pattern is BassPattern.DRONE:
                held = [n for n in notes if n.start_beat <= change.start_beat + 0.1 < n.end_beat]
                tones = {n.pitch % 12 for n in held + near}
                assert tones & set(change.chord.pitch_classes), (pattern, change)
                continue
            assert near, (pattern, change)
            first = min(n.start_beat for n in near)
            firsts = {n.pitch % 12 for n in near if n.start_beat - first < 0.05}
            assert change.chord.bass in firsts, (pattern, meter.value, change)


def test_walking_bass_approaches_each_change_by_a_semitone() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    notes = sorted(score.part("bass_walking").notes, key=lambda n: n.start_beat)
    changes = [
        e
        for p, e in zip(composition.chords, composition.chords[1:], strict=False)
        if e.chord != p.chord
    ]
    approached = 0
    for change in changes:
        before = [
            n for n in notes if change.start_beat - 1.1 < n.start_beat < change.start_beat - 0.1
        ]
        after = [n for n in notes if abs(n.start_beat - change.start_beat) < 0.1]
        if before and after and abs(before[-1].pitch - after[0].pitch) == 1:
            approached += 1
    assert approached >= len(changes) * 0.6


def test_chord_parts_play_chord_tones() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    timeline = ChordTimeline(composition.chords)
    for pattern in ChordPattern:
        notes = score.part(f"chords_{pattern.value}").notes
        fitting = sum(1 for n in notes if n.pitch % 12 in sounding(timeline, n))
        assert fitting / len(notes) >= 0.97, pattern


def test_chord_parts_move_smoothly_between_chords() -> None:
    _, score = arranged(TimeSignature.FOUR_FOUR)
    for pattern in (ChordPattern.SUSTAINED, ChordPattern.BLOCK, ChordPattern.STABS):
        notes = score.part(f"chords_{pattern.value}").notes
        onsets: dict[float, list[int]] = {}
        for n in notes:
            onsets.setdefault(round(n.start_beat * 8) / 8, []).append(n.pitch)
        shapes = [sorted(v) for _, v in sorted(onsets.items()) if len(v) >= 3]
        moves = [
            sum(abs(a - b) for a, b in zip(x, y, strict=False)) / min(len(x), len(y))
            for x, y in pairwise(shapes)
            if x != y
        ]
        assert moves and sum(moves) / len(moves) <= 4.0, pattern


def test_power_patterns_play_roots_and_fifths() -> None:
    _, score = arranged(TimeSignature.FOUR_FOUR)
    for pattern in (
        ChordPattern.POWER_EIGHTHS,
        ChordPattern.POWER_SUSTAIN,
        ChordPattern.PALM_MUTED_RIFF,
    ):
        notes = score.part(f"chords_{pattern.value}").notes
        by_onset: dict[float, list[int]] = {}
        for n in notes:
            by_onset.setdefault(round(n.start_beat * 8) / 8, []).append(n.pitch)
        intervals = {b - min(v) for v in by_onset.values() for b in v}
        assert intervals <= {0, 7, 12}, pattern


def test_the_melody_lead_plays_the_composition_melody_in_range() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    lead = score.part("lead_melody").notes
    melody = [n for n in composition.melody]
    assert len(lead) >= len(melody)
    shifts = {
        (a.pitch - b.pitch) % 12
        for a, b in zip(
            sorted(lead[: len(melody)], key=lambda n: n.start_beat), melody, strict=False
        )
    }
    assert shifts == {0}, "moved by whole octaves only"


def test_the_hook_only_lead_plays_only_in_choruses() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    bar = composition.beats_per_bar
    notes = score.part("lead_hook_only").notes
    hook_spans = [
        (s.start_bar * bar, s.end_bar * bar) for s in composition.sections if s.kind in HOOK_KINDS
    ]
    end = composition.total_beats
    for n in notes:
        inside = (
            any(a - 0.1 <= n.start_beat < b for a, b in hook_spans) or n.start_beat >= end - 0.1
        )
        assert inside, n


def test_fills_answer_in_the_melodys_rests() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    fills = score.part("lead_fills").notes
    assert fills
    for f in fills:
        for m in composition.melody:
            overlap = min(f.end_beat, m.end_beat) - max(f.start_beat, m.start_beat)
            assert overlap <= 0.15, (f, m)


def test_the_riff_repeats_a_figure_from_the_hook() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    riff = score.part("lead_riff").notes
    bar = composition.beats_per_bar
    first_bars = sorted({round((n.start_beat % bar) * 4) / 4 for n in riff})
    hook_positions = sorted({round((n.start_beat % bar) * 4) / 4 for n in composition.hook})
    assert riff and set(hook_positions) & set(first_bars)


def test_transitions_rise_into_choruses_and_hit_their_downbeats() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    bar = composition.beats_per_bar
    notes = score.part("fx_transitions").notes
    targets = [
        s.start_bar * bar
        for i, s in enumerate(composition.sections)
        if i and s.kind in (SectionKind.CHORUS, SectionKind.DROP)
    ]
    assert targets
    for t in targets:
        risers = [n for n in notes if abs(n.end_beat - t) < 1e-6 and n.duration_beats >= bar]
        impacts = [n for n in notes if abs(n.start_beat - t) < 1e-6]
        assert risers and impacts, t


def test_texture_is_one_continuous_bed_under_the_song() -> None:
    composition, score = arranged(TimeSignature.FOUR_FOUR)
    notes = score.part("fx_texture").notes
    assert len(notes) == 1
    assert notes[0].start_beat == 0.0
    assert notes[0].end_beat == pytest.approx(composition.total_beats + composition.ending_beats)


def test_a_part_plays_only_in_its_listed_sections_or_above_its_energy() -> None:
    composition, _ = arranged(TimeSignature.FOUR_FOUR)
    style = rock()
    plan = make_plan(style, duration_s=120.0, seed=3)
    arranged_rock = arrange(composition, style, plan)
    bar = composition.beats_per_bar
    organ = next(p for p in style.parts if p.name == "organ")
    allowed = [
        (s.start_bar * bar, s.end_bar * bar)
        for s in composition.sections
        if s.kind in (organ.sections or ())
    ]
    for n in arranged_rock.part("organ").notes:
        assert (
            any(a - 0.1 <= n.start_beat < b for a, b in allowed)
            or n.start_beat >= composition.total_beats - 0.1
        )
    guitar = next(p for p in style.parts if p.name == "rhythm_guitar_r")
    quiet = [
        (s.start_bar * bar, s.end_bar * bar)
        for s in composition.sections
        if s.energy < guitar.min_energy
    ]
    for n in arranged_rock.part("rhythm_guitar_r").notes:
        assert not any(a + 0.1 <= n.start_beat < b - 0.1 for a, b in quiet)
    assert PartRole.DRUMS is arranged_rock.parts[0].role
