"""Gaps in audio: runs quieter than a level for longer than a minimum time."""

from __future__ import annotations

import math

import numpy as np

SILENCE_DBFS = -60.0
MIN_SILENCE_S = 2.0
WINDOW_S = 0.05


def find_silences(
    audio: np.ndarray,
    sample_rate_hz: int,
    threshold_dbfs: float = SILENCE_DBFS,
    min_duration_s: float = MIN_SILENCE_S,
) -> tuple[tuple[float, float], ...]:
    """(start_s, end_s) of every run of 50 ms windows whose RMS is under ``threshold_dbfs`` for
    at least ``min_duration_s``. A run reaching the end of the audio is the final decay of the
    song, not a gap, and is left out."""
    chans = audio[np.newaxis, :] if audio.ndim == 1 else audio
    n = chans.shape[1]
    window = max(1, round(WINDOW_S * sample_rate_hz))
    count = -(-n // window)
    if count == 0:
        return ()
    padded = np.zeros((chans.shape[0], count * window), dtype=np.float32)
    padded[:, :n] = chans
    squares = np.square(padded).reshape(chans.shape[0], count, window).sum(axis=(0, 2))
    lengths = np.full(count, window * chans.shape[0], dtype=np.float64)
    lengths[-1] = (n - (count - 1) * window) * chans.shape[0]
    mean_square = squares / lengths
    quiet = mean_square < 10.0 ** (threshold_dbfs / 10.0)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        start_s = start * window / sample_rate_hz
        stop_s = min(stop * window, n) / sample_rate_hz
        if stop >= count:
            continue  # the final decay
        if stop_s - start_s >= min_duration_s - 1e-9:
            runs.append((round(start_s, 3), round(stop_s, 3)))
    return tuple(runs)


def clipped_samples(audio: np.ndarray, level: float = 0.9999) -> int:
    """How many samples (over all channels) sit at or beyond ``level`` of full scale."""
    return int(np.count_nonzero(np.abs(audio) >= level))


def finite_or_none(value: float) -> float | None:
    """JSON has no infinities: -inf loudness of silence becomes None."""
    return value if math.isfinite(value) else None
