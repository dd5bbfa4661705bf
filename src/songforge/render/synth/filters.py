"""Filters for note segments: fixed Butterworth/peaking sections, a resonant low-pass whose
cutoff follows an envelope, and soft clipping (filtering by :mod:`songforge.render.iir`)."""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from songforge.render import iir

_STEPS_PER_OCTAVE = 12  # the swept filter re-designs itself every semitone of cutoff travel
_MIN_BLOCK = 128  # ... but never for fewer samples than this (bounds the Python loop)
_MIN_CUTOFF_HZ = 20.0


def _cap_hz(freq_hz: float, sample_rate_hz: int) -> float:
    return float(min(max(freq_hz, _MIN_CUTOFF_HZ), 0.45 * sample_rate_hz))


def _apply(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    # float64 filtering: scipy's float32 path is slower and the state is more accurate
    return np.asarray(iir.sosfilt(sos, x.astype(np.float64, copy=False)), dtype=np.float32)


def lowpass(x: np.ndarray, cutoff_hz: float, sample_rate_hz: int, order: int = 2) -> np.ndarray:
    """Butterworth low-pass (12 dB/octave per order step of 2)."""
    sos = iir.butter(
        order, (round(_cap_hz(cutoff_hz, sample_rate_hz), 1),), "lowpass", sample_rate_hz
    )
    return _apply(sos, x)


def highpass(x: np.ndarray, cutoff_hz: float, sample_rate_hz: int, order: int = 2) -> np.ndarray:
    """Butterworth high-pass."""
    cutoff = round(_cap_hz(cutoff_hz, sample_rate_hz), 1)
    sos = iir.butter(order, (cutoff,), "highpass", sample_rate_hz)
    return _apply(sos, x)


def bandpass(
    x: np.ndarray, low_hz: float, high_hz: float, sample_rate_hz: int, order: int = 2
) -> np.ndarray:
    """Butterworth band-pass between ``low_hz`` and ``high_hz``."""
    low = _cap_hz(low_hz, sample_rate_hz)
    high = max(_cap_hz(high_hz, sample_rate_hz), low * 1.05)
    high = min(high, 0.46 * sample_rate_hz)
    sos = iir.butter(order, (round(low, 1), round(high, 1)), "bandpass", sample_rate_hz)
    return _apply(sos, x)


@lru_cache(maxsize=1024)
def _peaking_sos(freq_hz: float, gain_db: float, q: float, sample_rate_hz: int) -> np.ndarray:
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq_hz / sample_rate_hz
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1.0 + alpha * amp, -2.0 * np.cos(w0), 1.0 - alpha * amp])
    a = np.array([1.0 + alpha / amp, -2.0 * np.cos(w0), 1.0 - alpha / amp])
    return np.concatenate([b / a[0], a / a[0]])[np.newaxis, :]


def peaking(
    x: np.ndarray, freq_hz: float, gain_db: float, q: float, sample_rate_hz: int
) -> np.ndarray:
    """RBJ peaking EQ: a resonance (positive gain) or a notch-like dip (negative)."""
    sos = _peaking_sos(round(_cap_hz(freq_hz, sample_rate_hz), 1), gain_db, q, sample_rate_hz)
    return _apply(sos, x)


def _lowpass_coefficients(
    cutoff_hz: np.ndarray, q: float, sample_rate_hz: int
) -> tuple[np.ndarray, np.ndarray]:
    w0 = 2.0 * np.pi * cutoff_hz / sample_rate_hz
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / (2.0 * q)
    a0 = 1.0 + alpha
    b = np.stack([(1.0 - cos_w0) / 2.0, 1.0 - cos_w0, (1.0 - cos_w0) / 2.0], axis=1) / a0[:, None]
    a = np.stack([np.ones_like(a0), -2.0 * cos_w0 / a0, (1.0 - alpha) / a0], axis=1)
    return b, a


def sweep_lowpass(
    x: np.ndarray,
    cutoff_hz: np.ndarray,
    resonance_q: float,
    sample_rate_hz: int,
    stages: int = 1,
) -> np.ndarray:
    """Resonant low-pass whose cutoff follows ``cutoff_hz`` (one value per sample).

    The biquad is re-designed at block boundaries where the cutoff has moved a semitone, so a
    one-second envelope sweep costs a few dozen filter calls rather than one per sample.
    ``stages`` = 2 gives a 24 dB/octave ladder-like slope."""
    n = len(x)
    if n == 0:
        return x.astype(np.float32)
    cutoff = np.clip(cutoff_hz[:n], _MIN_CUTOFF_HZ, 0.45 * sample_rate_hz)
    steps = np.floor(np.log2(cutoff) * _STEPS_PER_OCTAVE)
    changes = np.flatnonzero(np.diff(steps)) + 1
    bounds = [0]
    for index in changes.tolist():
        if index - bounds[-1] >= _MIN_BLOCK:
            bounds.append(index)
    bounds.append(n)
    starts = np.asarray(bounds[:-1])
    ends = np.asarray(bounds[1:])
    centre = cutoff[(starts + ends) // 2].astype(np.float64)
    q = max(float(resonance_q), 0.5)
    b, a = _lowpass_coefficients(centre, q, sample_rate_hz)
    y = x.astype(np.float64)
    for _ in range(stages):
        out = np.empty(n, dtype=np.float64)
        state = np.zeros(2)
        for j, (start, end) in enumerate(itertools.pairwise(bounds)):
            out[start:end], state = iir.biquad(b[j], a[j], y[start:end], state)
        y = out
    return y.astype(np.float32)


def soft_clip(x: np.ndarray, drive: float) -> np.ndarray:
    """tanh saturation normalised so a full-scale input still peaks near 1."""
    drive = max(float(drive), 1e-3)
    return (np.tanh(x * np.float32(drive)) * np.float32(1.0 / np.tanh(drive))).astype(np.float32)
