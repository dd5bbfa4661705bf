"""Metadata the engine reports: the chord on every bar and a table of sections with times."""

from __future__ import annotations

from itertools import pairwise

import pytest
from compose_helpers import composed

from songforge.compose.summary import chords_by_bar, section_table
from songforge.compose.timeline import ChordTimeline
from songforge.theory import TimeSignature


def test_chords_by_bar_lists_the_downbeat_chord_of_every_bar() -> None:
    composition = composed("pop", meter=TimeSignature.FOUR_FOUR)
    names = chords_by_bar(composition)
    timeline = ChordTimeline(composition.chords)
    assert len(names) == composition.total_bars
    for bar in (0, 5, composition.total_bars - 1):
        assert names[bar] == timeline.chord_at(bar * composition.beats_per_bar).symbol


def test_the_section_table_covers_the_song_without_gaps() -> None:
    composition = composed("rock", meter=TimeSignature.THREE_FOUR)
    rows = section_table(composition)
    assert [r["name"] for r in rows] == [s.name for s in composition.sections]
    assert rows[0]["start_s"] == 0.0
    for a, b in pairwise(rows):
        assert a["end_s"] == b["start_s"]
    total_s = (composition.total_beats + composition.ending_beats) * 60 / composition.tempo_bpm
    assert rows[-1]["end_s"] == pytest.approx(total_s, abs=0.001)
    assert set(rows[0]) == {"name", "kind", "start_bar", "bars", "start_s", "end_s", "energy"}
    assert all(isinstance(r["kind"], str) for r in rows)
