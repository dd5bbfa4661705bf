"""Bass voices: acid, sub, reese, FM, finger, upright and the 808."""

from __future__ import annotations

import numpy as np

from songforge.render.synth.envelopes import Adsr, adsr, exp_decay, gate_release
from songforge.render.synth.filters import lowpass, peaking, soft_clip, sweep_lowpass
from songforge.render.synth.karplus import karplus_strong
from songforge.render.synth.oscillators import detuned_saws, fm, phase_words, saw, sine
from songforge.render.synth.voice import NoteSpec, brightness_hz, normalise


def acid_bass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A 303-style line: saw through a resonant 24 dB low-pass with a snapping envelope;
    velocity is the accent (more envelope, more bite)."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.003, 0.3, 0.7, 0.05), note.hold_samples, sr)
    n = len(env)
    tone = saw(phase_words(note.freq_hz, n, sr, float(rng.random())), note.freq_hz, sr)
    sweep = (300.0 + 3500.0 * note.velocity**1.5) * exp_decay(n, 0.6, sr)
    cutoff = note.freq_hz * 1.5 + 250.0 + sweep
    tone = sweep_lowpass(tone, cutoff, 2.6, sr, stages=2)
    return normalise(soft_clip(normalise(tone) * env, 1.8))


def sub_bass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Sine with a touch of second harmonic so it survives small speakers."""
    del rng
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.005, 0.2, 0.9, 0.08), note.hold_samples, sr)
    n = len(env)
    phase = phase_words(note.freq_hz, n, sr)
    tone = sine(phase) + 0.12 * sine(phase * np.uint32(2))
    return normalise(soft_clip(tone * env, 1.3))


def reese_bass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Detuned saws beating against each other under a dark low-pass, lightly driven."""
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.01, 0.3, 0.9, 0.1), note.hold_samples, sr)
    n = len(env)
    starts = tuple(float(x) for x in rng.random(3))
    tone = detuned_saws(note.freq_hz, n, sr, (-14.0, 0.0, 13.0), starts)
    tone = lowpass(tone, brightness_hz(note, 450.0, 1200.0), sr, order=4)
    return normalise(soft_clip(normalise(tone) * env, 1.6))


def fm_bass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """A 1:1 FM pair whose index snaps down after the attack: the synthwave/DX bass."""
    del rng
    sr = note.sample_rate_hz
    env = adsr(Adsr(0.003, 0.25, 0.75, 0.06), note.hold_samples, sr)
    n = len(env)
    carrier = phase_words(note.freq_hz, n, sr)
    index = 0.6 + (1.2 + 2.0 * note.velocity) * exp_decay(n, 0.5, sr)
    return normalise((fm(carrier, carrier, index) + 0.4 * sine(carrier)) * env)


def _string_bass(
    note: NoteSpec,
    rng: np.random.Generator,
    decay_s: float,
    damping: float,
    release_s: float,
    thump: float,
) -> np.ndarray:
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(release_s)
    period = int(sr / note.freq_hz) + 1
    noise = rng.standard_normal(period)
    bump = np.sin(np.linspace(0.0, np.pi, period))  # a soft finger rather than a pick
    excitation = lowpass(
        (0.4 * noise + bump).astype(np.float32), brightness_hz(note, 500, 1800), sr
    )
    string = karplus_strong(excitation, note.freq_hz, n, sr, decay_s, damping)
    body = sine(phase_words(note.freq_hz, n, sr)) * exp_decay(n, decay_s * 0.7, sr)
    tone = normalise(string) + 0.5 * body
    if thump:
        hit_n = min(n, note.samples(0.05))
        knock = lowpass(rng.standard_normal(hit_n).astype(np.float32), 180.0, sr)
        tone[:hit_n] += thump * knock * exp_decay(hit_n, 0.05, sr)
    return normalise(tone * gate_release(n, note.hold_samples, release_s, sr))


def finger_bass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Plucked electric bass: a warm Karplus-Strong string reinforced by its fundamental."""
    return _string_bass(note, rng, decay_s=2.2, damping=0.42, release_s=0.06, thump=0.0)


def upright_bass(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """Acoustic upright: darker, shorter string with a woody thump and body resonance."""
    tone = _string_bass(note, rng, decay_s=1.1, damping=0.5, release_s=0.12, thump=0.6)
    return normalise(peaking(tone, 110.0, 4.0, 1.2, note.sample_rate_hz))


GLIDE_S = 0.11  # an 808 slide reaches its new pitch in this time
_CROSSFADE_S = 0.005  # a slid-into note fades in while the note it cut fades out


def bass_808(note: NoteSpec, rng: np.random.Generator) -> np.ndarray:
    """The 808: a sine that drops into pitch from above, a long tail, soft saturation. A note
    played legato (``glide_from_pitch``) slides from the previous note's pitch instead, with no
    new attack: the 808 slide."""
    del rng
    sr = note.sample_rate_hz
    n = note.hold_samples + note.samples(0.12)
    t = np.arange(n, dtype=np.float64) / sr
    if note.glide_from_pitch is None:
        bend_semitones = 7.0 * np.exp(-t / 0.03)
        attack_n = min(n, note.samples(0.002))
    else:
        glide_s = min(GLIDE_S, 0.5 * note.hold_s)
        x = np.clip(t / max(glide_s, 1e-3), 0.0, 1.0)
        bend_semitones = (note.glide_from_pitch - note.pitch) * (1.0 - x * x * (3.0 - 2.0 * x))
        attack_n = min(n, note.samples(_CROSSFADE_S))
    phase = phase_words(note.freq_hz * np.exp2(bend_semitones / 12.0), n, sr)
    env = exp_decay(n, 3.5, sr) * gate_release(n, note.hold_samples, 0.12, sr)
    env[:attack_n] *= np.linspace(0.0, 1.0, attack_n, dtype=np.float32)
    return normalise(soft_clip(sine(phase) * env, 1.5 + 1.5 * note.velocity))
