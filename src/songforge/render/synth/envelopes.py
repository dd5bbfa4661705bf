"""Amplitude and modulation envelopes as float32 arrays, one value per sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LN_1000 = float(np.log(1000.0))  # exponential segments reach −60 dB in their stated time


@dataclass(frozen=True, slots=True)
class Adsr:
    """Attack (linear), decay (exponential to ``sustain``), release (exponential) in seconds."""

    attack_s: float = 0.005
    decay_s: float = 0.2
    sustain: float = 0.7
    release_s: float = 0.2


def release_samples(env: Adsr, sample_rate_hz: int) -> int:
    return max(1, round(env.release_s * sample_rate_hz))


def adsr(env: Adsr, hold_samples: int, sample_rate_hz: int) -> np.ndarray:
    """The envelope of a note held ``hold_samples`` then released: length hold + release.

    A note released during its attack or decay releases from the level it had reached; the
    last samples fade linearly to exactly zero so cached notes never click when they end."""
    hold = max(1, hold_samples)
    attack_n = max(1, round(env.attack_s * sample_rate_hz))
    t = np.arange(hold, dtype=np.float32)
    level = np.minimum(t / np.float32(attack_n), np.float32(1.0))
    if hold > attack_n:
        decay_rate = _LN_1000 / max(env.decay_s * sample_rate_hz, 1.0)
        after = t[attack_n:] - np.float32(attack_n)
        level[attack_n:] = env.sustain + (1.0 - env.sustain) * np.exp(-decay_rate * after)
    release_n = release_samples(env, sample_rate_hz)
    tail = decay_curve(release_n, env.release_s, sample_rate_hz) * level[-1]
    return np.concatenate([level, tail]).astype(np.float32, copy=False)


def decay_curve(n: int, time_to_minus_60db_s: float, sample_rate_hz: int) -> np.ndarray:
    """exp decay from 1 reaching −60 dB after ``time_to_minus_60db_s``, ending at exactly 0."""
    rate = _LN_1000 / max(time_to_minus_60db_s * sample_rate_hz, 1.0)
    curve = np.exp(np.arange(n, dtype=np.float32) * np.float32(-rate))
    fade_n = max(1, min(n, n // 8 + 1))
    curve[n - fade_n :] *= np.linspace(1.0, 0.0, fade_n, dtype=np.float32)
    return curve


def exp_decay(n: int, time_to_minus_60db_s: float, sample_rate_hz: int) -> np.ndarray:
    """exp decay from 1 reaching −60 dB after ``time_to_minus_60db_s`` (no end fade)."""
    rate = _LN_1000 / max(time_to_minus_60db_s * sample_rate_hz, 1.0)
    return np.exp(np.arange(n, dtype=np.float32) * np.float32(-rate))


def gate_release(n: int, hold_samples: int, release_s: float, sample_rate_hz: int) -> np.ndarray:
    """1 while held, then an exponential release to 0: for sounds that decay on their own
    (plucks, pianos) and are damped when the key is let go."""
    env = np.ones(n, dtype=np.float32)
    if hold_samples < n:
        env[hold_samples:] = decay_curve(n - hold_samples, release_s, sample_rate_hz)
    return env


def ramp_in(n: int, ramp_s: float, sample_rate_hz: int) -> np.ndarray:
    """0 → 1 over ``ramp_s`` (linear) then 1: a delayed vibrato or a fade-in."""
    ramp_n = min(n, max(1, int(ramp_s * sample_rate_hz)))
    env = np.ones(n, dtype=np.float32)
    env[:ramp_n] = np.arange(ramp_n, dtype=np.float32) / np.float32(ramp_n)
    return env


def fade_in_and_release(
    x: np.ndarray, fade_in_s: float, hold_samples: int, release_s: float, sample_rate_hz: int
) -> np.ndarray:
    """Fade ``x`` in and, after ``hold_samples``, out (in place, touching only the fades: for
    beds minutes long, where a full-length envelope would cost more than the sound)."""
    n = len(x)
    fade_n = min(n, max(1, int(fade_in_s * sample_rate_hz)))
    x[:fade_n] *= np.arange(fade_n, dtype=np.float32) / np.float32(fade_n)
    if hold_samples < n:
        x[hold_samples:] *= decay_curve(n - hold_samples, release_s, sample_rate_hz)
    return x
