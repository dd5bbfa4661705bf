"""Loudness and peak meters for whole songs: ITU-R BS.1770-4 integrated loudness (K-weighted,
gated) and 4x-oversampled true peak, vectorised so a 4-minute song measures in a fraction of a
second. Audio is float (channels, n) or mono (n,)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from scipy import signal
from threadpoolctl import threadpool_limits

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_S = 0.4  # gating block
BLOCK_STEP_S = 0.1  # 75 % overlap
LOUDNESS_OFFSET_DB = -0.691  # BS.1770 eq. 2
OVERSAMPLING = 4  # true-peak interpolation points per sample interval
_HALF_TAPS = 12  # interpolation taps each side of an inter-sample point
_KAISER_BETA = 6.0
_FRAME = 64  # samples interpolated per row of one matrix product
_CHUNK = 1 << 19  # samples per matrix product (bounds the scratch memory)


def _channels(audio: np.ndarray) -> np.ndarray:
    """(n,) or (channels, n) → (channels, n) without copying."""
    if audio.ndim == 1:
        return audio[np.newaxis, :]
    if audio.ndim != 2:
        raise ValueError(f"audio must be (channels, n) or (n,), not shape {audio.shape}")
    return audio


def db_to_gain(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


def gain_to_db(gain: float) -> float:
    """Amplitude → dB; 0 gives -inf."""
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf


@cache
def k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    """The two K-weighting biquads (head shelf, then RLB high-pass) as second-order sections.

    Coefficients from the analogue prototypes of BS.1770 (after Brecht De Man), so they match the
    standard's published 48 kHz values exactly and hold at any other rate."""
    rate = float(sample_rate_hz)
    # stage 1: high shelf, +4 dB above ~1.7 kHz
    k = math.tan(math.pi * 1681.974450955533 / rate)
    q = 0.7071752369554196
    vh = 10.0 ** (3.999843853973347 / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    # stage 2: second-order high-pass at ~38 Hz
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def k_weighted_power(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Per-sample K-weighted power summed over channels (all weighted 1.0: mono or stereo)."""
    chans = _channels(audio)
    sos = k_weighting_sos(sample_rate_hz)
    power = np.zeros(chans.shape[1], dtype=np.float64)
    for channel in chans:
        weighted = signal.sosfilt(sos, channel.astype(np.float64, copy=False))
        np.square(weighted, out=weighted)
        power += weighted
    return power


def _block_bounds(n: int, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last sample of every 400 ms gating block (as pyloudnorm lays them)."""
    duration_s = n / sample_rate_hz
    count = int(np.round((duration_s - BLOCK_S) / (BLOCK_S * 0.25))) + 1
    j = np.arange(count, dtype=np.float64)
    lower = (BLOCK_S * (j * 0.25) * sample_rate_hz).astype(np.int64)
    upper = (BLOCK_S * (j * 0.25 + 1.0) * sample_rate_hz).astype(np.int64)
    return lower, np.minimum(upper, n)


def block_powers(power: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """Mean K-weighted power of each 400 ms block (75 % overlap) from per-sample power."""
    n = power.shape[0]
    if n < BLOCK_S * sample_rate_hz:
        return np.zeros(0, dtype=np.float64)
    lower, upper = _block_bounds(n, sample_rate_hz)
    edges = np.unique(np.concatenate([lower, upper]))
    segment_sums = np.add.reduceat(power[: edges[-1]], edges[:-1], dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(segment_sums)])
    sums = cumulative[np.searchsorted(edges, upper)] - cumulative[np.searchsorted(edges, lower)]
    return np.maximum(sums, 0.0) / (BLOCK_S * sample_rate_hz)


def gated_loudness(blocks: np.ndarray) -> float:
    """Integrated loudness (LUFS) from block powers: absolute gate, then the relative gate."""
    if blocks.size == 0:
        return -math.inf
    with np.errstate(divide="ignore"):
        levels = LOUDNESS_OFFSET_DB + 10.0 * np.log10(blocks)
    above_absolute = levels >= ABSOLUTE_GATE_LUFS
    if not above_absolute.any():
        return -math.inf
    relative_gate = (
        LOUDNESS_OFFSET_DB
        + 10.0 * math.log10(float(blocks[above_absolute].mean()))
        + RELATIVE_GATE_LU
    )
    gated = (levels > relative_gate) & (levels > ABSOLUTE_GATE_LUFS)
    return LOUDNESS_OFFSET_DB + 10.0 * math.log10(float(blocks[gated].mean()))


def integrated_loudness(audio: np.ndarray, sample_rate_hz: int) -> float:
    """BS.1770-4 integrated loudness in LUFS; -inf for silence or audio shorter than 400 ms."""
    return gated_loudness(block_powers(k_weighted_power(audio, sample_rate_hz), sample_rate_hz))


def sample_peak(audio: np.ndarray) -> float:
    """Largest absolute sample value over all channels."""
    if audio.size == 0:
        return 0.0
    return float(max(abs(float(audio.max())), abs(float(audio.min()))))


def sample_peak_dbfs(audio: np.ndarray) -> float:
    return gain_to_db(sample_peak(audio))


@cache
def _interpolation_taps() -> np.ndarray:
    """Kaiser-windowed sinc taps, one row per inter-sample point 1/4, 2/4, 3/4."""
    offsets = np.arange(-_HALF_TAPS + 1, _HALF_TAPS + 1)  # neighbour sample positions
    rows = []
    for phase in range(1, OVERSAMPLING):
        distance = phase / OVERSAMPLING - offsets  # from each neighbour to the point
        window = np.i0(_KAISER_BETA * np.sqrt(1.0 - (distance / _HALF_TAPS) ** 2))
        taps = np.sinc(distance) * window / np.i0(_KAISER_BETA)
        rows.append(taps / taps.sum())
    return np.array(rows, dtype=np.float32)


@cache
def _polyphase_matrix() -> np.ndarray:
    """A (frame + taps - 1, 3 * frame) matrix: one product interpolates a whole frame of samples at
    the three inter-sample points each (a BLAS matrix product is ~5x faster than tap loops)."""
    taps = _interpolation_taps()
    span = taps.shape[1]
    matrix = np.zeros((_FRAME + span - 1, (OVERSAMPLING - 1) * _FRAME), dtype=np.float32)
    for phase, phase_taps in enumerate(taps):
        for i in range(_FRAME):
            matrix[i : i + span, phase * _FRAME + i] = phase_taps
    return matrix


def peak_envelope(audio: np.ndarray) -> np.ndarray:
    """Per-sample peak over channels of the sample and the three 4x-oversampled points after it:
    the envelope a true-peak limiter must keep under its ceiling. float32 (n,)."""
    chans = _channels(audio)
    envelope = np.abs(chans[0]).astype(np.float32, copy=False)
    for channel in chans[1:]:
        np.maximum(envelope, np.abs(channel), out=envelope)
    if envelope.size:
        with threadpool_limits(limits=1, user_api="blas"):  # callers already use both cores
            for channel in chans:
                _interpolated_peaks_into(envelope, channel)
    return envelope


def _interpolated_peaks_into(envelope: np.ndarray, channel: np.ndarray) -> None:
    """Raise ``envelope`` to |x| at the inter-sample points of ``channel``, a chunk at a time."""
    n = channel.shape[0]
    matrix = _polyphase_matrix()
    width = matrix.shape[0]
    frames = -(-n // _FRAME)
    padded = np.zeros(frames * _FRAME + width, dtype=np.float32)
    padded[_HALF_TAPS - 1 : _HALF_TAPS - 1 + n] = channel
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)[::_FRAME][:frames]
    rows_per_chunk = _CHUNK // _FRAME
    for first in range(0, frames, rows_per_chunk):
        block = np.ascontiguousarray(windows[first : first + rows_per_chunk]) @ matrix
        np.abs(block, out=block)
        peaks = block.reshape(block.shape[0], OVERSAMPLING - 1, _FRAME).max(axis=1).ravel()
        start = first * _FRAME
        stop = min(start + peaks.size, n)
        np.maximum(envelope[start:stop], peaks[: stop - start], out=envelope[start:stop])


def true_peak(audio: np.ndarray) -> float:
    """Largest absolute value of the 4x-oversampled signal (BS.1770-4 Annex 2), linear."""
    if audio.size == 0:
        return 0.0
    return float(peak_envelope(audio).max())


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak in dBTP; -inf for silence."""
    return gain_to_db(true_peak(audio))
