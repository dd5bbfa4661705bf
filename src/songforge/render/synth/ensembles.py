"""Slow-attack sustained voices: pads, a string section, brass and a choir.

Detuned saws and pulses give the ensemble width; fixed resonances stand in for formants."""

from __future__ import annotations

import numpy as np

from songforge.render.synth.envelopes import Adsr, adsr, exp_decay
from songforge.render.synth.filters import highpass, lowpass, peaking, sweep_lowpass
from songforge.render.synth.oscillators import (
    detuned_saws,
    fm,
    harmonics,
    phase_words,
    pulse,
)
from songforge.render.synth.voice import NoteSpec, brightness_hz, normalise, vibrato_hz


def _starts(rng: np.random.Generator, count: int) -> tuple[float, ...]:
    return tuple(float(x) for x in rng.random(count))


def warm_pad(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Three detuned saws, dark low-pass, slow swell and long release."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.6, 1.0, 0.85, 1.2), note.hold_samples, sr)
    n = len(env)
    tone = detuned_saws(note.freq_hz, n, sr, (-9.0, 0.0, 8.0), _starts(rng, 3))
    cutoff = max(brightness_hz(note, 900.0, 2200.0), 2.5 * note.freq_hz)
    return normalise(lowpass(tone, cutoff, sr, order=4)) * env


def string_pad(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A synth-string ensemble: four saws with gentle vibrato, brighter than the warm pad."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.35, 0.8, 0.9, 0.9), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 4.8, 6.0, 0.4)
    tone = detuned_saws(freq, n, sr, (-11.0, -4.0, 4.0, 11.0), _starts(rng, 4))
    tone = lowpass(tone, brightness_hz(note, 2200.0, 4500.0), sr)
    return normalise(peaking(tone, 1200.0, 3.0, 0.8, sr)) * env


_GLASS_TABLE = (1.0, 0.0, 0.35, 0.0, 0.18, 0.0, 0.0, 0.12)


def glass_pad(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Crystalline: sparse high harmonics plus a shimmering FM layer, slow attack."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.4, 1.5, 0.7, 1.2), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 0.3, 4.0, 0.0)
    carrier = phase_words(freq, n, sr, float(rng.random()))
    body = harmonics(carrier, _GLASS_TABLE, note.freq_hz, sr)
    modulator_hz = min(2.0 * note.freq_hz, 0.45 * sr)
    shimmer = fm(carrier, phase_words(modulator_hz, n, sr), 0.6 + 0.8 * note.velocity)
    return normalise(body + 0.5 * shimmer) * env


def strings(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A bowed section: detuned saws with vibrato and body resonances, bow-speed attack."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.15, 0.6, 0.9, 0.35), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 5.2, 9.0, 0.2)
    tone = detuned_saws(freq, n, sr, (-9.0, -3.0, 3.5, 10.0), _starts(rng, 4))
    tone = lowpass(tone, brightness_hz(note, 2500.0, 6000.0), sr)
    tone = peaking(tone, 450.0, 4.0, 1.2, sr)
    tone = peaking(tone, 2800.0, 3.0, 1.5, sr)
    return normalise(highpass(tone, 90.0, sr)) * env


def brass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Saws through a low-pass that opens with the breath (the 'bwah'), a scoop into pitch."""
    sr = note.sample_rate_hz
    shape = Adsr(0.05, 0.35, 0.82, 0.15)
    env = adsr(shape, note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 5.0, 7.0, 0.35, scoop_cents=-35.0)
    tone = detuned_saws(freq, n, sr, (-5.0, 5.0), _starts(rng, 2))
    opening = adsr(Adsr(0.07, 0.4, 0.6, 0.15), note.hold_samples, sr)
    cutoff = note.freq_hz * (1.5 + (3.0 + 7.0 * note.velocity) * opening)
    tone = sweep_lowpass(tone, cutoff, 1.1, sr)
    return normalise(peaking(tone, 1300.0, 4.0, 1.0, sr)) * env


_VOWEL_AH = ((730.0, 12.0, 4.0), (1090.0, 9.0, 5.0), (2440.0, 7.0, 6.0))


def choir(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """'Aah': three detuned pulse voices with vibrato through vowel formant peaks, with breath."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.25, 0.5, 0.9, 0.5), note.hold_samples, sr)
    n = len(env)
    tone = np.zeros(n, dtype=np.float32)
    for cents, rate in ((-10.0, 5.1), (0.0, 5.5), (9.0, 4.7)):
        freq = vibrato_hz(note, n, rate, 14.0, 0.3) * 2.0 ** (cents / 1200.0)
        start = float(rng.random())
        tone += pulse(phase_words(freq, n, sr, start), 0.3, note.freq_hz, sr)
    tone = lowpass(tone, 3800.0, sr)
    for centre_hz, gain_db, q in _VOWEL_AH:
        tone = peaking(tone, centre_hz, gain_db, q, sr)
    breath = highpass(rng.standard_normal(n).astype(np.float32), 2500.0, sr) * 0.03
    return normalise(tone + breath * exp_decay(n, 1.5, sr) + breath * 0.3) * env
