"""Lead voices: saw and square leads, the seven-saw supersaw, an FM bell and a breathy flute."""

from __future__ import annotations

import numpy as np

from songforge.render.synth.envelopes import Adsr, adsr, exp_decay, gate_release, ramp_in
from songforge.render.synth.filters import bandpass, lowpass, sweep_lowpass
from songforge.render.synth.oscillators import (
    detuned_saws,
    fm,
    harmonics,
    phase_words,
    square,
)
from songforge.render.synth.voice import NoteSpec, brightness_hz, normalise, vibrato_hz

SUPERSAW_DETUNE_CENTS = (-24.0, -15.0, -6.0, 0.0, 6.5, 15.5, 23.0)


def saw_lead(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Two detuned saws, delayed vibrato, a resonant low-pass that opens on the attack."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.005, 0.35, 0.8, 0.15), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 5.5, 12.0, 0.25)
    tone = detuned_saws(freq, n, sr, (-6.0, 6.0), tuple(rng.random(2)))
    sustain_hz = brightness_hz(note, 900.0, 5000.0)
    cutoff = sustain_hz + 5000.0 * note.velocity**2 * exp_decay(n, 0.6, sr)
    cutoff = np.maximum(cutoff, 2.0 * note.freq_hz)
    return normalise(sweep_lowpass(tone, cutoff, 1.4, sr)) * env


def square_lead(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A hollow square wave with vibrato, softened by a fixed low-pass."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.005, 0.2, 0.85, 0.12), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 5.0, 10.0, 0.3)
    tone = square(phase_words(freq, n, sr, float(rng.random())), note.freq_hz, sr)
    return normalise(lowpass(tone, brightness_hz(note, 2500.0, 7000.0), sr)) * env


def supersaw(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Seven detuned saws with free-running phases: the trance lead and pad."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.01, 0.5, 0.85, 0.3), note.hold_samples, sr)
    n = len(env)
    starts = tuple(float(x) for x in rng.random(len(SUPERSAW_DETUNE_CENTS)))
    tone = detuned_saws(note.freq_hz, n, sr, SUPERSAW_DETUNE_CENTS, starts)
    return normalise(lowpass(tone, brightness_hz(note, 3000.0, 12000.0), sr)) * env


def bell(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """FM at a 1 : 3.5 ratio with a fast-falling index: a struck, inharmonic bell."""
    del rng
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(1.2)
    index = (1.0 + 3.0 * note.velocity) * exp_decay(n, 1.2, sr)
    carrier = phase_words(note.freq_hz, n, sr)
    modulator_hz = min(3.5 * note.freq_hz, 0.45 * sr)
    tone = fm(carrier, phase_words(modulator_hz, n, sr), index)
    env = exp_decay(n, 3.0, sr) * gate_release(n, note.hold_samples, 0.8, sr)
    return normalise(tone * env)


_FLUTE_TABLE = (1.0, 0.22, 0.09, 0.04)


def flute(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Nearly pure tone with a breath-noise chiff and a delayed vibrato."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.06, 0.2, 0.9, 0.12), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 5.0, 12.0, 0.35)
    tone = harmonics(phase_words(freq, n, sr), _FLUTE_TABLE, note.freq_hz, sr)
    noise = rng.standard_normal(n).astype(np.float32)
    breath = bandpass(noise, note.freq_hz * 1.5, min(note.freq_hz * 6.0, 9000.0), sr)
    chiff = 1.0 - 0.8 * ramp_in(n, 0.08, sr)
    return normalise(tone + breath * (0.12 * chiff)) * env
