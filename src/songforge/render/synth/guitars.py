"""Guitars and plucked strings: Karplus-Strong for acoustic, clean, banjo and the synth pluck;
saws through a soft-clipper and a cabinet-like low-pass for the distorted guitar."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from songforge.render.synth.envelopes import Adsr, adsr, gate_release
from songforge.render.synth.filters import highpass, lowpass, peaking
from songforge.render.synth.karplus import karplus_strong
from songforge.render.synth.oscillators import detuned_saws, phase_words, pulse
from songforge.render.synth.voice import NoteSpec, brightness_hz, normalise


def _picked_excitation(
    note: NoteSpec,
    rng: np.random.Generator,
    pick_position: float,
    low_hz: float,
    high_hz: float,
    scrape: float,
) -> np.ndarray:
    """One period of string displacement: the triangle a pick pulls the string into (its
    harmonics fall at 12 dB/octave, with a node at the pick point) plus a little noise for the
    pick's scrape, darkened for soft notes."""
    sr = note.sample_rate_hz
    period = int(sr / note.freq_hz) + 2
    peak_at = min(max(int(pick_position * period), 1), period - 2)
    shape = np.concatenate(
        [np.linspace(0.0, 1.0, peak_at, endpoint=False), np.linspace(1.0, 0.0, period - peak_at)]
    ).astype(np.float32)
    noise = rng.uniform(-1.0, 1.0, period).astype(np.float32)
    return lowpass(shape + scrape * noise, brightness_hz(note, low_hz, high_hz), sr, order=1)


def _plucked(
    note: NoteSpec,
    rng: np.random.Generator,
    *,
    ring_s: float,
    damping: float,
    pick_position: float,
    release_s: float,
    low_hz: float = 1500.0,
    high_hz: float = 9000.0,
    scrape: float = 0.5,
) -> np.ndarray:
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(release_s)
    excitation = _picked_excitation(note, rng, pick_position, low_hz, high_hz, scrape)
    ring = ring_s * 2.0 ** (-(note.pitch - 52) / 24.0)
    string = karplus_strong(excitation, note.freq_hz, n, sr, ring, damping)
    return string * gate_release(n, note.hold_samples, release_s, sr)


def acoustic_guitar(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Steel string: bright pluck, a wooden body boosting the low mids."""
    sr = note.sample_rate_hz
    tone = _plucked(
        note, rng, ring_s=3.0, damping=0.1, pick_position=0.14, release_s=0.15, scrape=1.0
    )
    tone = peaking(tone, 110.0, 4.0, 1.5, sr)
    tone = peaking(tone, 3000.0, 3.0, 0.8, sr)
    return normalise(highpass(tone, 70.0, sr))


def clean_guitar(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Electric clean: rounder pluck with longer sustain and a pickup presence bump."""
    sr = note.sample_rate_hz
    tone = _plucked(
        note, rng, ring_s=4.0, damping=0.2, pick_position=0.2, release_s=0.1, scrape=0.6
    )
    tone = peaking(tone, 2500.0, 3.0, 1.0, sr)
    return normalise(lowpass(tone, 6500.0, sr))


def banjo(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Banjo: very bright, short-lived string over a drum-head body resonance."""
    sr = note.sample_rate_hz
    tone = _plucked(
        note,
        rng,
        ring_s=1.0,
        damping=0.04,
        pick_position=0.18,
        release_s=0.08,
        low_hz=3000.0,
        scrape=1.5,
    )
    tone = peaking(tone, 650.0, 5.0, 2.0, sr)
    tone = peaking(tone, 3200.0, 3.0, 1.5, sr)
    return normalise(highpass(tone, min(150.0, 0.7 * note.freq_hz), sr))


def pluck(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Synth pluck: a bright, short Karplus-Strong string (house and trap plucks, arps)."""
    tone = _plucked(
        note,
        rng,
        ring_s=0.9,
        damping=0.08,
        pick_position=0.5,
        release_s=0.12,
        low_hz=2500.0,
        scrape=1.2,
    )
    return normalise(tone)


PALM_MUTE_S = 0.3  # short notes on the low strings are played palm-muted (the metal chug) ...
PALM_MUTE_BELOW = 55  # ... below this pitch (leads up the neck ring open)


# How the palm damps a chug: the string's decay (attack, decay, sustain, release) and how far
# its upper harmonics are cut before the amp (the cut is at least 4x the fundamental).
PALM_MUTE_SHAPE = Adsr(0.002, 0.18, 0.12, 0.05)
PALM_MUTE_CUTOFF_HZ = 700.0
# A metal player mutes lighter and the stack's gain keeps the chug's fizz and body ringing.
HIGH_GAIN_MUTE_SHAPE = Adsr(0.002, 0.3, 0.4, 0.05)
HIGH_GAIN_MUTE_CUTOFF_HZ = 2000.0


def guitar_di(
    note: NoteSpec,
    rng: np.random.Generator,
    mute_shape: Adsr = PALM_MUTE_SHAPE,
    mute_cutoff_hz: float = PALM_MUTE_CUTOFF_HZ,
) -> np.ndarray:
    """An electric guitar string as its pickup hears it, before any amp: a saw and a pulse a
    few cents apart with a pick transient. Short notes on the low strings are palm-muted: the
    palm damps the string at once and takes its upper harmonics, leaving the low thud an amp
    turns into a chug."""
    sr = note.sample_rate_hz
    muted = note.hold_s < PALM_MUTE_S and note.pitch < PALM_MUTE_BELOW
    shape = mute_shape if muted else Adsr(0.002, 1.2, 0.45, 0.08)
    env = adsr(shape, note.hold_samples, sr)
    n = len(env)
    starts = tuple(float(x) for x in rng.random(2))
    tone = detuned_saws(note.freq_hz, n, sr, (-4.0, 4.0), starts[:1] + starts[:1])
    tone += 0.6 * pulse(phase_words(note.freq_hz * 1.002, n, sr, starts[1]), 0.3, note.freq_hz, sr)
    if muted:
        tone = lowpass(tone, max(mute_cutoff_hz, 4.0 * note.freq_hz), sr, order=2)
    else:
        tone = lowpass(tone, brightness_hz(note, 2500.0, 5000.0), sr)
    pick_n = min(n, note.samples(0.004))
    tone[:pick_n] += 0.5 * rng.uniform(-1.0, 1.0, pick_n).astype(np.float32)
    return normalise(tone * env)


def high_gain_di(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """:func:`guitar_di` as a metal player picks it: lighter palm mutes that keep ringing."""
    return guitar_di(note, rng, HIGH_GAIN_MUTE_SHAPE, HIGH_GAIN_MUTE_CUTOFF_HZ)


def _preamp(voiced: np.ndarray, gain_db: float, sample_rate_hz: int) -> np.ndarray:
    """Two asymmetric clipping stages sharing ``gain_db`` (60 % before, 40 % after an
    inter-stage band limit), then the low resonance every closed-back cabinet has."""
    sr = sample_rate_hz
    x = normalise(voiced, 1.0) * np.float32(10.0 ** (gain_db * 0.6 / 20.0))
    bias = np.float32(0.2)
    y = np.tanh(x + bias) - np.tanh(bias)
    y = lowpass(highpass(y, 30.0, sr, order=1), 8000.0, sr)
    y = np.tanh(normalise(y, 1.0) * np.float32(10.0 ** (gain_db * 0.4 / 20.0)))
    y = highpass(y, 75.0, sr)
    return peaking(y, 110.0, 4.0, 1.0, sr)


def amp(di: np.ndarray, sample_rate_hz: int, gain_db: float = 34.0) -> np.ndarray:
    """A driven tube amp and a closed 4x12 cabinet, for a whole part at once (chords distort
    together, as they do through a real amp, growling with their difference tones).

    A tight input (no flub below ~100 Hz) with an overdrive pedal's mid hump, two asymmetric
    clipping stages, then the cabinet: a low resonance, scooped low mids, a presence peak and
    the speakers' steep roll-off above 5 kHz."""
    sr = sample_rate_hz
    x = peaking(highpass(di, 100.0, sr), 750.0, 9.0, 0.7, sr)
    y = _preamp(x, gain_db, sr)
    y = peaking(y, 450.0, -5.0, 0.8, sr)
    y = peaking(y, 2600.0, 4.0, 1.2, sr)
    y = lowpass(y, 5200.0, sr, order=4)
    return normalise(y.astype(np.float32, copy=False))


HIGH_GAIN_DB = 60.0  # a saturated metal stack: the wall of sound, near-square on every note


def high_gain_amp(di: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """A modern metal stack into an open-voiced cabinet: no mid-boosting pedal, far more gain
    than :func:`amp`, mids scooped deep and the fizz above 5 kHz left in (a doubled metal
    rhythm guitar is a dense, bright wall, not a boxy crunch)."""
    sr = sample_rate_hz
    y = _preamp(highpass(di, 100.0, sr), HIGH_GAIN_DB, sr)
    y = peaking(y, 450.0, -10.0, 0.8, sr)
    y = peaking(y, 5500.0, 6.0, 1.0, sr)
    y = lowpass(y, 7500.0, sr, order=2)
    return normalise(y.astype(np.float32, copy=False))


CRUNCH_GAIN_DB = 20.0  # a tube amp turned up, short of a high-gain stack


def crunch_amp(di: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """:func:`amp` at a crunch setting: the blues and rock tone, cleaning up when played softly."""
    return amp(di, sample_rate_hz, CRUNCH_GAIN_DB)


def _through(
    note: NoteSpec,
    rng: np.random.Generator,
    process: Callable[[np.ndarray, int], np.ndarray],
    di: Callable[[NoteSpec, np.random.Generator], np.ndarray] = guitar_di,
) -> np.ndarray:
    tone = process(di(note, rng), note.sample_rate_hz)
    fade_n = min(len(tone), note.samples(0.01))
    tone[-fade_n:] *= np.linspace(1.0, 0.0, fade_n, dtype=np.float32)
    return tone


def distorted_guitar(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """One note of an electric guitar through a high-gain amp (a part renders its notes clean
    and puts the whole part through :func:`high_gain_amp`, so chords distort together)."""
    return _through(note, rng, high_gain_amp, high_gain_di)


def overdriven_guitar(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """One note of an electric guitar through a crunchy amp (see :func:`crunch_amp`)."""
    return _through(note, rng, crunch_amp)
