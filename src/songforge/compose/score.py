"""The plain data model of a song as notes: a Composition (form, harmony, melody) and the Score
an arrangement makes of it (parts of notes with instruments). Times are in beats (quarter notes)
until rendering. Everything here is frozen and pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from songforge.theory import PITCH_CLASS_NAMES, Key, TimeSignature

if TYPE_CHECKING:
    from songforge.styles.schema import InstrumentSpec, PartMix


class SectionKind(StrEnum):
    INTRO = "intro"
    VERSE = "verse"
    PRE_CHORUS = "pre_chorus"
    CHORUS = "chorus"
    POST_CHORUS = "post_chorus"
    BRIDGE = "bridge"
    BREAKDOWN = "breakdown"
    BUILD = "build"
    DROP = "drop"
    SOLO = "solo"
    INTERLUDE = "interlude"
    OUTRO = "outro"

    @classmethod
    def parse(cls, name: str) -> SectionKind:
        """Accept 'pre-chorus', 'Pre Chorus', 'prechorus', 'pre', 'hook' and the like."""
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        key = _SECTION_ALIASES.get(key, key)
        return cls(key)


_SECTION_ALIASES = {
    "pre": "pre_chorus",
    "prechorus": "pre_chorus",
    "postchorus": "post_chorus",
    "post": "post_chorus",
    "hook": "chorus",
    "refrain": "chorus",
    "middle_8": "bridge",
    "middle8": "bridge",
    "break": "breakdown",
    "buildup": "build",
    "build_up": "build",
    "riser": "build",
    "ending": "outro",
    "coda": "outro",
    "head": "verse",
    "theme": "verse",
}


@dataclass(frozen=True, slots=True)
class Section:
    """A stretch of whole bars with one role in the form."""

    name: str  # display name, e.g. "chorus 2"
    kind: SectionKind
    start_bar: int
    bars: int
    energy: float  # 0..1, drives density, register, velocity and filter cutoff
    occurrence: int = 1  # 1 for the first chorus, 2 for the second, ...

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars


class ChordQuality(StrEnum):
    MAJOR = "maj"
    MINOR = "min"
    DIMINISHED = "dim"
    AUGMENTED = "aug"
    SUS2 = "sus2"
    SUS4 = "sus4"
    POWER = "5"
    MAJOR7 = "maj7"
    MINOR7 = "m7"
    DOMINANT7 = "7"
    HALF_DIMINISHED7 = "m7b5"
    DIMINISHED7 = "dim7"
    ADD9 = "add9"
    MAJOR9 = "maj9"
    MINOR9 = "m9"
    DOMINANT9 = "9"
    MINOR11 = "m11"
    SIX = "6"
    MINOR6 = "m6"

    @property
    def intervals(self) -> tuple[int, ...]:
        return _CHORD_INTERVALS[self]


_CHORD_INTERVALS: dict[ChordQuality, tuple[int, ...]] = {
    ChordQuality.MAJOR: (0, 4, 7),
    ChordQuality.MINOR: (0, 3, 7),
    ChordQuality.DIMINISHED: (0, 3, 6),
    ChordQuality.AUGMENTED: (0, 4, 8),
    ChordQuality.SUS2: (0, 2, 7),
    ChordQuality.SUS4: (0, 5, 7),
    ChordQuality.POWER: (0, 7),
    ChordQuality.MAJOR7: (0, 4, 7, 11),
    ChordQuality.MINOR7: (0, 3, 7, 10),
    ChordQuality.DOMINANT7: (0, 4, 7, 10),
    ChordQuality.HALF_DIMINISHED7: (0, 3, 6, 10),
    ChordQuality.DIMINISHED7: (0, 3, 6, 9),
    ChordQuality.ADD9: (0, 4, 7, 14),
    ChordQuality.MAJOR9: (0, 4, 7, 11, 14),
    ChordQuality.MINOR9: (0, 3, 7, 10, 14),
    ChordQuality.DOMINANT9: (0, 4, 7, 10, 14),
    ChordQuality.MINOR11: (0, 3, 7, 10, 14, 17),
    ChordQuality.SIX: (0, 4, 7, 9),
    ChordQuality.MINOR6: (0, 3, 7, 9),
}


@dataclass(frozen=True, slots=True)
class Chord:
    root_pc: int
    quality: ChordQuality
    bass_pc: int | None = None  # slash-chord bass; None means the root

    @property
    def symbol(self) -> str:
        suffix = {ChordQuality.MAJOR: "", ChordQuality.MINOR: "m"}.get(
            self.quality, self.quality.value
        )
        text = PITCH_CLASS_NAMES[self.root_pc] + suffix
        if self.bass_pc is not None and self.bass_pc != self.root_pc:
            text += "/" + PITCH_CLASS_NAMES[self.bass_pc]
        return text

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple(sorted({(self.root_pc + i) % 12 for i in self.quality.intervals}))

    @property
    def bass(self) -> int:
        return self.root_pc if self.bass_pc is None else self.bass_pc


@dataclass(frozen=True, slots=True)
class ChordEvent:
    """A chord held from ``start_beat`` for ``duration_beats``; ``numeral`` keeps its function."""

    start_beat: float
    duration_beats: float
    chord: Chord
    numeral: str = ""

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.duration_beats


@dataclass(frozen=True, slots=True)
class Note:
    start_beat: float
    duration_beats: float
    pitch: int  # MIDI note number; for drums, a General MIDI drum note (see compose.drums.Drum)
    velocity: int  # 1..127

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.duration_beats


@dataclass(frozen=True)
class Composition:
    """What is composed, independent of which instruments play it: form, harmony, melody.

    One composition can be arranged in several styles (that is what remix does)."""

    key: Key
    tempo_bpm: float
    time_signature: TimeSignature
    sections: tuple[Section, ...]
    chords: tuple[ChordEvent, ...]
    melody: tuple[Note, ...]
    counter_melody: tuple[Note, ...] = ()
    hook: tuple[Note, ...] = ()  # the chorus hook motif, relative to its first bar
    ending_beats: float = 4.0  # the final chord's ring after the last bar
    style_id: str = ""  # the style whose vocabulary wrote it
    seed: int = 0

    @property
    def total_bars(self) -> int:
        return self.sections[-1].end_bar if self.sections else 0

    @property
    def beats_per_bar(self) -> float:
        return self.time_signature.beats_per_bar

    @property
    def total_beats(self) -> float:
        return self.total_bars * self.beats_per_bar

    def seconds(self, beats: float) -> float:
        return beats * 60.0 / self.tempo_bpm

    def section_at_bar(self, bar: int) -> Section:
        for section in self.sections:
            if section.start_bar <= bar < section.end_bar:
                return section
        return self.sections[-1]

    def chord_at(self, beat: float) -> ChordEvent:
        for event in self.chords:
            if event.start_beat <= beat < event.end_beat:
                return event
        return self.chords[-1]


class PartRole(StrEnum):
    DRUMS = "drums"
    PERCUSSION = "percussion"
    BASS = "bass"
    CHORDS = "chords"
    PAD = "pad"
    ARP = "arp"
    LEAD = "lead"
    COUNTER = "counter"
    FX = "fx"


@dataclass(frozen=True)
class Part:
    """One instrument's notes plus how it sounds and sits in the mix."""

    name: str
    role: PartRole
    notes: tuple[Note, ...]
    instrument: InstrumentSpec
    mix: PartMix

    @property
    def is_drums(self) -> bool:
        return self.role in (PartRole.DRUMS, PartRole.PERCUSSION)


@dataclass(frozen=True)
class Score:
    """A composition arranged for a style: the notes every part plays."""

    composition: Composition
    style_id: str
    tempo_bpm: float
    parts: tuple[Part, ...]
    kick_beats: tuple[float, ...] = ()  # where the kick hits: the sidechain key
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def total_beats(self) -> float:
        return self.composition.total_beats + self.composition.ending_beats

    @property
    def duration_s(self) -> float:
        return self.total_beats * 60.0 / self.tempo_bpm

    def part(self, name: str) -> Part:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)
