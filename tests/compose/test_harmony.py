"""Harmony: Roman numerals in a key, the same progression in every chorus, turnarounds at section
ends and a final cadence onto the tonic that rings through the ending."""

from __future__ import annotations

import pytest
from compose_helpers import composed, make_plan, rock, section_beats, sections_of, style_variant

from songforge.compose.composer import compose
from songforge.compose.harmony import chord_for, lenient_chord, parse_numeral
from songforge.compose.score import ChordQuality, Composition, SectionKind
from songforge.compose.summary import chords_by_bar
from songforge.compose.timeline import ChordTimeline
from songforge.styles.catalog import default_catalog
from songforge.theory import Key, Mode

C_MAJOR = Key(0, Mode.MAJOR)
A_MINOR = Key(9, Mode.MINOR)
E_MINOR = Key(4, Mode.MINOR)


@pytest.mark.parametrize(
    ("numeral", "key", "symbol"),
    [
        ("I", C_MAJOR, "C"),
        ("ii", C_MAJOR, "Dm"),
        ("iii", C_MAJOR, "Em"),
        ("IV", C_MAJOR, "F"),
        ("V", C_MAJOR, "G"),
        ("vi", C_MAJOR, "Am"),
        ("vii°", C_MAJOR, "Bdim"),
        ("bVII", C_MAJOR, "Bb"),
        ("bVI", C_MAJOR, "Ab"),
        ("bIII", C_MAJOR, "Eb"),
        ("V7", C_MAJOR, "G7"),
        ("IVmaj7", C_MAJOR, "Fmaj7"),
        ("ii7", C_MAJOR, "Dm7"),
        ("iim7", C_MAJOR, "Dm7"),
        ("V9", C_MAJOR, "G9"),
        ("vim9", C_MAJOR, "Am9"),
        ("Isus2", C_MAJOR, "Csus2"),
        ("Vsus4", C_MAJOR, "Gsus4"),
        ("I5", C_MAJOR, "C5"),
        ("viiø7", C_MAJOR, "Bm7b5"),
        ("Iadd9", C_MAJOR, "Cadd9"),
        ("viidim", C_MAJOR, "Bdim"),
        ("i", A_MINOR, "Am"),
        ("iv", A_MINOR, "Dm"),
        ("v", A_MINOR, "Em"),
        ("V", A_MINOR, "E"),
        ("VI", A_MINOR, "F"),
        ("III", A_MINOR, "C"),
        ("VII", A_MINOR, "G"),
        ("bVI", A_MINOR, "F"),
        ("bVII", A_MINOR, "G"),
    ],
)
def test_roman_numerals_name_chords_in_the_key(numeral: str, key: Key, symbol: str) -> None:
    assert chord_for(numeral, key).symbol == symbol


def test_extensions_turn_triads_into_power_chords_sevenths_and_ninths() -> None:
    assert chord_for("IV", C_MAJOR, "power").quality is ChordQuality.POWER
    assert chord_for("I", C_MAJOR, "sevenths").symbol == "Cmaj7"
    assert chord_for("V", C_MAJOR, "sevenths").symbol == "G7"
    assert chord_for("ii", C_MAJOR, "sevenths").symbol == "Dm7"
    assert chord_for("vii°", C_MAJOR, "sevenths").symbol == "Bm7b5"
    assert chord_for("IV", C_MAJOR, "rich").symbol == "Fmaj9"
    assert chord_for("vi", C_MAJOR, "rich").symbol == "Am9"
    assert chord_for("Vsus4", C_MAJOR, "sevenths").symbol == "Gsus4", "a spelled suffix wins"


def test_unreadable_numerals_are_rejected_strictly_and_tolerated_leniently() -> None:
    with pytest.raises(ValueError):
        parse_numeral("X", C_MAJOR)
    with pytest.raises(ValueError):
        parse_numeral("V/V", C_MAJOR)
    assert lenient_chord("V/V", C_MAJOR).symbol == "G"
    assert lenient_chord("nonsense", C_MAJOR).symbol == "C"


def test_every_numeral_in_every_style_file_parses() -> None:
    problems = []
    for style in default_catalog():
        spec = style.harmony
        lists = (
            spec.progressions_major
            + spec.chorus_progressions_major
            + spec.progressions_minor
            + spec.chorus_progressions_minor
        )
        for progression in lists:
            for numeral in progression:
                try:
                    parse_numeral(numeral, C_MAJOR)
                except ValueError as exc:
                    problems.append(f"{style.id}: {exc}")
    assert not problems


def chord_names(composition: Composition, start: float, end: float) -> list[tuple[float, str]]:
    return [
        (round(e.start_beat - start, 6), e.chord.symbol)
        for e in composition.chords
        if start <= e.start_beat < end
    ]


@pytest.mark.parametrize("style_id", ["rock", "pop", "house", "trance", "blues", "lofi"])
def test_every_chorus_repeats_the_same_progression(style_id: str) -> None:
    composition = composed(style_id)
    kinds = (SectionKind.CHORUS, SectionKind.DROP, SectionKind.VERSE)  # blues: the 12-bar verse
    kind = next(k for k in kinds if len(sections_of(composition, k)) >= 2)
    choruses = sections_of(composition, kind)
    assert len(choruses) >= 2
    shortest = min(c.bars for c in choruses) - 1  # the last bar turns toward what follows
    heads = []
    for chorus in choruses:
        start, _ = section_beats(composition, chorus)
        end = start + shortest * composition.beats_per_bar
        if chorus is composition.sections[-1]:
            end -= composition.beats_per_bar  # the final cadence replaces the song's last bars
        heads.append(chord_names(composition, start, end))
    for head in heads[1:]:
        assert head == heads[0][: len(head)]


def test_it_ends_on_the_tonic_which_rings_through_the_ending() -> None:
    for style_id in default_catalog().ids():
        for minor in (True, False):
            composition = composed(style_id, minor=minor)
            final = composition.chords[-1]
            assert final.chord.root_pc == composition.key.tonic_pc, style_id
            assert final.start_beat == pytest.approx(composition.total_beats)
            assert final.duration_beats == pytest.approx(composition.ending_beats)
            before = composition.chords[-2]
            assert before.chord.root_pc != composition.key.tonic_pc, (
                style_id,
                "a cadence leads in",
            )


def test_sections_end_with_a_turnaround_away_from_the_tonic() -> None:
    composition = composed("rock")
    timeline = ChordTimeline(composition.chords)
    for section in composition.sections[:-1]:
        _, end = section_beats(composition, section)
        assert timeline.chord_at(end - 0.01).root_pc != composition.key.tonic_pc, section.name


def test_two_chords_per_bar_change_every_half_bar() -> None:
    style = style_variant(rock(), harmony={"chords_per_bar": 2})
    composition = compose(make_plan(style))
    verse = sections_of(composition, SectionKind.VERSE)[0]
    start, _ = section_beats(composition, verse)
    starts = [e.start_beat - start for e in composition.chords if start <= e.start_beat < start + 8]
    assert starts == [0.0, 2.0, 4.0, 6.0]


def test_one_chord_per_two_bars_changes_every_other_bar() -> None:
    style = style_variant(rock(), harmony={"chords_per_bar": 0.5})
    composition = compose(make_plan(style))
    verse = sections_of(composition, SectionKind.VERSE)[0]
    start, _ = section_beats(composition, verse)
    starts = [
        e.start_beat - start for e in composition.chords if start <= e.start_beat < start + 16
    ]
    assert starts == [0.0, 8.0]


def test_minor_keys_use_the_minor_progressions() -> None:
    composition = composed("rock", minor=True)
    tonic = composition.key.tonic_pc
    first = composition.chords[0].chord
    assert first.root_pc in {
        tonic,
        (tonic + 8) % 12,
        (tonic + 3) % 12,
        (tonic + 10) % 12,
        (tonic + 5) % 12,
    }


def test_a_style_with_only_major_progressions_still_writes_in_a_minor_key() -> None:
    style = style_variant(
        rock(), harmony={"progressions_minor": [], "chorus_progressions_minor": []}
    )
    composition = compose(make_plan(style, key=E_MINOR))
    symbols = {e.chord.root_pc for e in composition.chords}
    assert composition.chords[-1].chord.root_pc == 4
    assert symbols


def test_chords_by_bar_names_the_chord_on_every_downbeat() -> None:
    composition = composed("rock")
    names = chords_by_bar(composition)
    assert len(names) == composition.total_bars
    assert names[0] == composition.chords[0].chord.symbol
    assert all(isinstance(n, str) and n for n in names)


def test_another_seed_can_choose_another_progression() -> None:
    progressions = {
        tuple(e.numeral for e in compose(make_plan(seed=seed)).chords[:8]) for seed in range(8)
    }
    assert len(progressions) > 1


def test_a_short_section_quickens_its_chords_to_state_the_whole_progression() -> None:
    """Four chords at one per two bars need eight bars: a thirty-second song's four-bar
    chorus changes every bar instead of stopping half way through its loop."""
    style = style_variant(
        default_catalog().get("funk"),
        harmony={"chords_per_bar": 0.5, "chorus_progressions_minor": [["IV9", "IV9", "i7", "i7"]]},
    )
    composition = compose(make_plan(style, key=E_MINOR, duration_s=30.0))
    chorus = sections_of(composition, SectionKind.CHORUS)[0]
    assert chorus.bars < 8
    start, end = section_beats(composition, chorus)
    numerals = [e.numeral for e in composition.chords if start <= e.start_beat < end]
    assert numerals[:4] == ["IV9", "IV9", "i7", "i7"]
    assert all(e.duration_beats >= composition.beats_per_bar / 2 for e in composition.chords)


def test_a_long_section_keeps_the_styles_harmonic_rhythm() -> None:
    style = style_variant(rock(), harmony={"chords_per_bar": 0.5})
    composition = compose(make_plan(style, duration_s=200.0))
    verse = sections_of(composition, SectionKind.VERSE)[0]
    start, end = section_beats(composition, verse)
    firsts = [e for e in composition.chords if start <= e.start_beat < end][:2]
    assert [e.duration_beats for e in firsts] == [8.0, 8.0]


def test_power_chord_styles_end_on_the_full_tonic_triad() -> None:
    """Root and fifth leave the mode open; the final ring spells the tonic's third."""
    for minor in (True, False):
        composition = composed("rock", minor=minor)
        assert composition.chords[-2].chord.quality is ChordQuality.POWER
        final = composition.chords[-1].chord
        assert final.quality is (ChordQuality.MINOR if minor else ChordQuality.MAJOR)
