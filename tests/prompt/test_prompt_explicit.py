"""Numbers, keys and metres written in a prompt are read exactly, and ordinary English is not."""

from __future__ import annotations

import pytest

from songforge.prompt.explicit import read_explicit
from songforge.theory import Mode, TimeSignature


@pytest.mark.parametrize(
    ("prompt", "bpm"),
    [
        ("rock at 140 bpm", 140.0),
        ("hip hop at 90bpm", 90.0),
        ("tempo 128 techno", 128.0),
        ("tempo: 100, please", 100.0),
        ("a tempo of 85", 85.0),
        ("128 BPM house", 128.0),
        ("around 122 beats per minute", 122.0),
        ("120-130 bpm house", 125.0),
        ("slow jam at 72.5 bpm", 72.5),
    ],
)
def test_tempo_is_read_exactly(prompt: str, bpm: float) -> None:
    assert read_explicit(prompt).tempo_bpm == bpm


@pytest.mark.parametrize("prompt", ["300 bpm gabber", "20 bpm drone", "the 90s at their best"])
def test_tempi_outside_the_supported_range_or_without_bpm_are_not_read(prompt: str) -> None:
    assert read_explicit(prompt).tempo_bpm is None


@pytest.mark.parametrize(
    ("prompt", "key"),
    [
        ("in F# minor", "F# minor"),
        ("key of Bb", "Bb major"),
        ("a song in Am", "A minor"),
        ("in the key of D", "D major"),
        ("key: F#m", "F# minor"),
        ("in C sharp minor", "C# minor"),
        ("in e minor", "E minor"),
        ("in Eb major", "Eb major"),
        ("a ballad in Bbm", "Bb minor"),
        ("rock in A with big drums", "A major"),
        ("a sad song in a minor", "A minor"),
        ("it's in E", "E major"),
        ("Em ballad", "E minor"),
        ("F♯ minor", "F# minor"),
        ("in D dorian", "D dorian"),
        ("A minor", "A minor"),
    ],
)
def test_keys_are_read_exactly(prompt: str, key: str) -> None:
    reading = read_explicit(prompt)
    assert reading.key is not None
    assert reading.key.name == key


@pytest.mark.parametrize(
    "prompt",
    [
        "a song about a girl",
        "I am in love",
        "in a hurry",
        "Am I dreaming",
        "a major label pop song",
        "a minor detail",
        "living in a flat",
        "In A World where heroes fall",
        "E is for everyone",
        "Plan B",
        "Vitamin C",
        "a flat white coffee",
        "drum and bass in D&B style",
        "Minor Threat covers",
    ],
)
def test_ordinary_english_never_becomes_a_key(prompt: str) -> None:
    assert read_explicit(prompt).key is None


@pytest.mark.parametrize(
    ("prompt", "mode"),
    [("in a minor key", Mode.MINOR), ("in minor", Mode.MINOR), ("a dorian groove", Mode.DORIAN)],
)
def test_a_mode_without_a_tonic_is_read_as_a_mode(prompt: str, mode: Mode) -> None:
    reading = read_explicit(prompt)
    assert reading.key is None
    assert reading.mode is mode


@pytest.mark.parametrize(
    ("prompt", "seconds"),
    [
        ("3 minutes long", 180.0),
        ("3:30 long", 210.0),
        ("2 min 45", 165.0),
        ("2 minutes and 45 seconds", 165.0),
        ("2m45s", 165.0),
        ("a 3-minute song", 180.0),
        ("four and a half minutes", 270.0),
        ("3.5 minutes", 210.0),
        ("90 seconds of noise", 90.0),
        ("an hour long mix", 600.0),  # clamped to the longest song
    ],
)
def test_duration_is_read_exactly(prompt: str, seconds: float) -> None:
    assert read_explicit(prompt).duration_s == seconds


@pytest.mark.parametrize("prompt", ["90s rock", "meet me at 3:30", "at 3:30 am", "I am here"])
def test_eras_and_times_of_day_are_not_lengths(prompt: str) -> None:
    assert read_explicit(prompt).duration_s is None


@pytest.mark.parametrize(
    ("prompt", "meter"),
    [
        ("in 3/4", TimeSignature.THREE_FOUR),
        ("a waltz", TimeSignature.THREE_FOUR),
        ("6/8 ballad", TimeSignature.SIX_EIGHT),
        ("12/8 slow blues", TimeSignature.TWELVE_EIGHT),
        ("a jig", TimeSignature.SIX_EIGHT),
        ("a 4/4 waltz, oddly", TimeSignature.FOUR_FOUR),  # the number beats the word
    ],
)
def test_meter_is_read_exactly(prompt: str, meter: TimeSignature) -> None:
    assert read_explicit(prompt).time_signature is meter


def test_an_unsupported_meter_is_ignored_and_explained() -> None:
    reading = read_explicit("prog in 7/8")
    assert reading.time_signature is None
    assert any("unsupported" in e.reason for e in reading.evidence)


def test_everything_at_once_with_evidence_naming_each_phrase() -> None:
    reading = read_explicit("in Eb major at 70 bpm for 4 minutes in 6/8")
    assert reading.key is not None and reading.key.name == "Eb major"
    assert (reading.tempo_bpm, reading.duration_s) == (70.0, 240.0)
    assert reading.time_signature is TimeSignature.SIX_EIGHT
    words = {w for e in reading.evidence for w in e.words}
    assert {"70 bpm", "4 minutes", "6/8"} <= words
