"""Keyboards: an FM electric piano, an additive acoustic piano, a drawbar organ and a clavinet."""

from __future__ import annotations

import numpy as np

from songforge.render.synth.envelopes import Adsr, adsr, exp_decay, gate_release
from songforge.render.synth.filters import bandpass, lowpass, peaking, sweep_lowpass
from songforge.render.synth.oscillators import (
    fm,
    harmonics,
    phase_words,
    pulse,
    sine,
)
from songforge.render.synth.voice import NoteSpec, brightness_hz, normalise, vibrato_hz


def _ring_s(pitch: int, low_s: float, high_s: float) -> float:
    """How long a struck string or tine rings: long in the bass, short in the treble."""
    position = min(max((pitch - 28) / 72.0, 0.0), 1.0)
    return low_s * (high_s / low_s) ** position


def electric_piano(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """FM tine: a 1:1 pair whose index falls after the strike, plus a 1:14 'bark' transient."""
    del rng
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(0.35)
    carrier = phase_words(note.freq_hz, n, sr)
    index = (0.6 + 1.8 * note.velocity) * exp_decay(n, 1.0, sr) + 0.25
    body = fm(carrier, carrier, index)
    tine_hz = min(14.0 * note.freq_hz, 0.45 * sr)
    tine = fm(carrier, phase_words(tine_hz, n, sr), (0.5 + note.velocity) * exp_decay(n, 0.06, sr))
    ring = _ring_s(note.pitch, 6.0, 1.2)
    env = exp_decay(n, ring, sr) * gate_release(n, note.hold_samples, 0.25, sr)
    tremolo = 1.0 - 0.08 * (1.0 + sine(phase_words(4.5, n, sr)))
    return normalise((body + 0.35 * tine * exp_decay(n, 0.3, sr)) * env * tremolo)


def piano(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Additive piano: slightly inharmonic partials, each decaying faster the higher it is,
    a double decay (prompt sound, then aftersound), unison detune and a hammer thump."""
    sr = note.sample_rate_hz
    damper_s = 0.18
    n = note.hold_samples + note.samples(damper_s)
    f0 = note.freq_hz
    inharmonicity = 0.00012 * 2.0 ** ((note.pitch - 60) / 24.0)
    ring = _ring_s(note.pitch, 12.0, 1.5)
    partial_count = max(1, min(14, int(0.45 * sr / (f0 * 1.05))))
    tilt = 0.4 - 0.3 * note.velocity  # soft notes lose their upper partials
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, partial_count + 1):
        freq = k * f0 * np.sqrt(1.0 + inharmonicity * k * k)
        if freq >= 0.45 * sr:
            break
        amp = float(np.exp(-(k - 1) * tilt) / k**0.3)
        k_ring = ring / (1.0 + 0.45 * (k - 1))
        length = min(n, note.samples(k_ring * 1.2))
        env = 0.65 * exp_decay(length, k_ring * 0.25, sr) + 0.35 * exp_decay(length, k_ring, sr)
        start = float(rng.random())
        tone = sine(phase_words(freq, length, sr, start))
        if k <= 3:  # a second string a cent or two away: the slow beating of a real unison
            detuned = freq * 2.0 ** ((0.8 + 0.6 * k) / 1200.0)
            tone = 0.5 * (tone + sine(phase_words(detuned, length, sr, start)))
        out[:length] += amp * tone * env
    hammer_n = min(n, note.samples(0.03))
    thump = rng.standard_normal(hammer_n).astype(np.float32) * exp_decay(hammer_n, 0.02, sr)
    thump = lowpass(thump, brightness_hz(note, 800.0, 4000.0), sr)
    out[:hammer_n] += (0.15 + 0.2 * note.velocity) * thump
    out *= gate_release(n, note.hold_samples, damper_s, sr)
    return normalise(out)


# Drawbars 8', 4', 2 2/3', 2', 1 3/5', 1 1/3', 1' as harmonics 1, 2, 3, 4, 5, 6, 8 of the note.
_DRAWBARS = (1.0, 0.75, 0.55, 0.45, 0.08, 0.18, 0.0, 0.25)


def organ(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Additive drawbar organ with a key click and a rotating-speaker wobble; keys gate it."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.004, 0.05, 1.0, 0.06), note.hold_samples, sr)
    n = len(env)
    freq = vibrato_hz(note, n, 6.3, 7.0, 0.0)
    words = phase_words(freq, n, sr, float(rng.random()))
    tone = harmonics(words, _DRAWBARS, note.freq_hz, sr)
    wobble = 1.0 - 0.06 * (1.0 + sine(phase_words(6.3, n, sr, 0.25)))
    click_n = min(n, note.samples(0.006))
    click = bandpass(rng.standard_normal(click_n).astype(np.float32), 1500.0, 6000.0, sr)
    tone[:click_n] += (0.2 + 0.2 * note.velocity) * click * exp_decay(click_n, 0.006, sr)
    return normalise(tone * wobble) * env


def clav(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Clavinet: a narrow pulse with a snappy filter envelope, damped quickly on release."""
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(0.04)
    tone = pulse(phase_words(note.freq_hz, n, sr, float(rng.random())), 0.22, note.freq_hz, sr)
    cutoff = note.freq_hz * 2.0 + brightness_hz(note, 2500.0, 7000.0) * exp_decay(n, 0.5, sr)
    tone = sweep_lowpass(tone, cutoff, 2.0, sr)
    tone = peaking(tone, 1100.0, 4.0, 1.5, sr)
    env = exp_decay(n, _ring_s(note.pitch, 2.5, 0.8), sr) * gate_release(
        n, note.hold_samples, 0.04, sr
    )
    return normalise(tone * env)
