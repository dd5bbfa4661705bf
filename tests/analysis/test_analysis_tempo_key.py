"""Tempo and key estimation on signals with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.analysis import estimate_key, estimate_tempo_bpm, keys_match, tempo_matches
from songforge.theory import Key, Mode

RATE = 22050


def click_track(bpm: float, seconds: float = 16.0, seed: int = 0) -> np.ndarray:
    """A woodblock-like click on every beat, the downbeat of each bar accented."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * RATE), np.float32)
    click_t = np.arange(round(0.03 * RATE)) / RATE
    click = np.sin(2 * np.pi * 1800 * click_t) * np.exp(-click_t * 200)
    beat_s = 60.0 / bpm
    for i, start in enumerate(np.arange(0.1, seconds - 0.05, beat_s)):
        at = round(start * RATE)
        level = 1.0 if i % 4 == 0 else 0.6
        end = min(at + click.size, out.size)
        out[at:end] += level * click[: end - at]
    return out + 0.001 * rng.standard_normal(out.size).astype(np.float32)


@pytest.mark.parametrize("bpm", [90.0, 120.0, 128.0, 174.0])
def test_tempo_of_a_click_track(bpm: float) -> None:
    measured = estimate_tempo_bpm(click_track(bpm), RATE)
    assert tempo_matches(measured, bpm), measured


def groove(bpm: float, bar: str, seconds: float = 20.0) -> np.ndarray:
    """A drum bar of 16ths ("x" a kick-like thump, "s" a snare-like noise burst), looped."""
    rng = np.random.default_rng(1)
    out = np.zeros(round(seconds * RATE), np.float32)
    t = np.arange(round(0.12 * RATE)) / RATE
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 40)) * t) * np.exp(-t * 25)
    snare = rng.standard_normal(t.size) * np.exp(-t * 35) * 0.5
    sixteenth_s = 60.0 / bpm / 4
    for i, start in enumerate(np.arange(0.05, seconds - 0.2, sixteenth_s)):
        hit = {"x": kick, "s": snare}.get(bar[i % len(bar)])
        if hit is not None:
            at = round(start * RATE)
            out[at : at + hit.size] += hit
    return out + 0.001 * rng.standard_normal(out.size).astype(np.float32)


@pytest.mark.parametrize(
    ("bpm", "bar"),
    [
        # a syncopated funk bar: kicks on 1, the "a" of 1 and the "and" of 3, ghosted snares
        (104.0, "x..xs..s.sx.s..s"),
        # a 3-3-2 tresillo on a bare snare backbeat: strongest single period is 3/4 beat
        (90.0, "x..x..x.s..x..x."),
        # a dotted ostinato figure, every third 16th, against a two-bar phrase
        (120.0, "x..x..x..x..x..xs..x..x..x..x..x"),
    ],
    ids=["funk", "tresillo", "dotted"],
)
def test_a_syncopated_groove_is_heard_at_its_beat_not_at_its_figure(bpm: float, bar: str) -> None:
    measured = estimate_tempo_bpm(groove(bpm, bar), RATE)
    assert tempo_matches(measured, bpm, tolerance=0.02), measured


def test_no_beats_no_tempo() -> None:
    assert estimate_tempo_bpm(np.zeros(RATE * 5, np.float32), RATE) == 0.0
    noise = np.random.default_rng(0).standard_normal(RATE * 10).astype(np.float32) * 0.1
    assert estimate_tempo_bpm(noise, RATE) == 0.0
    tone = np.sin(2 * np.pi * 440.0 * np.arange(RATE * 10) / RATE).astype(np.float32) * 0.1
    assert estimate_tempo_bpm(tone, RATE) == 0.0


@pytest.mark.parametrize(
    ("measured", "expected", "ok"),
    [
        (120.0, 120.0, True),
        (121.5, 120.0, True),  # within 2 %
        (123.0, 120.0, False),
        (60.2, 120.0, True),  # half-time
        (241.0, 120.0, True),  # double-time
        (90.0, 60.0, False),  # dotted quarter against quarter: a wrong beat in simple meter
        (80.0, 60.0, False),  # four against three: a swung 16th figure, never the beat
        (100.0, 120.0, False),
        (0.0, 120.0, False),
    ],
)
def test_tempo_matches_allows_only_half_and_double_time(
    measured: float, expected: float, ok: bool
) -> None:
    assert tempo_matches(measured, expected) is ok


@pytest.mark.parametrize(("measured", "ok"), [(90.0, True), (40.0, True), (80.0, False)])
def test_compound_meters_also_allow_the_dotted_quarter_reading(measured: float, ok: bool) -> None:
    assert tempo_matches(measured, 60.0, compound=True) is ok


MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)


def note(midi: int, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    envelope = np.minimum(1.0, t * 50) * np.exp(-t * 0.8)
    return amplitude * envelope * sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5))


def progression(key: Key, degrees: tuple[int, ...], chord_s: float = 1.5) -> np.ndarray:
    """Triads on the given scale degrees over a root bass; in minor, V is major (leading tone)."""
    scale = MINOR_SCALE if key.mode is Mode.MINOR else MAJOR_SCALE
    chords = []
    for degree in degrees:
        root = (key.tonic_pc + scale[degree]) % 12
        third = (scale[(degree + 2) % 7] - scale[degree]) % 12
        if key.mode is Mode.MINOR and degree == 4:
            third = 4
        fifth = (scale[(degree + 4) % 7] - scale[degree]) % 12
        pitches = (60 + root, 60 + root + third, 60 + root + fifth)
        chord = sum(note(p, chord_s, 0.1) for p in pitches) + note(36 + root, chord_s, 0.2)
        chords.append(chord)
    return np.concatenate(chords).astype(np.float32)


@pytest.mark.parametrize(
    ("key", "degrees"),
    [
        (Key(0, Mode.MAJOR), (0, 3, 4, 0)),  # C: I IV V I
        (Key(10, Mode.MAJOR), (0, 5, 3, 4, 0)),  # Bb: I vi IV V I
        (Key(4, Mode.MAJOR), (0, 4, 5, 3, 0)),  # E: I V vi IV I
        (Key(9, Mode.MINOR), (0, 3, 4, 0)),  # A minor: i iv V i
        (Key(6, Mode.MINOR), (0, 5, 2, 6, 0)),  # F# minor: i VI III VII i (its relative's chords)
        (Key(4, Mode.MINOR), (0, 5, 6, 0)),  # E minor: i VI VII i
        (Key(3, Mode.MINOR), (0, 3, 6, 2, 5, 3, 4, 0)),  # Eb minor, a longer walk
    ],
    ids=lambda v: v.name if isinstance(v, Key) else None,
)
def test_key_of_a_chord_progression_major_and_minor(key: Key, degrees: tuple[int, ...]) -> None:
    estimate = estimate_key(progression(key, degrees), RATE)
    assert keys_match(estimate.key, key), estimate.key.name
    assert 0.5 < estimate.confidence <= 1.0


def test_noise_has_low_key_confidence() -> None:
    noise = np.random.default_rng(0).standard_normal(RATE * 6).astype(np.float32) * 0.1
    assert estimate_key(noise, RATE).confidence < 0.5


def test_keys_match_by_tonic_and_quality() -> None:
    a_minor = Key(9, Mode.MINOR)
    assert keys_match(a_minor, Key(9, Mode.MINOR))
    assert keys_match(Key(2, Mode.DORIAN), Key(2, Mode.MINOR))  # heard as minor
    assert keys_match(Key(7, Mode.MIXOLYDIAN), Key(7, Mode.MAJOR))
    assert not keys_match(a_minor, Key(0, Mode.MAJOR))
    assert keys_match(a_minor, Key(0, Mode.MAJOR), relative_ok=True)
    assert keys_match(Key(0, Mode.MAJOR), a_minor, relative_ok=True)
    assert not keys_match(a_minor, Key(9, Mode.MAJOR), relative_ok=True)
    assert not keys_match(a_minor, Key(2, Mode.MAJOR), relative_ok=True)


def distorted(midi: int, seconds: float, amplitude: float) -> np.ndarray:
    """A clipped, overtone-rich tone like an overdriven guitar string (partials 1–10)."""
    t = np.arange(round(seconds * RATE)) / RATE
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 11))
    return amplitude * np.tanh(3.0 * tone) * np.minimum(1.0, t * 100) * np.exp(-t * 0.3)


def test_power_chords_in_minor_are_heard_in_minor_despite_their_overtones() -> None:
    """D minor riffs on power chords (i VI iv VII i, root and fifth only): the mode lives in the
    melody's F, while the distortion's 5th harmonics put F# over every D."""
    key = Key(2, Mode.MINOR)
    chord_s = 1.6
    melody = {0: (62, 65, 69, 65), 1: (65, 62, 70, 69), 2: (67, 65, 62, 67), 3: (64, 65, 67, 72)}
    pieces = []
    for index, root in enumerate((2, 10, 7, 0, 2, 10, 7, 0, 2)):
        ending = index == 8  # the final D5 rings while the melody holds the tonic
        seconds = 2 * chord_s if ending else chord_s
        power = sum(distorted(36 + root + step, seconds, 0.15) for step in (0, 7, 12))
        line = (62,) if ending else melody[index % 4]
        lead = np.concatenate([note(p, seconds / len(line), 0.06) for p in line])
        pieces.append(power + np.pad(lead, (0, power.size - lead.size)))
    estimate = estimate_key(np.concatenate(pieces).astype(np.float32), RATE)
    assert keys_match(estimate.key, key), estimate.key.name


def test_loud_drums_do_not_move_the_key() -> None:
    """A kick tuned between the keys' tonics and noisy snares at twice the chords' level."""
    key = Key(9, Mode.MINOR)
    harmony = progression(key, (0, 5, 3, 4, 0))
    drums = groove(120.0, "x...s...x.x.s...", seconds=harmony.size / RATE)[: harmony.size]
    mixed = harmony + 2.0 * drums / np.abs(drums).max() * np.abs(harmony).max()
    estimate = estimate_key(mixed.astype(np.float32), RATE)
    assert keys_match(estimate.key, key), estimate.key.name
