"""Guitars and plucked strings: Karplus-Strong for acoustic, clean, banjo and the synth pluck;
saws through a soft-clipper and a cabinet-like low-pass for the distorted guitar."""

from __future__ import annotations

import numpy as np

from songforge.render.synth.envelopes import Adsr, adsr, gate_release
from songforge.render.synth.filters import highpass, lowpass, peaking, soft_clip
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


def distorted_guitar(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Detuned saws and a pulse into a soft-clipper, then a 4x12-cabinet-like filter."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.004, 0.5, 0.8, 0.08), note.hold_samples, sr)
    n = len(env)
    starts = tuple(float(x) for x in rng.random(3))
    tone = detuned_saws(note.freq_hz, n, sr, (-8.0, 7.0), starts[:2])
    tone += 0.5 * pulse(phase_words(note.freq_hz, n, sr, starts[2]), 0.35, note.freq_hz, sr)
    tone = highpass(tone, 110.0, sr)  # a tight amp: no flub before the clipper
    drive = 6.0 + 8.0 * note.velocity
    tone = soft_clip(normalise(tone) * env, drive)
    tone = lowpass(tone, 4800.0, sr, order=4)
    tone = peaking(tone, 750.0, -4.0, 1.0, sr)
    tone = peaking(tone, 1800.0, 3.0, 1.2, sr)
    return normalise(tone)
