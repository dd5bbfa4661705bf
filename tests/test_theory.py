"""Keys and meters are read the way musicians write them."""

from __future__ import annotations

import pytest

from songforge.theory import Key, Mode, TimeSignature, parse_pitch_class


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("E minor", "E minor"),
        ("F#m", "F# minor"),
        ("Bb", "Bb major"),
        ("bbm", "Bb minor"),
        ("C# Dorian", "C# dorian"),
        ("a flat major", "Ab major"),
        ("Eb-minor", "Eb minor"),
        ("A harmonic minor", "A harmonic minor"),
        ("G♯ minor", "G# minor"),
    ],
)
def test_keys_parse(text: str, name: str) -> None:
    assert Key.parse(text).name == name


@pytest.mark.parametrize("text", ["H", "E minorish", "", "C##", "major"])
def test_non_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Key.parse(text)


def test_relative_keys() -> None:
    assert Key.parse("A minor").relative == Key(0, Mode.MAJOR)
    assert Key.parse("Eb").relative == Key.parse("C minor")


def test_pitch_classes_wrap() -> None:
    assert parse_pitch_class("Cb") == 11
    assert parse_pitch_class("B#") == 0


@pytest.mark.parametrize(
    ("meter", "beats", "steps"),
    [("4/4", 4.0, 16), ("3/4", 3.0, 12), ("6/8", 3.0, 12), ("12/8", 6.0, 24)],
)
def test_meters(meter: str, beats: float, steps: int) -> None:
    signature = TimeSignature(meter)
    assert signature.beats_per_bar == beats
    assert signature.steps_per_bar == steps
