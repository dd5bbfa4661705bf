"""Noise voices: risers, impacts and washes for transitions and beds, and vinyl crackle."""

from __future__ import annotations

import numpy as np

from songforge.render.synth.envelopes import (
    exp_decay,
    fade_in_and_release,
    gate_release,
)
from songforge.render.synth.filters import bandpass, highpass, lowpass, soft_clip, sweep_lowpass
from songforge.render.synth.oscillators import phase_words, sine
from songforge.render.synth.voice import NoteSpec, normalise

RISER_MIN_BEATS = 4.0  # a noise note a bar or more long sweeps up; a shorter one is an impact
WASH_MIN_BEATS = 48.0  # ... and one longer than any riser (8 bars of 12/8) is a steady wash
WASH_MIN_S = 40.0  # (or longer than this in seconds, whatever the tempo)
VINYL_BED_MIN_S = 0.5  # vinyl notes at least this long are a crackle bed; shorter ones a pop
_BED_LOOP_S = 4.7  # beds of noise repeat after this long (inaudible in noise; crackle never does)
_CRACKLES_PER_S = 14.0
_POPS_PER_S = 0.5


def noise_fx(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """By length in beats: an impact (under a bar), a riser swept up over the whole note, or a
    steady breathing wash for a bed that lasts whole sections."""
    if note.hold_beats >= WASH_MIN_BEATS or note.hold_s >= WASH_MIN_S:
        return wash(note, rng)
    if note.hold_beats >= RISER_MIN_BEATS:
        return riser(note, rng)
    return impact(note, rng)


def wash(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Band-passed noise breathing slowly (its low-pass opens and closes once per loop), faded
    in and out over a few seconds. The loop is filtered twice around so its seam is silent."""
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(2.0)
    loop_n = min(n, note.samples(_BED_LOOP_S * 2))
    noise = bandpass(rng.standard_normal(loop_n).astype(np.float32), 300.0, 9000.0, sr)
    cycle = np.arange(2 * loop_n, dtype=np.float64) / loop_n
    cutoff = 1500.0 * 2.0 ** (0.5 - 0.5 * np.cos(2.0 * np.pi * cycle))  # an octave of breath
    breathing = sweep_lowpass(np.tile(noise, 2), cutoff, 1.2, sr)[loop_n:]
    bed = np.tile(normalise(breathing), n // loop_n + 1)[:n]
    return normalise(fade_in_and_release(bed, 3.0, note.hold_samples, 2.0, sr))


def riser(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """White noise through a resonant low-pass sweeping 250 Hz → 10 kHz, swelling to the
    note's end, with a faint tone gliding up two octaves from the note's pitch."""
    sr = note.sample_rate_hz
    hold = note.hold_samples
    n = hold + note.samples(0.08)
    progress = np.minimum(np.arange(n, dtype=np.float64) / hold, 1.0)
    cutoff = 250.0 * (10000.0 / 250.0) ** progress
    noise = rng.standard_normal(n).astype(np.float32)
    swept = highpass(sweep_lowpass(noise, cutoff, 3.0, sr), 120.0, sr)
    tone = sine(phase_words(note.freq_hz * 4.0**progress, n, sr)) * np.float32(0.25)
    swell = (progress**2).astype(np.float32)
    env = swell * gate_release(n, hold, 0.08, sr)
    return normalise((normalise(swept) + tone) * env)


def impact(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A boom that drops from 100 Hz to 38 Hz under a burst of dark noise; rings ~2 s."""
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(2.0)
    t = np.arange(n, dtype=np.float64) / sr
    boom_hz = 38.0 + 62.0 * np.exp(-t / 0.12)
    boom = sine(phase_words(boom_hz, n, sr)) * exp_decay(n, 1.8, sr)
    burst_n = min(n, note.samples(0.8))
    burst = lowpass(rng.standard_normal(burst_n).astype(np.float32), 2500.0, sr)
    boom[:burst_n] += 0.5 * normalise(burst) * exp_decay(burst_n, 0.6, sr)
    boom *= exp_decay(n, 2.0, sr)  # lands at exactly the tail's end without a click
    boom[-64:] *= np.linspace(1.0, 0.0, 64, dtype=np.float32)
    return normalise(soft_clip(boom, 1.5))


def _click_shapes(rng: np.random.Generator, sr: int) -> list[np.ndarray]:
    shapes = []
    for low, high in ((1200.0, 6000.0), (800.0, 4000.0), (2000.0, 9000.0)):
        impulse = np.zeros(96, dtype=np.float32)
        impulse[0] = 1.0
        impulse[1] = float(rng.uniform(-0.8, 0.8))
        shapes.append(bandpass(impulse, low, high, sr))
    return shapes


def vinyl(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A crackle bed (hiss, rumble, random clicks and pops) for long notes; one pop for short."""
    sr = note.sample_rate_hz
    if note.hold_s < VINYL_BED_MIN_S:
        n = note.hold_samples + note.samples(0.06)
        pop = bandpass(rng.standard_normal(n).astype(np.float32), 300.0, 5000.0, sr)
        return normalise(pop * exp_decay(n, 0.05, sr))
    n = note.hold_samples + note.samples(0.2)
    loop_n = min(n, note.samples(_BED_LOOP_S))
    hiss = bandpass(rng.standard_normal(loop_n).astype(np.float32), 900.0, 7000.0, sr)
    rumble = lowpass(rng.standard_normal(loop_n).astype(np.float32), 35.0, sr)
    bed_loop = 0.05 * normalise(hiss) + 0.08 * normalise(rumble)
    bed = np.tile(bed_loop, n // loop_n + 1)[:n]
    shapes = _click_shapes(rng, sr)
    crackles = int(_CRACKLES_PER_S * n / sr)
    positions = rng.integers(0, max(1, n - 96), crackles)
    gains = rng.exponential(0.25, crackles) * rng.choice([-1.0, 1.0], crackles)
    picks = rng.integers(0, len(shapes), crackles)
    for position, gain, pick in zip(
        positions.tolist(), gains.tolist(), picks.tolist(), strict=True
    ):
        bed[position : position + 96] += np.float32(min(gain, 1.0)) * shapes[pick]
    pops = int(_POPS_PER_S * n / sr)
    pop_shape = lowpass(np.hanning(200).astype(np.float32), 1500.0, sr)
    for position in rng.integers(0, max(1, n - 200), pops).tolist():
        bed[position : position + 200] += np.float32(rng.uniform(0.3, 0.7)) * pop_shape
    return normalise(fade_in_and_release(bed, 0.03, note.hold_samples, 0.2, sr))
