"""Metadata about a composition for the engine and the API: chords per bar and the section table."""

from __future__ import annotations

from songforge.compose.score import Composition
from songforge.compose.timeline import ChordTimeline


def chords_by_bar(composition: Composition) -> list[str]:
    """The chord symbol sounding on each bar's downbeat (one entry per bar)."""
    timeline = ChordTimeline(composition.chords)
    bar = composition.beats_per_bar
    return [timeline.chord_at(i * bar).symbol for i in range(composition.total_bars)]


def section_table(composition: Composition) -> list[dict[str, object]]:
    """One row per section: name, kind, start_bar, bars, start_s, end_s, energy. The last
    section's end includes the final chord's ring, so the rows cover the whole song."""
    bar = composition.beats_per_bar
    rows: list[dict[str, object]] = []
    for i, section in enumerate(composition.sections):
        end_beats = section.end_bar * bar
        if i == len(composition.sections) - 1:
            end_beats += composition.ending_beats
        rows.append(
            {
                "name": section.name,
                "kind": section.kind.value,
                "start_bar": section.start_bar,
                "bars": section.bars,
                "start_s": round(composition.seconds(section.start_bar * bar), 3),
                "end_s": round(composition.seconds(end_beats), 3),
                "energy": section.energy,
            }
        )
    return rows
