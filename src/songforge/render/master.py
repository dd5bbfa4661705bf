"""Pre-master mix → mastered audio at the loudness target with a true-peak ceiling.

Chain: tilt EQ → linked glue compressor → soft clip → optional lo-fi → true-peak limiter. The
limiter's input gain is searched on block summaries (milliseconds per try), applied once, then
integrated loudness and true peak are measured exactly and corrected if needed. Only a static
gain and peak reduction are applied after the glue compressor, so quiet intros and outros stay
as quiet relative to the song as the mix made them."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pedalboard

from songforge.errors import RenderError
from songforge.render import effects, limiter, meter
from songforge.styles.schema import MasterSettings

INPUT_PEAK_DBFS = -6.0  # the chain sees every mix at this peak, so thresholds mean the same
TILT_LOW_HZ = 110.0
TILT_HIGH_HZ = 9000.0
TILT_Q = 0.707
LOFI_LOWPASS_HZ = 7000.0
LOOKAHEAD_MS = 2.5
RELEASE_MS = 80.0
CEILING_MARGIN_DB = 0.5  # aim under the limit: decoded MP3/Vorbis overshoot by up to ~0.4 dB
LOUDNESS_TOLERANCE_LU = 0.1  # re-apply when the exact measurement misses by more than this
MAX_EXTRA_GAIN_DB = 24.0  # the search never pushes the limiter harder than this
_MAX_ROUNDS = 5


@dataclass(frozen=True)
class MasterResult:
    audio: np.ndarray  # float32 (2, n), |x| < 1, true peak ≤ settings.true_peak_dbtp
    integrated_lufs: float
    true_peak_dbtp: float


def master(mix: np.ndarray, settings: MasterSettings, sample_rate_hz: int) -> MasterResult:
    """Master ``mix`` (float (2, n) or (1, n)) to ``settings.target_lufs`` integrated loudness
    with true peak at or under ``settings.true_peak_dbtp``. Deterministic."""
    audio = _stereo_copy(mix)
    peak = meter.sample_peak(audio)
    if not math.isfinite(peak):
        raise RenderError("the mix holds NaN or infinite samples; nothing to master")
    if peak == 0.0:
        return MasterResult(audio, -math.inf, -math.inf)
    audio *= np.float32(meter.db_to_gain(INPUT_PEAK_DBFS) / peak)
    with ThreadPoolExecutor(max_workers=2) as pool:
        audio = _tilt(audio, settings, sample_rate_hz)
        bus = settings.bus_compressor
        audio *= effects.linked_compressor_gain(
            audio, sample_rate_hz, bus.threshold_db, bus.ratio, bus.attack_ms, bus.release_ms
        )
        if settings.saturation_db > 0.0:
            _saturate(audio, settings, sample_rate_hz)
        if settings.lofi:
            audio = _lofi(audio, sample_rate_hz)
        return _limit_to_target(audio, settings, sample_rate_hz, pool)


def _stereo_copy(mix: np.ndarray) -> np.ndarray:
    audio = np.array(mix, dtype=np.float32, copy=True, ndmin=2)
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ValueError(f"master expects (2, n) audio, not shape {np.shape(mix)}")
    return audio


def _tilt(audio: np.ndarray, settings: MasterSettings, sample_rate_hz: int) -> np.ndarray:
    plugins: list[pedalboard.Plugin] = []
    if settings.low_shelf_db:
        plugins.append(pedalboard.LowShelfFilter(TILT_LOW_HZ, settings.low_shelf_db, TILT_Q))
    if settings.high_shelf_db:
        plugins.append(pedalboard.HighShelfFilter(TILT_HIGH_HZ, settings.high_shelf_db, TILT_Q))
    if not plugins:
        return audio
    return pedalboard.Pedalboard(plugins).process(audio, float(sample_rate_hz), 1 << 16)


def _saturate(audio: np.ndarray, settings: MasterSettings, sample_rate_hz: int) -> None:
    """Soft clip in place: the knee sits ``saturation_db`` under the final ceiling, judged at the
    gain the loudness target will need, so the amount does not depend on the mix level."""
    loudness = meter.integrated_loudness(audio, sample_rate_hz)
    if not math.isfinite(loudness):
        return
    level = meter.db_to_gain(settings.target_lufs - loudness)
    ceiling = meter.db_to_gain(settings.true_peak_dbtp) / level
    effects.soft_clip(audio, ceiling * meter.db_to_gain(-settings.saturation_db), ceiling)


def _lofi(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    wobbled = effects.tape_wobble(audio, sample_rate_hz)
    board = pedalboard.Pedalboard(
        [pedalboard.LowpassFilter(LOFI_LOWPASS_HZ), pedalboard.LowpassFilter(LOFI_LOWPASS_HZ)]
    )
    return board.process(wobbled, float(sample_rate_hz), 1 << 16)


@dataclass(frozen=True)
class _Search:
    """Block summaries of the limiter's input: enough to predict loudness at any input gain."""

    peaks: limiter.PeakBlocks
    block_power: np.ndarray  # K-weighted power summed over each limiter block
    sample_rate_hz: int

    def reduction(self, gain_db: float, ceiling_db: float) -> np.ndarray:
        return limiter.block_reduction_db(
            self.peaks, gain_db, ceiling_db, self.sample_rate_hz, RELEASE_MS
        )

    def loudness(self, gain_db: float, ceiling_db: float) -> float:
        """Predicted integrated loudness after gain and limiting (the limiter's gain varies
        slowly, so K-weighting the limited signal ≈ weighting the block powers by gain²)."""
        gains_db = limiter.block_gain_db(self.reduction(gain_db, ceiling_db), gain_db)
        weighted = self.block_power * 10.0 ** (gains_db / 10.0)
        per_segment = round(meter.SEGMENT_S * self.sample_rate_hz) // self.peaks.block_samples
        segments = -(-weighted.shape[0] // per_segment)
        padded = np.zeros(segments * per_segment, dtype=np.float64)
        padded[: weighted.shape[0]] = weighted
        sums = padded.reshape(segments, per_segment).sum(axis=1)
        return meter.loudness_from_segments(sums, self.peaks.n, self.sample_rate_hz)

    def gain_for(self, target_lufs: float, ceiling_db: float, start_db: float) -> float:
        """Input gain whose predicted loudness is ``target_lufs``: loudness rises with gain, so a
        bracketed secant (Illinois) search converges in a handful of tries."""
        low, high = start_db, start_db + MAX_EXTRA_GAIN_DB
        miss_low = self.loudness(low, ceiling_db) - target_lufs
        if miss_low >= 0.0:
            return low
        miss_high = self.loudness(high, ceiling_db) - target_lufs
        if miss_high <= 0.0:
            return high
        side = 0
        for _ in range(60):
            gain = high - miss_high * (high - low) / (miss_high - miss_low)
            miss = self.loudness(gain, ceiling_db) - target_lufs
            if abs(miss) < 0.01 or high - low < 1e-4:
                return gain
            if miss < 0.0:
                low, miss_low = gain, miss
                if side == -1:
                    miss_high *= 0.5
                side = -1
            else:
                high, miss_high = gain, miss
                if side == 1:
                    miss_low *= 0.5
                side = 1
        return gain


def _limit_to_target(
    audio: np.ndarray, settings: MasterSettings, sample_rate_hz: int, pool: ThreadPoolExecutor
) -> MasterResult:
    n = audio.shape[1]
    block = limiter.block_length(sample_rate_hz, LOOKAHEAD_MS)
    power_job = pool.submit(meter.k_weighted_block_power, audio, sample_rate_hz, block)
    peaks = limiter.PeakBlocks.from_peaks(meter.block_peaks(audio, block), block, n)
    search = _Search(peaks, power_job.result(), sample_rate_hz)
    loudness = search.loudness(0.0, math.inf)  # no gain, nothing limited
    peak_limit_db = settings.true_peak_dbtp
    ceiling_db = peak_limit_db - CEILING_MARGIN_DB
    aim_lufs = settings.target_lufs
    if not math.isfinite(loudness):  # shorter than one gating block: peak-normalise only
        gain_db = ceiling_db - float(np.max(search.peaks.peak_db))
        aim_lufs = -math.inf
    else:
        gain_db = search.gain_for(aim_lufs, ceiling_db, settings.target_lufs - loudness)

    out = np.empty_like(audio)
    measured_lufs, measured_tp = -math.inf, math.inf
    for _ in range(_MAX_ROUNDS):
        gain = limiter.sample_gain(search.reduction(gain_db, ceiling_db), gain_db, block, n)
        np.multiply(audio, gain, out=out)
        del gain
        loudness_job = pool.submit(meter.integrated_loudness, out, sample_rate_hz)
        measured_tp = meter.true_peak_dbtp(out)
        measured_lufs = loudness_job.result()
        over_db = measured_tp - peak_limit_db
        miss = settings.target_lufs - measured_lufs if math.isfinite(aim_lufs) else 0.0
        if over_db <= 0.0 and abs(miss) <= LOUDNESS_TOLERANCE_LU:
            break
        if over_db > 0.0:
            ceiling_db -= over_db + 0.02
        aim_lufs += miss
        if math.isfinite(aim_lufs):
            gain_db = search.gain_for(aim_lufs, ceiling_db, gain_db - 6.0)
        else:
            gain_db -= max(over_db, 0.0)
    if measured_tp > peak_limit_db:  # last resort: a static trim always lands under the limit
        out *= np.float32(meter.db_to_gain(peak_limit_db - measured_tp - 0.01))
        measured_lufs = meter.integrated_loudness(out, sample_rate_hz)
        measured_tp = meter.true_peak_dbtp(out)
    return MasterResult(out, measured_lufs, measured_tp)
