"""The drum part: grooves per section fitted to the meter, fills, crashes, feel and the kick map."""

from __future__ import annotations

from typing import Any

import pytest
from compose_helpers import make_plan, rock, style_variant

from songforge.compose.composer import arrange, compose
from songforge.compose.drums import Drum
from songforge.compose.grooves import adapt_bar, groove_bars, half_time
from songforge.compose.score import Composition, Note, PartRole, Score, SectionKind
from songforge.styles.schema import Groove, Style
from songforge.theory import TimeSignature


def arranged(style: Style, **plan_fields: Any) -> tuple[Composition, Score]:
    plan = make_plan(style, **plan_fields)
    composition = compose(plan)
    return composition, arrange(composition, style, plan)


def hits(score: Score, drum: Drum) -> list[Note]:
    return [n for n in score.part("drums").notes if n.pitch == drum]


def positions_in_bar(notes: list[Note], bar_beats: float) -> set[float]:
    return {round((n.start_beat % bar_beats) * 4) / 4 for n in notes}


def test_the_drum_part_comes_first_with_the_kits_sound_and_mix() -> None:
    style = rock()
    _, score = arranged(style)
    drums = score.parts[0]
    assert drums.name == "drums" and drums.role is PartRole.DRUMS
    assert style.drums is not None
    assert drums.instrument == style.drums.instrument
    assert drums.mix == style.drums.mix


def test_kick_beats_are_where_the_kick_hits() -> None:
    _, score = arranged(rock())
    assert score.kick_beats == tuple(sorted({n.start_beat for n in hits(score, Drum.KICK)}))
    assert len(score.kick_beats) > 100


def test_a_style_without_drums_has_no_drum_part_and_no_kicks() -> None:
    style = style_variant(rock(), drums=None)
    _, score = arranged(style)
    assert all(p.role is not PartRole.DRUMS for p in score.parts)
    assert score.kick_beats == ()


def test_accents_ghosts_and_normal_hits_have_distinct_velocities() -> None:
    grooves = {"main": {"voices": {"snare": "X...x...g...x...", "kick": "x..............."}}}
    style = style_variant(
        rock(), drums={**_drums(), "grooves": grooves, "section_grooves": {}, "fills": []}
    )
    _, score = arranged(style, energy=0.75)
    snares = hits(score, Drum.SNARE)
    by_step: dict[float, list[int]] = {}
    for n in snares:
        by_step.setdefault(round((n.start_beat % 4) * 4) / 4, []).append(n.velocity)
    accent = sum(by_step[0.0]) / len(by_step[0.0])
    normal = sum(by_step[1.0]) / len(by_step[1.0])
    ghost = sum(by_step[2.0]) / len(by_step[2.0])
    assert accent > normal > ghost
    assert max(by_step[2.0]) <= 60


def _drums() -> dict[str, Any]:
    drums = rock().drums
    assert drums is not None
    return drums.model_dump(mode="python")


def test_a_two_bar_groove_alternates_its_bars() -> None:
    grooves = {"main": {"voices": {"kick": "x" + "." * 15 + "x.......x" + "." * 7}}}
    style = style_variant(
        rock(),
        drums={
            **_drums(),
            "grooves": grooves,
            "section_grooves": {},
            "fills": [],
            "fill_every_bars": 0,
        },
    )
    structure = (SectionKind.VERSE,)
    composition, score = arranged(style, structure=structure, duration_s=60.0)
    kicks = [n for n in hits(score, Drum.KICK) if n.start_beat < composition.total_beats - 8]
    per_bar: dict[int, int] = {}
    for n in kicks:
        per_bar[int(round(n.start_beat) // 4)] = per_bar.get(int(round(n.start_beat) // 4), 0) + 1
    # (every 4th bar may push an extra kick into the next: a seeded variant)
    assert per_bar[0] == 1 and per_bar[1] == 2 and per_bar[2] == 1 and per_bar[5] == 2


def test_a_fill_closes_each_section_and_every_phrase() -> None:
    fills = [{"voices": {"cowbell": "x.x.x.x.x.x.x.x."}}]
    style = style_variant(rock(), drums={**_drums(), "fills": fills, "fill_every_bars": 8})
    composition, score = arranged(style, energy=0.9)
    bars_with_fill = {int(round(n.start_beat * 4) / 4 // 4) for n in hits(score, Drum.COWBELL)}
    expected = {
        section.start_bar + b
        for section in composition.sections
        for b in range(section.bars)
        if b == section.bars - 1 or (b + 1) % 8 == 0
    }
    assert bars_with_fill == expected


def test_sections_start_with_a_crash() -> None:
    composition, score = arranged(rock())
    crashes = [round(n.start_beat) for n in hits(score, Drum.CRASH)]
    for section in composition.sections[1:]:
        start = section.start_bar * composition.beats_per_bar
        assert any(abs(c - start) <= 0.1 for c in crashes), section.name


def test_the_song_ends_on_a_final_hit() -> None:
    composition, score = arranged(rock())
    end = composition.total_beats
    assert any(abs(n.start_beat - end) < 0.05 for n in hits(score, Drum.KICK))
    assert any(abs(n.start_beat - end) < 0.05 for n in hits(score, Drum.CRASH))


def test_humanising_never_moves_a_note_before_zero_or_past_the_end() -> None:
    style = style_variant(rock(), drums={**_drums(), "humanize_ms": 60.0})
    composition, score = arranged(style, duration_s=45.0)
    end = composition.total_beats + composition.ending_beats
    for part in score.parts:
        for n in part.notes:
            assert n.start_beat >= 0.0 and n.end_beat <= end + 1e-9


def test_the_kit_drifts_together_by_a_few_milliseconds() -> None:
    composition, score = arranged(rock(), duration_s=60.0)
    bar = composition.beats_per_bar
    kicks = [
        n
        for n in hits(score, Drum.KICK)
        if abs(n.start_beat % bar) < 0.1 and n.start_beat < composition.total_beats
    ]
    offsets_ms = [
        (n.start_beat - round(n.start_beat)) * 60000 / composition.tempo_bpm for n in kicks
    ]
    assert max(abs(o) for o in offsets_ms) <= 3 * 8.0
    assert len({round(o, 3) for o in offsets_ms}) > 1, "not quantised"


def test_three_four_turns_a_rock_groove_into_a_waltz() -> None:
    bars = groove_bars(
        Groove(voices={"kick": "x.......x.x.....", "snare": "....x.......x..."}),
        TimeSignature.THREE_FOUR,
    )
    assert bars == [{"kick": "x...........", "snare": "....x...x..."}]


def test_six_eight_feels_two_dotted_quarter_pulses() -> None:
    bar = groove_bars(
        Groove(
            voices={
                "kick": "x.......x.x.....",
                "snare": "....x.......x...",
                "hat_closed": "x.x.x.x.x.x.x.x.",
            }
        ),
        TimeSignature.SIX_EIGHT,
    )[0]
    assert bar["kick"] == "x..........."
    assert bar["snare"] == "......x....."
    assert bar["hat_closed"] == "x.x.x.x.x.x."


def test_grooves_of_any_multiple_of_the_bar_are_accepted() -> None:
    for steps in ("x" * 16, "x..." * 8, "x." * 24):
        assert (
            len(groove_bars(Groove(voices={"kick": steps}), TimeSignature.FOUR_FOUR))
            == len(steps) // 16
        )
    assert adapt_bar("x.x.x.x.x.x.x.x.", 16, TimeSignature.TWO_FOUR, "hat_closed") == "x.x.x.x."


def test_half_time_moves_the_backbeat_to_beat_three() -> None:
    assert (
        half_time({"snare": "....x.......x...", "kick": "x..............."})["snare"]
        == "........x......."
    )
    style = style_variant(rock(), feel="half_time")
    composition, score = arranged(style, energy=0.9)
    chorus = next(s for s in composition.sections if s.kind is SectionKind.CHORUS)
    start = chorus.start_bar * 4
    groove_bars_only = [
        start + 4 * b for b in range(chorus.bars) if (b + 1) % 8 and b < chorus.bars - 1
    ]
    snares = [
        n
        for n in hits(score, Drum.SNARE)
        if any(b - 0.1 <= n.start_beat < b + 3.9 for b in groove_bars_only) and n.velocity > 60
    ]
    assert positions_in_bar(snares, 4.0) == {2.0}


def test_swing_delays_the_off_eighths() -> None:
    style = style_variant(rock(), feel="swing", swing=1 / 3)
    composition, score = arranged(style, duration_s=60.0)
    hats = [n for n in hits(score, Drum.HAT_CLOSED) if n.start_beat < composition.total_beats]
    offs = [n.start_beat % 1.0 for n in hats if 0.3 < n.start_beat % 1.0 < 0.9]
    assert offs and sum(offs) / len(offs) == pytest.approx(2 / 3, abs=0.03)


def test_quiet_sections_thin_the_cymbals() -> None:
    quiet = style_variant(rock(), energy=0.75)
    composition, calm = arranged(quiet, energy=0.1)
    _, loud = arranged(quiet, energy=0.75)
    assert len(hits(calm, Drum.HAT_CLOSED)) < len(hits(loud, Drum.HAT_CLOSED))
    assert composition.sections


def test_silence_before_a_chorus_when_the_dice_ask_for_it() -> None:
    found = False
    for seed in range(6):
        composition, score = arranged(rock(), seed=seed)
        for i, section in enumerate(composition.sections):
            if i == 0 or section.kind is not SectionKind.CHORUS:
                continue
            start = section.start_bar * composition.beats_per_bar
            window = [
                n
                for p in score.parts
                if p.role in (PartRole.DRUMS, PartRole.BASS, PartRole.CHORDS)
                for n in p.notes
                if start - 0.9 <= n.start_beat < start - 0.1
            ]
            if not window:
                found = True
    assert found
