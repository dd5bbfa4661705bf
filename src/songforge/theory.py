"""Pure music-theory vocabulary shared by the request, the prompt reader and the composer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Conventional tonic spellings: Db major but C# minor, Ab major but G# minor.
MAJOR_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class Mode(StrEnum):
    MAJOR = "major"
    MINOR = "minor"
    DORIAN = "dorian"
    PHRYGIAN = "phrygian"
    LYDIAN = "lydian"
    MIXOLYDIAN = "mixolydian"
    HARMONIC_MINOR = "harmonic_minor"

    @property
    def intervals(self) -> tuple[int, ...]:
        return _MODE_INTERVALS[self]

    @property
    def is_minor(self) -> bool:
        """Whether the tonic triad is minor (decides lower-case Roman numerals)."""
        return self.intervals[2] == 3


_MODE_INTERVALS: dict[Mode, tuple[int, ...]] = {
    Mode.MAJOR: (0, 2, 4, 5, 7, 9, 11),
    Mode.MINOR: (0, 2, 3, 5, 7, 8, 10),
    Mode.DORIAN: (0, 2, 3, 5, 7, 9, 10),
    Mode.PHRYGIAN: (0, 1, 3, 5, 7, 8, 10),
    Mode.LYDIAN: (0, 2, 4, 6, 7, 9, 11),
    Mode.MIXOLYDIAN: (0, 2, 4, 5, 7, 9, 10),
    Mode.HARMONIC_MINOR: (0, 2, 3, 5, 7, 8, 11),
}

_MODE_WORDS: dict[str, Mode] = {
    "": Mode.MAJOR,
    "maj": Mode.MAJOR,
    "major": Mode.MAJOR,
    "ionian": Mode.MAJOR,
    "m": Mode.MINOR,
    "min": Mode.MINOR,
    "minor": Mode.MINOR,
    "aeolian": Mode.MINOR,
    "dorian": Mode.DORIAN,
    "phrygian": Mode.PHRYGIAN,
    "lydian": Mode.LYDIAN,
    "mixolydian": Mode.MIXOLYDIAN,
    "harmonic minor": Mode.HARMONIC_MINOR,
    "harmonic_minor": Mode.HARMONIC_MINOR,
}

KEY_PATTERN = re.compile(
    r"^(?P<letter>[A-Ga-g])(?P<accidental>[#b]?)\s*"
    r"(?P<mode>harmonic minor|major|minor|maj|min|m|ionian|aeolian|dorian|phrygian|lydian"
    r"|mixolydian)?$",
    re.IGNORECASE,
)


def _normalise_key_text(text: str) -> str:
    text = text.strip().replace("♯", "#").replace("♭", "b").replace("_", " ")
    text = re.sub(r"[\s-]+sharp", "#", text, flags=re.IGNORECASE)
    text = re.sub(r"[\s-]+flat", "b", text, flags=re.IGNORECASE)
    return re.sub(r"[\s-]+", " ", text)


def parse_pitch_class(name: str) -> int:
    """'F#', 'Gb', 'bb' → pitch class 0–11. Raises ValueError on anything else."""
    match = re.fullmatch(r"\s*([A-Ga-g])(#|♯|b|♭)?\s*", name)
    if not match:
        raise ValueError(f"not a note name: {name!r}")
    pc = _LETTER_PC[match.group(1).upper()]
    acc = match.group(2)
    if acc in ("#", "♯"):
        pc += 1
    elif acc in ("b", "♭"):
        pc -= 1
    return pc % 12


@dataclass(frozen=True, slots=True)
class Key:
    """A tonic pitch class and a mode, e.g. Key(4, Mode.MINOR) is E minor."""

    tonic_pc: int
    mode: Mode

    @property
    def name(self) -> str:
        names = MINOR_TONIC_NAMES if self.mode.is_minor else MAJOR_TONIC_NAMES
        return f"{names[self.tonic_pc]} {self.mode.value.replace('_', ' ')}"

    def scale_pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.tonic_pc + i) % 12 for i in self.mode.intervals)

    def degree_pitch_class(self, degree: int) -> int:
        """Pitch class of scale degree (0-based, wraps over octaves)."""
        intervals = self.mode.intervals
        return (self.tonic_pc + intervals[degree % 7]) % 12

    @property
    def relative(self) -> Key:
        """Relative major of a minor key and vice versa (other modes map to themselves)."""
        if self.mode is Mode.MINOR:
            return Key((self.tonic_pc + 3) % 12, Mode.MAJOR)
        if self.mode is Mode.MAJOR:
            return Key((self.tonic_pc + 9) % 12, Mode.MINOR)
        return self

    @classmethod
    def parse(cls, text: str, mode: str | None = None) -> Key:
        """Read 'E minor', 'F#m', 'Bb', 'C# dorian', 'a flat major'. Raises ValueError."""
        match = KEY_PATTERN.match(_normalise_key_text(text))
        if not match:
            raise ValueError(f"not a key: {text!r}")
        tonic = parse_pitch_class(match.group("letter") + match.group("accidental"))
        mode_word = match.group("mode") or ""
        chosen = _MODE_WORDS.get(mode_word.lower(), Mode.MAJOR)
        if mode is not None:
            try:
                chosen = _MODE_WORDS[mode.strip().lower()]
            except KeyError as exc:
                raise ValueError(f"unknown mode: {mode!r}") from exc
        return cls(tonic, chosen)


class TimeSignature(StrEnum):
    FOUR_FOUR = "4/4"
    THREE_FOUR = "3/4"
    SIX_EIGHT = "6/8"
    TWO_FOUR = "2/4"
    TWELVE_EIGHT = "12/8"

    @property
    def beats_per_bar(self) -> float:
        """Length of a bar in quarter-note beats (tempo is always quarter notes per minute)."""
        num, den = (int(x) for x in self.value.split("/"))
        return num * 4 / den

    @property
    def steps_per_bar(self) -> int:
        """Sixteenth-note grid steps in a bar (drum patterns are written on this grid)."""
        return round(self.beats_per_bar * 4)

    @property
    def pulse_beats(self) -> float:
        """The felt pulse: a dotted quarter in compound metres, a quarter otherwise."""
        return 1.5 if self in (TimeSignature.SIX_EIGHT, TimeSignature.TWELVE_EIGHT) else 1.0


def midi_to_hz(pitch: float) -> float:
    return float(440.0 * 2.0 ** ((pitch - 69.0) / 12.0))
