"""The look-ahead gain computer of the true-peak limiter."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.render import limiter

RATE = 44100


def reference_release(reduction: np.ndarray, decay: float) -> np.ndarray:
    out = np.zeros_like(reduction)
    held = 0.0
    for i, value in enumerate(reduction):
        held = max(value, held * decay)
        out[i] = held
    return out


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 96000])
def test_blocks_tile_the_100_ms_loudness_segments(rate: int) -> None:
    block = limiter.block_length(rate, 2.5)
    assert (rate // 10) % block == 0
    assert 1.2 <= block / rate * 1000 <= 5.0


def test_release_holds_each_peak_and_decays_exponentially() -> None:
    rng = np.random.default_rng(0)
    reduction = np.where(rng.random(10000) < 0.01, rng.random(10000) * 6, 0.0)
    decay = 0.97
    np.testing.assert_allclose(
        limiter._release(reduction, decay), reference_release(reduction, decay), atol=1e-9
    )


def test_gain_keeps_every_peak_under_the_ceiling() -> None:
    rng = np.random.default_rng(1)
    n = RATE * 2
    envelope = np.abs(rng.standard_normal(n)).astype(np.float32) * 0.2
    envelope[rng.integers(0, n, 40)] = rng.uniform(0.5, 3.0, 40).astype(np.float32)
    block = limiter.block_length(RATE, 2.5)
    peaks = limiter.PeakBlocks.from_envelope(envelope, block)
    input_gain_db, ceiling_db = 6.0, -1.0
    reduction = limiter.block_reduction_db(peaks, input_gain_db, ceiling_db, RATE, 80.0)
    gain = limiter.sample_gain(reduction, input_gain_db, block, n)
    assert gain.shape == (n,)
    assert np.max(envelope * gain) <= 10 ** (ceiling_db / 20) * 1.0001


def test_gain_is_the_input_gain_away_from_peaks() -> None:
    n = RATE * 2
    envelope = np.full(n, 0.1, np.float32)
    envelope[RATE // 2] = 2.0  # one loud spike
    block = limiter.block_length(RATE, 2.5)
    peaks = limiter.PeakBlocks.from_envelope(envelope, block)
    reduction = limiter.block_reduction_db(peaks, 3.0, -1.0, RATE, 50.0)
    gain = limiter.sample_gain(reduction, 3.0, block, n)
    assert gain[: RATE // 2 - 2 * block] == pytest.approx(10 ** (3 / 20), rel=1e-5)
    assert gain[-RATE // 4 :] == pytest.approx(10 ** (3 / 20), rel=1e-4)  # released
    assert gain[RATE // 2] * 2.0 <= 10 ** (-1 / 20) * 1.0001


def test_gain_over_any_range_matches_the_whole() -> None:
    rng = np.random.default_rng(3)
    block = limiter.block_length(RATE, 2.5)
    reduction = np.where(rng.random(400) < 0.1, rng.random(400) * 4, 0.0)
    n = 400 * block - 17
    whole = limiter.sample_gain(reduction, 2.0, block, n)
    for start, stop in [(0, n), (5, 6), (block - 1, 3 * block + 2), (n - 100, n)]:
        np.testing.assert_array_equal(
            limiter.gain_range(reduction, 2.0, block, start, stop), whole[start:stop]
        )


def test_varying_blocks_are_those_whose_ramp_is_not_flat() -> None:
    reduction = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.5, 0.0])
    assert limiter.varying_blocks(reduction).tolist() == [
        False, False, True, True, False, True, True,
    ]  # fmt: skip
