"""Karplus-Strong plucked strings, computed a block of whole periods at a time.

Each output sample depends only on samples at least one period back, so a whole period (or, with
the loop filter convolved with itself m times, m periods) is one vectorised step instead of one
Python-level or ``lfilter`` step per sample."""

from __future__ import annotations

import numpy as np

_TARGET_BLOCK = 512  # samples per vectorised step for high notes with short periods


def _loop_taps(delay_samples: float, damping: float, loop_gain: float) -> tuple[int, np.ndarray]:
    """Integer period and the 3 taps (at P, P+1, P+2) of loss filter × fractional delay."""
    damping = min(max(damping, 0.0), 0.5)
    whole = int(np.floor(delay_samples - damping))
    frac = delay_samples - damping - whole
    loss = np.array([1.0 - damping, damping])
    interp = np.array([1.0 - frac, frac])
    return whole, loop_gain * np.convolve(loss, interp)


def karplus_strong(
    excitation: np.ndarray,
    freq_hz: float,
    n: int,
    sample_rate_hz: int,
    decay_s: float,
    damping: float = 0.5,
) -> np.ndarray:
    """A plucked string at ``freq_hz`` lasting ``n`` samples.

    ``excitation`` fills the first period (its length is cut or zero-padded to the period);
    ``decay_s`` is the fundamental's time to −60 dB; ``damping`` in [0, 0.5] darkens each
    round trip (0.5 = the classic two-point average, small values stay bright)."""
    delay = sample_rate_hz / max(freq_hz, 1.0)
    loop_gain = 10.0 ** (-3.0 / max(decay_s * freq_hz, 1e-3))
    period, taps = _loop_taps(delay, damping, min(loop_gain, 0.99999))
    period = max(period, 2)
    pad = 2
    y = np.zeros(n + pad, dtype=np.float64)
    first = min(period, n)
    seed = np.zeros(period)
    seed[: min(period, len(excitation))] = excitation[:period]
    seed -= seed.mean()
    y[pad : pad + first] = seed[:first]

    multiple = max(1, _TARGET_BLOCK // period)
    kernel = taps
    for _ in range(multiple - 1):
        kernel = np.convolve(kernel, taps)
    span = multiple * period
    warmup = min(n, multiple * (period + 2) + period)

    position = period  # in output samples (buffer index = position + pad)
    while position < warmup:
        length = min(period, warmup - position)
        base = position + pad - period
        y[position + pad : position + pad + length] = (
            taps[0] * y[base : base + length]
            + taps[1] * y[base - 1 : base - 1 + length]
            + taps[2] * y[base - 2 : base - 2 + length]
        )
        position += length
    reach = len(kernel) - 1
    while position < n:
        length = min(span, n - position)
        window_start = position + pad - span - reach
        window = y[window_start : window_start + reach + length]
        y[position + pad : position + pad + length] = np.convolve(window, kernel, mode="valid")
        position += length
    return y[pad:].astype(np.float32)
