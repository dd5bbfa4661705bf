"""A look-ahead true-peak limiter, vectorised: the gain computer works on short blocks of the
4x-oversampled peak envelope, so trying another input gain costs milliseconds, not a pass over
the song. pedalboard's Limiter has neither look-ahead nor true-peak detection."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_RELEASE_CHUNK_BLOCKS = 4096


def block_length(sample_rate_hz: int, lookahead_ms: float) -> int:
    """Samples per gain-computer block, near ``lookahead_ms``: the nearest divisor of the 100 ms
    loudness segment, so block gains map onto loudness segments exactly."""
    if sample_rate_hz % 10:
        raise ValueError(
            f"the limiter needs 100 ms to be whole samples, not at {sample_rate_hz} Hz"
        )
    target = lookahead_ms * sample_rate_hz / 1000.0
    segment = sample_rate_hz // 10
    divisors = [d for d in range(1, segment + 1) if segment % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), d))


@dataclass(frozen=True)
class PeakBlocks:
    """The true-peak envelope reduced to one maximum per block, in dB: everything the gain
    computer needs to decide how much to reduce at any input gain."""

    peak_db: np.ndarray  # (blocks,) float64, max of the envelope in each block
    block_samples: int
    n: int

    @classmethod
    def from_peaks(cls, peaks: np.ndarray, block_samples: int, n: int) -> PeakBlocks:
        with np.errstate(divide="ignore"):
            return cls(20.0 * np.log10(peaks.astype(np.float64)), block_samples, n)

    @classmethod
    def from_envelope(cls, envelope: np.ndarray, block_samples: int) -> PeakBlocks:
        n = envelope.shape[0]
        blocks = -(-n // block_samples)
        padded = np.zeros(blocks * block_samples, dtype=np.float32)
        padded[:n] = envelope
        peaks = padded.reshape(blocks, block_samples).max(axis=1)
        return cls.from_peaks(peaks, block_samples, n)


def _release(reduction_db: np.ndarray, decay_per_block: float) -> np.ndarray:
    """Peak-hold with exponential release: out[b] = max over j ≤ b of r[j] * decay^(b - j).

    Computed chunk by chunk as a cumulative maximum of r * decay^-i (the exponent stays small
    inside a chunk), carrying the last value across chunks."""
    out = np.zeros_like(reduction_db)
    steps = np.arange(_RELEASE_CHUNK_BLOCKS, dtype=np.float64)
    grow = decay_per_block**-steps
    shrink = decay_per_block**steps
    carry = 0.0
    for start in range(0, reduction_db.shape[0], _RELEASE_CHUNK_BLOCKS):
        chunk = reduction_db[start : start + _RELEASE_CHUNK_BLOCKS]
        size = chunk.shape[0]
        if carry < 1e-6 and not chunk.any():
            continue
        held = np.maximum.accumulate(chunk * grow[:size]) * shrink[:size]
        np.maximum(held, carry * decay_per_block * shrink[:size], out=held)
        out[start : start + size] = held
        carry = float(held[-1])
    return out


def block_reduction_db(
    peaks: PeakBlocks,
    input_gain_db: float,
    ceiling_db: float,
    sample_rate_hz: int,
    release_ms: float,
) -> np.ndarray:
    """Gain reduction (dB ≥ 0) at each block boundary so that, with the gain interpolated
    linearly (in dB) across each block, every sample and inter-sample peak stays under the
    ceiling: block b's value covers blocks b and b+1 (look-ahead), then releases exponentially."""
    needed = np.maximum(peaks.peak_db + (input_gain_db - ceiling_db), 0.0)
    release_blocks = release_ms * sample_rate_hz / 1000.0 / peaks.block_samples
    released = _release(needed, math.exp(-1.0 / max(release_blocks, 1e-9)))
    ahead = released.copy()
    ahead[:-1] = np.maximum(ahead[:-1], released[1:])
    return ahead


def block_gain_db(reduction_db: np.ndarray, input_gain_db: float) -> np.ndarray:
    """Mean gain in dB over each block (for quick loudness estimates)."""
    previous = np.concatenate([reduction_db[:1], reduction_db[:-1]])
    return input_gain_db - 0.5 * (previous + reduction_db)


def sample_gain(
    reduction_db: np.ndarray, input_gain_db: float, block_samples: int, n: int
) -> np.ndarray:
    """Per-sample linear gain: reduction ramps linearly from the previous block's value to this
    block's over the block (a look-ahead attack of one block), float32 (n,)."""
    return gain_range(reduction_db, input_gain_db, block_samples, 0, n)


def gain_range(
    reduction_db: np.ndarray, input_gain_db: float, block_samples: int, start: int, stop: int
) -> np.ndarray:
    """:func:`sample_gain` over samples [start, stop) only, float32 (stop - start,)."""
    first, last = start // block_samples, -(-stop // block_samples)
    current = reduction_db[first:last].astype(np.float32)
    previous = np.empty_like(current)
    previous[1:] = current[:-1]
    previous[0] = reduction_db[max(first - 1, 0)]
    ramp = (np.arange(1, block_samples + 1, dtype=np.float32) / block_samples)[np.newaxis, :]
    gain_db = previous[:, np.newaxis] + (current - previous)[:, np.newaxis] * ramp
    offset = start - first * block_samples
    gain_db = gain_db.reshape(-1)[offset : offset + stop - start]
    np.subtract(np.float32(input_gain_db), gain_db, out=gain_db)
    np.multiply(gain_db, np.float32(math.log(10.0) / 20.0), out=gain_db)
    return np.exp(gain_db, out=gain_db)


def varying_blocks(reduction_db: np.ndarray) -> np.ndarray:
    """Blocks whose gain is not the plain input gain throughout (reduction at either end of the
    block's ramp), as a boolean mask."""
    active = reduction_db > 0.0
    active[1:] |= active[:-1].copy()
    return active
