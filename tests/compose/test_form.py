"""The form: sections sized in whole phrases so the song lasts what was asked, and an energy
curve that peaks on the last chorus."""

from __future__ import annotations

from typing import Any

import pytest
from compose_helpers import make_plan, rock, style_variant

from songforge.compose.composer import compose
from songforge.compose.form import plan_form
from songforge.compose.score import SectionKind
from songforge.styles.catalog import default_catalog
from songforge.theory import TimeSignature


def song_seconds(plan_duration_s: float, **overrides: Any) -> float:
    composition = compose(make_plan(duration_s=plan_duration_s, **overrides))
    beats = composition.total_beats + composition.ending_beats
    return beats * 60.0 / composition.tempo_bpm


@pytest.mark.parametrize("duration_s", [30.0, 47.5, 95.0, 180.0, 241.3, 333.0, 600.0])
@pytest.mark.parametrize("tempo_bpm", [62.0, 128.0, 197.0])
@pytest.mark.parametrize("locked", [True, False])
def test_the_song_lasts_the_requested_duration_within_a_tenth_of_a_second(
    duration_s: float, tempo_bpm: float, locked: bool
) -> None:
    plan = make_plan(duration_s=duration_s, tempo_bpm=tempo_bpm, tempo_locked=locked)
    form = plan_form(plan)
    seconds = (form.total_bars * 4 + form.ending_beats) * 60.0 / form.tempo_bpm
    assert seconds == pytest.approx(duration_s, abs=0.1)
    assert 2.0 <= form.ending_beats <= 16.0


@pytest.mark.parametrize("meter", list(TimeSignature))
@pytest.mark.parametrize("duration_s", [30.0, 200.0, 600.0])
def test_every_meter_lands_on_the_duration(meter: TimeSignature, duration_s: float) -> None:
    assert song_seconds(duration_s, time_signature=meter) == pytest.approx(duration_s, abs=0.1)


@pytest.mark.parametrize("style_id", default_catalog().ids())
def test_every_style_file_lands_on_short_default_and_long_durations(style_id: str) -> None:
    style = default_catalog().get(style_id)
    for duration_s in (30.0, style.default_duration_s, 600.0):
        for meter in style.time_signatures:
            plan = make_plan(style, duration_s=duration_s, time_signature=meter)
            form = plan_form(plan)
            seconds = (
                (form.total_bars * meter.beats_per_bar + form.ending_beats) * 60.0 / form.tempo_bpm
            )
            assert seconds == pytest.approx(duration_s, abs=0.1), (style_id, meter, duration_s)


def test_a_locked_tempo_is_kept_exactly() -> None:
    for duration_s in (30.0, 187.0, 412.0):
        form = plan_form(make_plan(tempo_bpm=133.0, tempo_locked=True, duration_s=duration_s))
        assert form.tempo_bpm == 133.0


def test_an_unlocked_tempo_moves_at_most_six_percent_and_stays_in_the_style() -> None:
    style = rock()
    for duration_s in (30.0, 61.0, 187.0, 412.0, 600.0):
        for tempo in (101.0, 128.0, 149.0):
            form = plan_form(make_plan(tempo_bpm=tempo, duration_s=duration_s))
            assert abs(form.tempo_bpm / tempo - 1) <= 0.06 + 1e-9
            assert style.tempo_bpm[0] <= form.tempo_bpm <= style.tempo_bpm[1]


def test_sections_grow_and_shrink_in_whole_phrases() -> None:
    """Every section but the one that absorbs the last bars (the outro) is whole phrases."""
    for duration_s in (150.0, 200.0, 260.0, 400.0):
        form = plan_form(make_plan(duration_s=duration_s, tempo_bpm=128.0, tempo_locked=True))
        for section in form.sections:
            if section.kind is not SectionKind.OUTRO:
                assert section.bars % 4 == 0, (duration_s, section)


def test_blues_sections_are_whole_twelve_bar_choruses() -> None:
    blues = default_catalog().get("blues")
    for duration_s in (150.0, 225.0, 400.0):
        form = plan_form(make_plan(blues, duration_s=duration_s))
        body = [s for s in form.sections if s.kind not in (SectionKind.INTRO, SectionKind.OUTRO)]
        assert body and all(s.bars % 12 == 0 for s in body), [
            (s.kind, s.bars) for s in form.sections
        ]


def test_a_long_song_repeats_the_verse_to_chorus_block_rather_than_stretching_sections() -> None:
    form = plan_form(make_plan(duration_s=600.0, tempo_bpm=128.0))
    kinds = [s.kind for s in form.sections]
    assert kinds.count(SectionKind.CHORUS) > rock().form.sections.count(SectionKind.CHORUS)
    assert max(s.bars for s in form.sections) <= 2 * 16


def test_a_thirty_second_song_keeps_a_chorus_in_short_phrases() -> None:
    form = plan_form(make_plan(duration_s=30.0, tempo_bpm=128.0, tempo_locked=True))
    kinds = [s.kind for s in form.sections]
    assert SectionKind.CHORUS in kinds
    assert len(kinds) <= 5


def test_an_explicit_structure_is_played_in_order() -> None:
    structure = (
        SectionKind.INTRO,
        SectionKind.VERSE,
        SectionKind.CHORUS,
        SectionKind.CHORUS,
        SectionKind.OUTRO,
    )
    for duration_s in (60.0, 200.0, 500.0):
        form = plan_form(make_plan(structure=structure, duration_s=duration_s))
        assert tuple(s.kind for s in form.sections) == structure


def test_an_impossible_structure_gives_way_to_the_duration() -> None:
    structure = (SectionKind.VERSE,) * 30 + (SectionKind.CHORUS,)
    plan = make_plan(structure=structure, duration_s=30.0, tempo_bpm=60.0, tempo_locked=True)
    form = plan_form(plan)
    seconds = (form.total_bars * 4 + form.ending_beats) * 60.0 / form.tempo_bpm
    assert seconds == pytest.approx(30.0, abs=0.1)


def test_section_kinds_the_style_does_not_size_get_sensible_lengths() -> None:
    style = style_variant(
        rock(),
        form={
            "bars": {
                "verse": 16,
                "chorus": 16,
                "intro": 8,
                "outro": 8,
                "pre_chorus": 8,
                "bridge": 8,
            }
        },
    )
    structure = (SectionKind.INTRO, SectionKind.BUILD, SectionKind.DROP, SectionKind.OUTRO)
    form = plan_form(make_plan(style, structure=structure, duration_s=120.0))
    assert all(s.bars >= 1 for s in form.sections)


def test_sections_are_contiguous_and_named_by_occurrence() -> None:
    form = plan_form(make_plan(duration_s=240.0))
    start = 0
    for section in form.sections:
        assert section.start_bar == start
        start = section.end_bar
    choruses = [s for s in form.sections if s.kind is SectionKind.CHORUS]
    assert [s.occurrence for s in choruses] == list(range(1, len(choruses) + 1))
    assert choruses[0].name == "chorus 1"


def test_the_last_chorus_has_the_highest_energy() -> None:
    for style_id in default_catalog().ids():
        style = default_catalog().get(style_id)
        form = plan_form(make_plan(style, duration_s=style.default_duration_s))
        climaxes = [s for s in form.sections if s.kind is SectionKind.CHORUS] or [
            s for s in form.sections if s.kind is SectionKind.DROP
        ]
        if not climaxes:
            continue
        last = climaxes[-1]
        assert all(s.energy < last.energy for s in form.sections if s is not last), style_id


def test_the_plan_energy_shifts_the_whole_curve() -> None:
    calm = plan_form(make_plan(energy=0.3))
    loud = plan_form(make_plan(energy=0.95))
    verse = SectionKind.VERSE
    calm_verse = next(s.energy for s in calm.sections if s.kind is verse)
    loud_verse = next(s.energy for s in loud.sections if s.kind is verse)
    assert calm_verse < loud_verse
    assert all(0.0 <= s.energy <= 1.0 for s in calm.sections + loud.sections)


def test_intro_is_quieter_than_the_chorus() -> None:
    form = plan_form(make_plan())
    intro = next(s for s in form.sections if s.kind is SectionKind.INTRO)
    chorus = next(s for s in form.sections if s.kind is SectionKind.CHORUS)
    assert intro.energy < chorus.energy
