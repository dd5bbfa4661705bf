"""Pre-master mix → mastered audio at the loudness target with a true-peak ceiling.

Chain: tilt EQ → linked glue compressor → soft clip → optional lo-fi → true-peak limiter. The
limiter's input gain is searched on block summaries (milliseconds per try) taken in one pass,
then the result is verified exactly (integrated loudness, true peak) before the gain is applied
in place. Only a static gain and peak reduction are applied after the glue compressor, so quiet
intros and outros stay as quiet relative to the song as the mix made them.

Every pass walks the song a chunk at a time with a helper thread one chunk behind (filters and
the K-weighting carry their state in order), so the two cores share the work, no song-length
scratch is made, and the result does not depend on the scheduling."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

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
_CHUNK = 1 << 16  # samples per step of every pass (rounded to whole limiter blocks)
_TP_CONTEXT = 12  # samples each side a true-peak interpolation reads
_TAPS_ABS_SUM = 2.5  # ≥ the sum of |taps| of any true-peak interpolation phase (2.29)


class OutputTap(Protocol):
    """Told as the mastered audio is written (e.g. an encoder that runs alongside)."""

    def advance(self, frames: int) -> None:
        """Frames [0, frames) of the output are final (unless :meth:`restart` follows)."""

    def restart(self) -> None:
        """What was written is void; it is written again from the start."""


@dataclass(frozen=True)
class MasterResult:
    audio: np.ndarray  # float32 (2, n), |x| < 1, true peak ≤ settings.true_peak_dbtp
    integrated_lufs: float
    true_peak_dbtp: float


def master(
    mix: np.ndarray,
    settings: MasterSettings,
    sample_rate_hz: int,
    *,
    in_place: bool = False,
    tap: Callable[[np.ndarray], OutputTap] | None = None,
    spare: np.ndarray | None = None,
) -> MasterResult:
    """Master ``mix`` (float (2, n) or (1, n)) to ``settings.target_lufs`` integrated loudness
    with true peak at or under ``settings.true_peak_dbtp``. Deterministic.

    ``in_place=True`` lets a float32 (2, n) ``mix`` become the result (the caller gives it up),
    which saves a song-length copy. ``tap`` is given the output array before it is written and
    returns an :class:`OutputTap` told as it fills (the result is then written into that new
    array while it is measured, so an encoder can start before mastering ends). ``spare``, a
    float32 (2, n) buffer the caller gives up (not ``mix``), becomes that array instead of
    fresh memory, whose first writes cost ~2 ms/MB in page faults."""
    audio = _stereo(mix, copy=not in_place)
    peak = meter.sample_peak(audio)
    if not math.isfinite(peak):
        raise RenderError("the mix holds NaN or infinite samples; nothing to master")
    if peak == 0.0:
        return MasterResult(audio, -math.inf, -math.inf)
    scale = np.float32(meter.db_to_gain(INPUT_PEAK_DBFS) / peak)
    block = limiter.block_length(sample_rate_hz, LOOKAHEAD_MS)
    chunk = block * max(1, _CHUNK // block)
    with meter.single_threaded_blas(), ThreadPoolExecutor(1, "songforge-master") as helper:
        passes = _Passes(audio, sample_rate_hz, block, chunk, helper)
        loudness = passes.tilt_and_compress(settings, scale)
        clip: tuple[float, float] | None = None
        if settings.saturation_db > 0.0 and math.isfinite(loudness):
            level = meter.db_to_gain(settings.target_lufs - loudness)
            ceiling = meter.db_to_gain(settings.true_peak_dbtp) / level
            clip = (ceiling * meter.db_to_gain(-settings.saturation_db), ceiling)
        if settings.lofi:
            if clip is not None:
                effects.soft_clip(audio, *clip)
                clip = None
            audio = _lofi(audio, sample_rate_hz)
            passes = _Passes(audio, sample_rate_hz, block, chunk, helper)
        if spare is not None and (spare.shape != audio.shape or spare.dtype != audio.dtype):
            spare = None
        return _limit_to_target(passes, settings, clip, tap, spare)


def _stereo(mix: np.ndarray, *, copy: bool) -> np.ndarray:
    audio = np.array(mix, dtype=np.float32, copy=copy or None, ndmin=2, order="C")
    if audio.ndim == 2 and audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ValueError(f"master expects (2, n) audio, not shape {np.shape(mix)}")
    return audio


def _lofi(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    wobbled = effects.tape_wobble(audio, sample_rate_hz)
    board = pedalboard.Pedalboard(
        [pedalboard.LowpassFilter(LOFI_LOWPASS_HZ), pedalboard.LowpassFilter(LOFI_LOWPASS_HZ)]
    )
    return board.process(wobbled, float(sample_rate_hz), 1 << 16)


class _Passes:
    """Chunked passes over the song: the calling thread does one stage of each chunk while the
    helper thread does the next stage of the chunk before it, in order."""

    def __init__(
        self,
        audio: np.ndarray,
        sample_rate_hz: int,
        block: int,
        chunk: int,
        helper: ThreadPoolExecutor,
    ) -> None:
        self.audio, self.rate, self.block, self.chunk = audio, sample_rate_hz, block, chunk
        self.n = audio.shape[1]
        self.helper = helper

    def spans(self) -> Iterator[tuple[int, int]]:
        for start in range(0, self.n, self.chunk):
            yield start, min(start + self.chunk, self.n)

    def _pipeline(
        self, front: Callable[[int, int], None], back: Callable[[int, int], None]
    ) -> None:
        """front(chunk k) here, then back(chunk k) on the helper while front(k + 1) runs."""
        pending: Future[None] | None = None
        try:
            for start, stop in self.spans():
                front(start, stop)
                if pending is not None:
                    pending.result()
                pending = self.helper.submit(back, start, stop)
        finally:
            if pending is not None:
                pending.result()

    def tilt_and_compress(self, settings: MasterSettings, scale: np.float32) -> float:
        """In place: times ``scale``, tilt EQ, then the stereo-linked glue compressor. Returns
        the integrated loudness of the result when saturation needs it, else NaN. The loudness
        K-weighting is split by channel between the threads (the compressor alone makes the
        helper's stage the longer one): the left channel of chunk k - 1 here, the right of
        chunk k on the helper, which then sums chunk k - 1."""
        audio, rate = self.audio, float(self.rate)
        plugins: list[pedalboard.Plugin] = []
        if settings.low_shelf_db:
            plugins.append(pedalboard.LowShelfFilter(TILT_LOW_HZ, settings.low_shelf_db, TILT_Q))
        if settings.high_shelf_db:
            plugins.append(pedalboard.HighShelfFilter(TILT_HIGH_HZ, settings.high_shelf_db, TILT_Q))
        tilt = pedalboard.Pedalboard(plugins)
        bus = settings.bus_compressor
        compressor = pedalboard.Compressor(
            threshold_db=bus.threshold_db,
            ratio=bus.ratio,
            attack_ms=bus.attack_ms,
            release_ms=bus.release_ms,
        )
        power = None
        if settings.saturation_db > 0.0:
            power = meter.KWeightedBlocks(2, self.rate, self.block, self.n)
        # chunk start → its weighted channels. Right channels are weighed on the helper just
        # after compressing; chunk k's left in front(k + 2), the first front that runs after
        # back(k) has finished; back(k) sums chunk k - 2, whose left front(k) weighed.
        weighted: dict[int, list[np.ndarray]] = {}
        step = self.chunk

        def weigh_left(begin: int) -> None:
            if power is not None and begin >= 0:
                left = power.weigh(0, audio[0, begin : begin + step])
                weighted[begin].insert(0, left)

        def front(start: int, stop: int) -> None:
            piece = audio[:, start:stop]
            piece *= scale
            if plugins:
                piece[:] = tilt.process(piece, rate, step, reset=start == 0)
            weigh_left(start - 2 * step)

        def back(start: int, stop: int) -> None:
            piece = audio[:, start:stop]
            piece *= effects.linked_gain(piece, compressor, rate, reset=start == 0)
            if power is not None:
                if start >= 2 * step:
                    power.add_weighted(weighted.pop(start - 2 * step))
                weighted[start] = [power.weigh(1, piece[1])]

        self._pipeline(front, back)
        if power is None:
            return math.nan
        for begin in sorted(weighted):
            if len(weighted[begin]) == 1:
                weigh_left(begin)
            power.add_weighted(weighted.pop(begin))
        return power.loudness()

    def analyse(self, clip: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
        """Soft clip in place (if asked), then per limiter block: the true-peak maximum and the
        K-weighted power sum. One pass; the true peak here, the K-weighting on the helper."""
        audio, block = self.audio, self.block
        peaks = np.zeros(-(-self.n // block), dtype=np.float32)
        power = meter.KWeightedBlocks(2, self.rate, block, self.n)
        spans = list(self.spans())
        if clip is not None and spans:
            effects.soft_clip(audio[:, : spans[0][1]], *clip)

        def front(start: int, stop: int) -> None:
            following = stop + self.chunk
            if clip is not None and stop < self.n:  # the next chunk is the context read here
                effects.soft_clip(audio[:, stop:following], *clip)
            maxima = meter.block_maxima(meter.envelope_range(audio, start, stop), block)
            peaks[start // block : start // block + maxima.shape[0]] = maxima

        self._pipeline(front, lambda start, stop: power.add(audio[:, start:stop]))
        return peaks, power.sums

    def verify(
        self,
        peaks: np.ndarray,
        reduction_db: np.ndarray,
        gain_db: float,
        out: np.ndarray | None = None,
        tap: OutputTap | None = None,
    ) -> tuple[float, float]:
        """Integrated loudness and true peak of the audio with the limiter's gain applied,
        measured exactly without making it. The K-weighting runs over gained chunks on the
        helper. The true peak: where the gain is the plain input gain it is the input's
        scaled (interpolation is linear); elsewhere each block has an upper bound from its
        gain range, and blocks are computed on the gained samples, highest bound first, until
        no bound can beat the maximum found. With ``out``, the gained audio is written there
        (and ``tap`` told) as it goes: all of it first, a chunk at a time, with only the
        K-weighting of each written chunk queued on the helper, so an encoder reading ``out``
        gets every part of the song at once (not at the pace of the K-weighting); the true
        peak is then found here while the helper weighs."""
        audio, block = self.audio, self.block
        power = meter.KWeightedBlocks(2, self.rate, block, self.n)
        if out is None:
            gained: dict[int, np.ndarray] = {}

            def front(start: int, stop: int) -> None:
                gain = limiter.gain_range(reduction_db, gain_db, block, start, stop)
                gained[start] = audio[:, start:stop] * gain

            def back(start: int, stop: int) -> None:
                power.add(gained.pop(start))

            self._pipeline(front, back)
            peak = self._gained_peak(peaks, reduction_db, gain_db)
            return power.loudness(), meter.gain_to_db(peak)
        weighed: list[Future[None]] = []
        try:
            for start, stop in self.spans():
                gain = limiter.gain_range(reduction_db, gain_db, block, start, stop)
                piece = np.multiply(audio[:, start:stop], gain, out=out[:, start:stop])
                if tap is not None:
                    tap.advance(stop)
                weighed.append(self.helper.submit(power.add, piece))  # in order: one thread
            peak = self._gained_peak(peaks, reduction_db, gain_db)
        finally:
            for job in weighed:
                job.result()
        return power.loudness(), meter.gain_to_db(peak)

    def _gained_peak(self, peaks: np.ndarray, reduction_db: np.ndarray, gain_db: float) -> float:
        audio, block, n = self.audio, self.block, self.n
        # block b's envelope reads 12 samples into b - 1 and b + 1, whose gains ramp from the
        # reductions at the ends of blocks b - 2 .. b + 1
        ends = np.concatenate([reduction_db[:1], reduction_db[:1], reduction_db, reduction_db[-1:]])
        window = np.lib.stride_tricks.sliding_window_view(ends, 4)
        most, least = window.max(axis=1), window.min(axis=1)
        gain = meter.db_to_gain(gain_db)
        plain = most == 0.0
        peak = float(peaks[plain].max()) * gain if plain.any() else 0.0
        varying = np.flatnonzero(~plain)
        if varying.size == 0:
            return peak
        neighbours = np.maximum(peaks, np.maximum(np.roll(peaks, 1), np.roll(peaks, -1)))
        high = gain * 10.0 ** (-least[varying] / 20.0)
        low = gain * 10.0 ** (-most[varying] / 20.0)
        # |sum h_k g_k x_k| <= g_max |sum h_k x_k| + (g_max - g_min) sum |h_k| max |x|
        bounds = high * peaks[varying] + (high - low) * _TAPS_ABS_SUM * neighbours[varying]
        for index in np.argsort(-bounds, kind="stable"):
            if bounds[index] <= peak:
                break
            b = int(varying[index])
            start, stop = b * block, min((b + 1) * block, n)
            lo, hi = max(0, start - _TP_CONTEXT), min(n, stop + _TP_CONTEXT)
            samples = audio[:, lo:hi] * limiter.gain_range(reduction_db, gain_db, block, lo, hi)
            peak = max(peak, float(meter.envelope_range(samples, start - lo, stop - lo).max()))
        return peak

    def apply(self, reduction_db: np.ndarray, gain_db: float) -> None:
        audio = self.audio
        for start, stop in self.spans():
            audio[:, start:stop] *= limiter.gain_range(
                reduction_db, gain_db, self.block, start, stop
            )


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
    passes: _Passes,
    settings: MasterSettings,
    clip: tuple[float, float] | None,
    tap_for: Callable[[np.ndarray], OutputTap] | None,
    spare: np.ndarray | None,
) -> MasterResult:
    audio, block, rate = passes.audio, passes.block, passes.rate
    block_peaks, block_power = passes.analyse(clip)
    search = _Search(limiter.PeakBlocks.from_peaks(block_peaks, block, passes.n), block_power, rate)
    loudness = search.loudness(0.0, math.inf)  # no gain, nothing limited
    peak_limit_db = settings.true_peak_dbtp
    ceiling_db = peak_limit_db - CEILING_MARGIN_DB
    aim_lufs = settings.target_lufs
    if not math.isfinite(loudness):  # shorter than one gating block: peak-normalise only
        gain_db = ceiling_db - float(np.max(search.peaks.peak_db))
        aim_lufs = -math.inf
    else:
        gain_db = search.gain_for(aim_lufs, ceiling_db, settings.target_lufs - loudness)

    out = tap = None
    if tap_for is not None:
        out = spare if spare is not None else np.empty_like(audio)
        tap = tap_for(out)
    measured_lufs, measured_tp = -math.inf, math.inf
    for round_ in range(_MAX_ROUNDS):
        reduction, applied_db = search.reduction(gain_db, ceiling_db), gain_db
        if tap is not None and round_:
            tap.restart()
        measured_lufs, measured_tp = passes.verify(block_peaks, reduction, applied_db, out, tap)
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
    if out is None:
        passes.apply(reduction, applied_db)
        out = audio
    if measured_tp > peak_limit_db:  # last resort: a static trim always lands under the limit
        if tap is not None:
            tap.restart()
        out *= np.float32(meter.db_to_gain(peak_limit_db - measured_tp - 0.01))
        if tap is not None:
            tap.advance(passes.n)
        measured_lufs = meter.integrated_loudness(out, rate)
        measured_tp = meter.true_peak_dbtp(out)
    return MasterResult(out, measured_lufs, measured_tp)
