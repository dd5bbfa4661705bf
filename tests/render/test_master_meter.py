"""The loudness and true-peak meters the master and the analyser rely on."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from songforge.render import meter

RATE = 44100


def sine(freq_hz: float, seconds: float, amplitude: float = 1.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq_hz * t + phase)).astype(np.float32)


def faded(x: np.ndarray, fade_s: float = 0.05) -> np.ndarray:
    """Fade ends so a test tone has no step at its edges (a step has real inter-sample peaks)."""
    fade = round(fade_s * RATE)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
    out = x.copy()
    out[..., :fade] *= ramp
    out[..., -fade:] *= ramp[::-1]
    return out


def test_full_scale_997_hz_sine_in_one_channel_reads_minus_3_01_lufs() -> None:
    # the calibration point of ITU-R BS.1770
    assert meter.integrated_loudness(sine(997, 10.0), RATE) == pytest.approx(-3.01, abs=0.02)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_integrated_loudness_agrees_with_pyloudnorm_within_a_tenth_of_a_lu(rate: int) -> None:
    rng = np.random.default_rng(5)
    n = rate * 20
    t = np.arange(n) / rate
    music = np.stack(
        [
            0.3 * np.sin(2 * np.pi * 110 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * t)),
            0.1 * rng.standard_normal(n),
        ]
    )
    music[:, : rate * 4] *= 0.02  # a quiet intro the gates must leave out
    ours = meter.integrated_loudness(music.astype(np.float32), rate)
    reference = pyloudnorm.Meter(rate).integrated_loudness(music.T)
    assert ours == pytest.approx(reference, abs=0.1)


def test_silence_before_music_barely_changes_its_loudness() -> None:
    # the absolute gate drops the silent blocks; only blocks straddling the entry count
    rng = np.random.default_rng(1)
    music = (0.1 * rng.standard_normal((2, RATE * 20))).astype(np.float32)
    padded = np.concatenate([np.zeros((2, RATE * 10), np.float32), music], axis=1)
    assert meter.integrated_loudness(padded, RATE) == pytest.approx(
        meter.integrated_loudness(music, RATE), abs=0.1
    )


def test_silence_and_audio_shorter_than_one_block_measure_minus_infinity() -> None:
    assert meter.integrated_loudness(np.zeros((2, RATE * 3), np.float32), RATE) == -math.inf
    assert meter.integrated_loudness(sine(440, 0.3)[np.newaxis], RATE) == -math.inf


def test_true_peak_finds_the_peak_between_samples() -> None:
    # a quarter-sample-rate sine sampled 45 degrees off its crests: every sample is at 0.707
    x = faded(sine(RATE / 4, 2.0, phase=np.pi / 4))
    assert meter.sample_peak_dbfs(x) == pytest.approx(-3.01, abs=0.01)
    assert meter.true_peak_dbtp(x) == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize("freq_hz", [100.0, 1000.0, 7000.0, 15000.0])
def test_true_peak_of_a_sine_is_its_amplitude(freq_hz: float) -> None:
    x = faded(sine(freq_hz, 1.0, amplitude=0.5, phase=0.3))
    assert meter.true_peak_dbtp(x) == pytest.approx(20 * math.log10(0.5), abs=0.05)


def test_true_peak_matches_sixteen_times_oversampling_on_noise() -> None:
    rng = np.random.default_rng(3)
    noise = signal.sosfilt(
        signal.butter(8, 18000, fs=RATE, output="sos"), rng.standard_normal(RATE)
    )
    x = faded(np.clip(noise * 0.3, -0.6, 0.6)).astype(np.float32)  # clipped: many overshoots
    reference = np.abs(signal.resample_poly(x.astype(np.float64), 16, 1)).max()
    assert meter.true_peak(x[np.newaxis]) == pytest.approx(reference, rel=0.03)
    assert meter.true_peak(x[np.newaxis]) >= meter.sample_peak(x)


def test_peak_envelope_covers_every_channel() -> None:
    left = faded(sine(300, 0.5, amplitude=0.2))
    right = faded(sine(300, 0.5, amplitude=0.7))
    envelope = meter.peak_envelope(np.stack([left, right]))
    assert envelope.shape == left.shape
    assert envelope.max() == pytest.approx(0.7, abs=0.005)
    assert np.all(envelope >= np.abs(right) - 1e-7)


def test_silence_has_no_peak() -> None:
    silence = np.zeros((2, 1000), np.float32)
    assert meter.true_peak_dbtp(silence) == -math.inf
    assert meter.sample_peak_dbfs(silence) == -math.inf


def test_chunked_metering_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    audio = (0.3 * rng.standard_normal((2, 50_000))).astype(np.float32)
    whole_envelope = meter.peak_envelope(audio)
    whole_power = meter.k_weighted_block_power(audio, RATE, 100)
    monkeypatch.setattr(meter, "_CHUNK", 1000)  # not a multiple of the 64-sample frame
    # the same values (BLAS may round the last bit differently for another matrix size)
    np.testing.assert_allclose(meter.peak_envelope(audio), whole_envelope, rtol=1e-6)
    np.testing.assert_allclose(
        meter.k_weighted_block_power(audio, RATE, 100), whole_power, rtol=1e-9
    )
    per_sample = meter.k_weighted_power(audio, RATE)
    np.testing.assert_allclose(per_sample.reshape(500, 100).sum(axis=1), whole_power, rtol=1e-9)
    peaks = meter.block_peaks(audio, 100)
    assert peaks.shape == (500,)
    np.testing.assert_allclose(peaks, whole_envelope.reshape(500, 100).max(axis=1), rtol=1e-6)


def test_streamed_k_weighting_equals_one_pass() -> None:
    rng = np.random.default_rng(10)
    audio = (0.3 * rng.standard_normal((2, 3 * RATE + 77))).astype(np.float32)
    block = RATE // 10
    streamed = meter.KWeightedBlocks(2, RATE, block, audio.shape[1])
    for start in range(0, audio.shape[1], 3 * block):
        streamed.add(audio[:, start : start + 3 * block])
    np.testing.assert_allclose(
        streamed.sums, meter.k_weighted_block_power(audio, RATE, block), rtol=1e-12
    )
    assert streamed.loudness() == pytest.approx(meter.integrated_loudness(audio, RATE), abs=1e-9)
    ragged = meter.KWeightedBlocks(2, RATE, block, audio.shape[1])
    ragged.add(audio[:, :10])
    with pytest.raises(ValueError, match="block boundary"):
        ragged.add(audio[:, 10:20])


def test_the_envelope_of_a_range_reads_its_context_from_the_rest() -> None:
    rng = np.random.default_rng(11)
    audio = (0.3 * rng.standard_normal((2, 5000))).astype(np.float32)
    whole = meter.peak_envelope(audio)
    np.testing.assert_allclose(meter.envelope_range(audio, 1234, 2345), whole[1234:2345], rtol=1e-6)
    np.testing.assert_array_equal(
        meter.block_maxima(whole, 100), whole[:5000].reshape(50, 100).max(axis=1)
    )


def test_k_weighting_split_by_channel_gives_the_same_sums_as_one_call() -> None:
    rng = np.random.default_rng(12)
    audio = (0.3 * rng.standard_normal((2, 2 * RATE + 31))).astype(np.float32)
    block, step = RATE // 10, 4 * (RATE // 10)
    whole = meter.KWeightedBlocks(2, RATE, block, audio.shape[1])
    split = meter.KWeightedBlocks(2, RATE, block, audio.shape[1])
    lefts = [split.weigh(0, audio[0, s : s + step]) for s in range(0, audio.shape[1], step)]
    for index, start in enumerate(range(0, audio.shape[1], step)):
        whole.add(audio[:, start : start + step])
        split.add_weighted([lefts[index], split.weigh(1, audio[1, start : start + step])])
    assert split.sums.tobytes() == whole.sums.tobytes()
