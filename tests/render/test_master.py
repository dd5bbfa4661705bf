"""Mastering: every song leaves at the loudness target, under the true-peak ceiling, unclipped,
with its quiet passages left quiet."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from songforge.errors import RenderError
from songforge.render import meter
from songforge.render.master import master
from songforge.styles.schema import CompressorSettings, MasterSettings

RATE = 44100


def song(seconds: float = 15.0, level: float = 0.5, seed: int = 0) -> np.ndarray:
    """A dense test mix: kick thumps on the beat, a square bass, bright noisy chords."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    beat = (t * 2.0) % 1.0
    kick = np.sin(2 * np.pi * 50 * t) * np.exp(-beat * 14)
    bass = 0.4 * np.sign(np.sin(2 * np.pi * 55 * t))
    chords = sum(0.12 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    hats = rng.standard_normal(n) * np.exp(-((t * 4.0) % 1.0) * 30) * 0.3
    left = kick + bass + chords + hats
    right = kick + bass + 0.8 * chords + np.roll(hats, 50)
    mix = np.stack([left, right])
    return (mix * level / np.abs(mix).max()).astype(np.float32)


def oversampled_peak_dbtp(audio: np.ndarray) -> float:
    """An independent true-peak reference: 8x polyphase resampling."""
    peak = max(np.abs(signal.resample_poly(ch.astype(np.float64), 8, 1)).max() for ch in audio)
    return 20 * math.log10(peak)


def rms_db(audio: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.square(audio, dtype=np.float64))))


def test_a_dense_mix_lands_on_the_target_under_the_ceiling() -> None:
    result = master(song(), MasterSettings(), RATE)
    assert result.audio.dtype == np.float32 and result.audio.shape == (2, 15 * RATE)
    assert result.integrated_lufs == pytest.approx(-14.0, abs=0.3)
    assert pyloudnorm.Meter(RATE).integrated_loudness(result.audio.T) == pytest.approx(
        -14.0, abs=0.4
    )
    assert result.true_peak_dbtp <= -1.0
    assert oversampled_peak_dbtp(result.audio) <= -0.95  # an independent 8x measure agrees
    assert np.abs(result.audio).max() < 0.9999


def test_a_very_quiet_mix_is_brought_up_to_the_target() -> None:
    result = master(song(level=0.01), MasterSettings(), RATE)
    assert result.integrated_lufs == pytest.approx(-14.0, abs=0.3)
    assert result.true_peak_dbtp <= -1.0


def test_other_targets_are_honoured() -> None:
    settings = MasterSettings(target_lufs=-16.0, true_peak_dbtp=-2.0)
    result = master(song(seed=2), settings, RATE)
    assert result.integrated_lufs == pytest.approx(-16.0, abs=0.3)
    assert result.true_peak_dbtp <= -2.0


def test_a_quiet_intro_is_not_pumped_up() -> None:
    mix = song(seconds=20.0)
    mix[:, : 6 * RATE] *= 0.05  # 26 dB under the body
    result = master(mix, MasterSettings(), RATE)
    before = rms_db(mix[:, 1 * RATE : 5 * RATE]) - rms_db(mix[:, 8 * RATE : 18 * RATE])
    after = rms_db(result.audio[:, 1 * RATE : 5 * RATE]) - rms_db(
        result.audio[:, 8 * RATE : 18 * RATE]
    )
    # the body is compressed and limited a little, so the gap may narrow by a few dB, not more
    assert after == pytest.approx(before, abs=4.0)
    assert after < -20.0


def test_mastering_is_deterministic() -> None:
    mix = song(seconds=10.0, seed=4)
    first = master(mix, MasterSettings(saturation_db=3.0), RATE)
    second = master(mix.copy(), MasterSettings(saturation_db=3.0), RATE)
    assert first.audio.tobytes() == second.audio.tobytes()
    assert first.integrated_lufs == second.integrated_lufs


@pytest.mark.parametrize(
    "settings",
    [
        MasterSettings(saturation_db=6.0),
        MasterSettings(low_shelf_db=3.0, high_shelf_db=2.0),
        MasterSettings(lofi=True),
        MasterSettings(
            bus_compressor=CompressorSettings(threshold_db=-30, ratio=6, attack_ms=5, release_ms=80)
        ),
    ],
    ids=["saturation", "tilt", "lofi", "hard-glue"],
)
def test_every_chain_variant_still_meets_the_floor(settings: MasterSettings) -> None:
    result = master(song(seconds=12.0, seed=7), settings, RATE)
    assert result.integrated_lufs == pytest.approx(-14.0, abs=0.3)
    assert result.true_peak_dbtp <= -1.0
    assert np.abs(result.audio).max() < 0.9999


def high_band_share(audio: np.ndarray) -> float:
    freqs, power = signal.welch(audio.mean(axis=0), RATE, nperseg=4096)
    return float(power[freqs > 8000].sum() / power.sum())


def test_lofi_darkens_the_master() -> None:
    mix = song(seconds=8.0, seed=8)
    plain = master(mix, MasterSettings(), RATE)
    lofi = master(mix, MasterSettings(lofi=True), RATE)
    assert high_band_share(lofi.audio) < 0.5 * high_band_share(plain.audio)


def test_mono_input_comes_out_stereo() -> None:
    result = master(song(seconds=5.0)[:1], MasterSettings(), RATE)
    assert result.audio.shape == (2, 5 * RATE)
    np.testing.assert_array_equal(result.audio[0], result.audio[1])


def test_silence_stays_silent() -> None:
    result = master(np.zeros((2, RATE * 5), np.float32), MasterSettings(), RATE)
    assert not result.audio.any()
    assert result.integrated_lufs == -math.inf


def test_a_broken_mix_is_a_render_error() -> None:
    mix = song(seconds=2.0)
    mix[0, 100] = np.nan
    with pytest.raises(RenderError, match="NaN"):
        master(mix, MasterSettings(), RATE)


def test_a_clip_shorter_than_a_gating_block_is_peak_limited_only() -> None:
    blip = song(seconds=0.3)
    result = master(blip, MasterSettings(), RATE)
    assert result.true_peak_dbtp <= -1.0
    assert meter.sample_peak(result.audio) > 0.5


def peaky_song(seconds: float = 12.0) -> np.ndarray:
    """A mix whose rare spikes the limiter has to catch (the glue and soft clip alone do not)."""
    mix = song(seconds=seconds, level=0.2, seed=11)
    rng = np.random.default_rng(12)
    for at in rng.integers(RATE, mix.shape[1] - RATE, 12):
        mix[:, at : at + 40] += np.hanning(40).astype(np.float32) * 0.5
    return mix


def test_the_measured_true_peak_is_the_output_s_own() -> None:
    """The true peak is verified without a full pass over the output (scaled where the gain is
    plain, recomputed where the limiter works): it equals a full measurement."""
    result = master(peaky_song(), MasterSettings(saturation_db=0.0), RATE)
    assert result.true_peak_dbtp == pytest.approx(meter.true_peak_dbtp(result.audio), abs=1e-4)
    assert result.integrated_lufs == pytest.approx(
        meter.integrated_loudness(result.audio, RATE), abs=1e-6
    )
    assert result.true_peak_dbtp <= -1.0
    assert oversampled_peak_dbtp(result.audio) <= -0.95


def test_mastering_in_place_reuses_the_mix_and_gives_the_same_audio() -> None:
    mix = song(seconds=6.0, seed=5)
    copied = master(mix, MasterSettings(), RATE)
    owned = mix.copy()
    in_place = master(owned, MasterSettings(), RATE, in_place=True)
    assert in_place.audio is owned
    assert in_place.audio.tobytes() == copied.audio.tobytes()


class RecordingTap:
    def __init__(self, out: np.ndarray) -> None:
        self.out, self.advanced, self.restarts = out, 0, 0

    def advance(self, frames: int) -> None:
        assert frames >= self.advanced
        self.advanced = frames

    def restart(self) -> None:
        self.restarts += 1
        self.advanced = 0


def test_a_tap_sees_the_output_as_it_is_written() -> None:
    mix = peaky_song(seconds=8.0)
    taps: list[RecordingTap] = []

    def tap(out: np.ndarray) -> RecordingTap:
        taps.append(RecordingTap(out))
        return taps[-1]

    plain = master(mix, MasterSettings(), RATE)
    tapped = master(mix, MasterSettings(), RATE, tap=tap)
    (recorded,) = taps
    assert tapped.audio is recorded.out and recorded.advanced == mix.shape[1]
    assert tapped.audio.tobytes() == plain.audio.tobytes()
    assert (tapped.integrated_lufs, tapped.true_peak_dbtp) == (
        plain.integrated_lufs,
        plain.true_peak_dbtp,
    )


def test_a_spare_buffer_becomes_the_tapped_output_with_the_same_audio() -> None:
    mix = peaky_song(seconds=8.0)
    spare = np.full_like(mix, 7.0)  # stale contents must not leak into the result
    plain = master(mix, MasterSettings(), RATE)
    tapped = master(mix, MasterSettings(), RATE, tap=RecordingTap, spare=spare)
    assert tapped.audio is spare
    assert tapped.audio.tobytes() == plain.audio.tobytes()
    wrong_shape = np.zeros((2, 10), dtype=np.float32)
    other = master(mix, MasterSettings(), RATE, tap=RecordingTap, spare=wrong_shape)
    assert other.audio is not wrong_shape and other.audio.tobytes() == plain.audio.tobytes()
