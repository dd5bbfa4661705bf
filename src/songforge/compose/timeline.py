"""Fast lookups into a composition's chords: which chord sounds at a beat, and the chord
segments a stretch of the song passes through (with the chord that follows each)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from songforge.compose.score import Chord, ChordEvent

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class ChordSegment:
    """A chord's stretch clipped to a window, and the chord that comes next (None at the end)."""

    start_beat: float
    end_beat: float
    chord: Chord
    numeral: str
    next_chord: Chord | None

    @property
    def duration_beats(self) -> float:
        return self.end_beat - self.start_beat

    @property
    def changes_next(self) -> bool:
        """Whether the harmony moves at this segment's end."""
        return self.next_chord is not None and self.next_chord != self.chord


class ChordTimeline:
    """The chord events of a composition, sorted, with O(log n) lookup."""

    def __init__(self, chords: Sequence[ChordEvent]) -> None:
        if not chords:
            raise ValueError("a chord timeline needs at least one chord")
        self.events = tuple(sorted(chords, key=lambda e: e.start_beat))
        self._starts = [e.start_beat for e in self.events]

    def index_at(self, beat: float) -> int:
        return max(0, min(bisect_right(self._starts, beat + _EPS) - 1, len(self.events) - 1))

    def at(self, beat: float) -> ChordEvent:
        return self.events[self.index_at(beat)]

    def chord_at(self, beat: float) -> Chord:
        return self.at(beat).chord

    def segments(
        self, start_beat: float, end_beat: float, merge: bool = False
    ) -> list[ChordSegment]:
        """Chord stretches covering [start, end); ``merge`` joins repeats of the same chord."""
        out: list[ChordSegment] = []
        i = self.index_at(start_beat)
        while i < len(self.events) and self.events[i].start_beat < end_beat - _EPS:
            event = self.events[i]
            seg_start = max(event.start_beat, start_beat)
            seg_end = min(event.end_beat, end_beat)
            following = self.events[i + 1].chord if i + 1 < len(self.events) else None
            if seg_end > seg_start + _EPS:
                if merge and out and out[-1].chord == event.chord:
                    prev = out[-1]
                    out[-1] = ChordSegment(
                        prev.start_beat, seg_end, prev.chord, prev.numeral, following
                    )
                else:
                    out.append(
                        ChordSegment(seg_start, seg_end, event.chord, event.numeral, following)
                    )
            i += 1
        return out
