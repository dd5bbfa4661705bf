"""Dry stems → processed stems that sum to the pre-master mix.

Each part is brought to a reference level, run through its pedalboard chain (filters, EQ,
compressor, drive, bitcrush, chorus), faded, ducked to the kick, panned into stereo and sent to
one shared reverb and one tempo-synced delay. Parts run on a small thread pool (pedalboard
releases the GIL) and only over the stretches where they play; sums happen in score order on the
calling thread so the result is the same whatever the scheduling."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pedalboard

from songforge.compose.score import Part, Score
from songforge.errors import RenderError
from songforge.render import effects
from songforge.render.meter import db_to_gain, sample_peak
from songforge.styles.schema import DelaySettings, MixSettings, PartMix, ReverbSettings

MIX_PEAK_DBFS = -6.0  # headroom left for the master
PART_REFERENCE_DB = -20.0  # each dry part's gated RMS before its fader (gain_db is relative)
REVERB_RETURN_DB = -6.0  # Freeverb returns ~6 dB above its send: a send of 1.0 ≈ the dry level
DELAY_RETURN_DB = -3.0
DELAY_FILTER_HZ = (250.0, 6000.0)  # keep echoes out of the bass and the air
REVERB_HIGHPASS_HZ = 180.0  # no mud from the return
GATED_ROOM_SIZE = 0.85  # gated reverbs are big rooms cut short
REVERB_WARMUP_S = 8.0  # the tail a later reverb segment re-runs to be in the same state
REVERB_SEGMENTS = 2  # time slices of the reverb run in parallel (fixed: output never depends
REVERB_MIN_SEGMENT_S = 30.0  # on the worker count)
BITCRUSH_BITS = 9.0
CHORUS = {"rate_hz": 0.8, "depth": 0.25, "centre_delay_ms": 7.0, "feedback": 0.0, "mix": 0.5}
RETURNS = "returns"
_SILENCE = 1e-7  # a dry block quieter than this is treated as not playing
_ACTIVE_BLOCK_S = 0.1
_TAIL_S = 0.35  # effects ring this long after a part stops (filters, compressor, chorus)
_MERGE_GAP_S = 1.0  # spans closer than this are processed as one
_NOTE_BEATS = {
    "eighth": 0.5,
    "dotted_eighth": 0.75,
    "quarter": 1.0,
    "dotted_quarter": 1.5,
    "half": 2.0,
}
_CHUNK = 1 << 17  # samples per call of the shared reverb (bounds its scratch memory)
_T = TypeVar("_T")


@dataclass(frozen=True)
class MixResult:
    stems: dict[str, np.ndarray]  # per part, post-fader and panned, plus "returns" (reverb/delay)
    mix: np.ndarray  # the sum of ``stems``: the pre-master mix, float32 (2, n)


def mix(
    dry: dict[str, np.ndarray],
    score: Score,
    settings: MixSettings,
    sample_rate_hz: int,
    *,
    keep_stems: bool = True,
    workers: int = 2,
) -> MixResult:
    """Mix dry stems (float32 (1|2, n), keyed by part name) into stereo stems and their sum,
    scaled together so the mix peaks at ``MIX_PEAK_DBFS``.

    ``keep_stems=False`` returns only the mix (``stems`` is empty): each part's stereo stem is
    freed as soon as it is summed, which is what keeps a long song inside its memory budget."""
    n = _common_length(dry, score, sample_rate_hz)
    parts = [part for part in score.parts if part.name in dry]
    out = np.zeros((2, n), dtype=np.float32)
    reverb_bus = np.zeros(n, dtype=np.float32)
    delay_bus = np.zeros(n, dtype=np.float32)
    stems: dict[str, np.ndarray] = {}
    duck = _duck_envelope(score, parts, n, settings, sample_rate_hz)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for part, result in _in_order(
            pool, parts, lambda p: _process_part(dry[p.name], p.mix, duck, sample_rate_hz), workers
        ):
            processed, level_gain = result
            fader = db_to_gain(part.mix.gain_db) * level_gain
            stem = np.empty((2, n), dtype=np.float32)
            effects.place(processed, stem, part.mix.pan, part.mix.width, fader, sample_rate_hz)
            out += stem
            mono = processed[0] if processed.shape[0] == 1 else processed.mean(axis=0)
            if part.mix.reverb_send > 0.0:
                reverb_bus += mono * np.float32(part.mix.reverb_send * fader)
            if part.mix.delay_send > 0.0:
                delay_bus += mono * np.float32(part.mix.delay_send * fader)
            del processed, mono
            if keep_stems:
                stems[part.name] = stem
            del stem
        returns = _returns(reverb_bus, delay_bus, score.tempo_bpm, settings, sample_rate_hz, pool)
    del reverb_bus, delay_bus
    out += returns
    if keep_stems:
        stems[RETURNS] = returns
    del returns

    peak = sample_peak(out)
    if peak > 0.0:
        scale = np.float32(db_to_gain(MIX_PEAK_DBFS) / peak)
        out *= scale
        for stem in stems.values():
            stem *= scale
    return MixResult(stems=stems, mix=out)


def _common_length(dry: dict[str, np.ndarray], score: Score, sample_rate_hz: int) -> int:
    known = {part.name for part in score.parts}
    unknown = sorted(set(dry) - known)
    if unknown:
        raise RenderError(f"dry stems for parts not in the score: {', '.join(unknown)}")
    lengths = set()
    for name, audio in dry.items():
        if audio.ndim != 2 or audio.shape[0] not in (1, 2):
            raise RenderError(
                f"dry stem {name!r} must be shaped (1, n) or (2, n), not {audio.shape}"
            )
        lengths.add(audio.shape[1])
    if len(lengths) > 1:
        raise RenderError(f"dry stems differ in length: {sorted(lengths)} samples")
    if lengths:
        return lengths.pop()
    return round(score.duration_s * sample_rate_hz)


def _in_order(
    pool: ThreadPoolExecutor,
    parts: list[Part],
    work: Callable[[Part], _T],
    window: int,
) -> Iterator[tuple[Part, _T]]:
    """Results in score order with at most ``window + 1`` parts in flight (bounds memory)."""
    pending: deque[tuple[Part, Future[_T]]] = deque()
    queue = iter(parts)
    for part in queue:
        pending.append((part, pool.submit(work, part)))
        if len(pending) > window:
            break
    while pending:
        part, future = pending.popleft()
        for extra in queue:
            pending.append((extra, pool.submit(work, extra)))
            break
        yield part, future.result()


def _duck_envelope(
    score: Score, parts: list[Part], n: int, settings: MixSettings, sample_rate_hz: int
) -> np.ndarray | None:
    if not score.kick_beats or not any(p.mix.sidechain_db > 0.0 for p in parts):
        return None
    seconds_per_beat = 60.0 / score.tempo_bpm
    hits = np.round(np.asarray(score.kick_beats) * seconds_per_beat * sample_rate_hz)
    return effects.duck_envelope(
        hits.astype(np.int64), n, sample_rate_hz, settings.sidechain_release_ms
    )


def gated_level_db(audio: np.ndarray, sample_rate_hz: int) -> float:
    """RMS level (power summed over channels, dB) of the 100 ms blocks where a part plays: an
    absolute gate at -70 dB, then a relative gate 10 dB under the mean, as loudness meters do."""
    block = max(1, round(_ACTIVE_BLOCK_S * sample_rate_hz))
    count = audio.shape[1] // block
    if count == 0:
        power = float(np.mean(np.square(audio, dtype=np.float64)) * audio.shape[0])
        return 10.0 * math.log10(power) if power > 0 else -math.inf
    squares = np.square(audio[:, : count * block], dtype=np.float32)
    powers = squares.reshape(audio.shape[0], count, block).mean(axis=2, dtype=np.float64).sum(0)
    powers = powers[powers > 1e-7]
    if powers.size == 0:
        return -math.inf
    powers = powers[powers > powers.mean() * 0.1]
    return 10.0 * math.log10(float(powers.mean()))


def _active_spans(audio: np.ndarray, sample_rate_hz: int) -> list[tuple[int, int]]:
    """Sample ranges where the part plays, plus its effect tail; nearby ranges are merged."""
    n = audio.shape[1]
    block = max(1, round(_ACTIVE_BLOCK_S * sample_rate_hz))
    count = -(-n // block)
    peaks = np.zeros(count, dtype=np.float32)
    for channel in audio:
        padded = np.zeros(count * block, dtype=np.float32)
        padded[:n] = np.abs(channel)
        np.maximum(peaks, padded.reshape(count, block).max(axis=1), out=peaks)
    playing = np.flatnonzero(peaks > _SILENCE)
    if playing.size == 0:
        return []
    tail_blocks = math.ceil(_TAIL_S / _ACTIVE_BLOCK_S)
    merge_blocks = math.ceil(_MERGE_GAP_S / _ACTIVE_BLOCK_S)
    breaks = np.flatnonzero(np.diff(playing) > merge_blocks + tail_blocks)
    firsts = np.concatenate([[playing[0]], playing[breaks + 1]])
    lasts = np.concatenate([playing[breaks], [playing[-1]]])
    return [
        (int(first) * block, min(n, (int(last) + 1 + tail_blocks) * block))
        for first, last in zip(firsts, lasts, strict=True)
    ]


def part_boards(
    part_mix: PartMix, input_gain_db: float
) -> tuple[pedalboard.Pedalboard, pedalboard.Pedalboard]:
    """The part's insert chain around its drive stage: filters, EQ and compressor before it,
    chorus after. The signal stays at the renderer's level; compressor thresholds are shifted by
    ``input_gain_db`` so they act as if the part sat at ``PART_REFERENCE_DB``."""
    before: list[pedalboard.Plugin] = []
    if part_mix.highpass_hz:  # two first-order sections: 12 dB/octave
        before.append(pedalboard.HighpassFilter(cutoff_frequency_hz=part_mix.highpass_hz))
        before.append(pedalboard.HighpassFilter(cutoff_frequency_hz=part_mix.highpass_hz))
    if part_mix.lowpass_hz:
        before.append(pedalboard.LowpassFilter(cutoff_frequency_hz=part_mix.lowpass_hz))
        before.append(pedalboard.LowpassFilter(cutoff_frequency_hz=part_mix.lowpass_hz))
    for band in part_mix.eq:
        kind = {
            "peak": pedalboard.PeakFilter,
            "low_shelf": pedalboard.LowShelfFilter,
            "high_shelf": pedalboard.HighShelfFilter,
        }[band.kind]
        before.append(kind(cutoff_frequency_hz=band.frequency_hz, gain_db=band.gain_db, q=band.q))
    if part_mix.compressor is not None:
        c = part_mix.compressor
        before.append(
            pedalboard.Compressor(
                threshold_db=c.threshold_db - input_gain_db,
                ratio=c.ratio,
                attack_ms=c.attack_ms,
                release_ms=c.release_ms,
            )
        )
    after: list[pedalboard.Plugin] = []
    if part_mix.chorus:
        after.append(pedalboard.Chorus(**CHORUS))
    return pedalboard.Pedalboard(before), pedalboard.Pedalboard(after)


def drive(audio: np.ndarray, drive_db: float, bitcrush: bool, peak: float) -> None:
    """In place: tanh saturation (pedalboard's Distortion curve, tanh(x * gain), computed with
    numpy's vectorised tanh at a fifth of the cost) and/or bit reduction, both applied with the
    part's peak at full scale so the amount does not depend on the renderer's level. The drive
    is followed by half its gain as makeup: quiet detail comes up, peaks go down."""
    if peak <= 0.0:
        return
    if drive_db > 0.0:
        audio *= np.float32(db_to_gain(drive_db) / peak)
        np.tanh(audio, out=audio)
        audio *= np.float32(peak * db_to_gain(-drive_db / 2.0))
    if bitcrush:
        audio *= np.float32(1.0 / peak)
        audio[...] = pedalboard.Bitcrush(bit_depth=BITCRUSH_BITS).process(audio, 44100.0)
        audio *= np.float32(peak)


def _process_part(
    dry: np.ndarray, part_mix: PartMix, duck: np.ndarray | None, sample_rate_hz: int
) -> tuple[np.ndarray, float]:
    """One part through its chain, ducked, zero where it is silent; with the gain that brings it
    to the reference level (applied with the fader)."""
    source = np.ascontiguousarray(dry, dtype=np.float32)
    out = np.zeros_like(source)
    level_db = gated_level_db(source, sample_rate_hz)
    if not math.isfinite(level_db):
        return out, 0.0
    input_gain_db = PART_REFERENCE_DB - level_db
    before, after = part_boards(part_mix, input_gain_db)
    rate = float(sample_rate_hz)
    for start, stop in _active_spans(source, sample_rate_hz):
        span = out[:, start:stop]
        span[...] = before.process(source[:, start:stop], rate, buffer_size=1 << 16, reset=True)
        if part_mix.drive_db > 0.0 or part_mix.bitcrush:
            drive(span, part_mix.drive_db, part_mix.bitcrush, sample_peak(span))
        if len(after):
            span[...] = after.process(span, rate, buffer_size=1 << 16, reset=True)
    if duck is not None and part_mix.sidechain_db > 0.0:
        out *= effects.duck_gain(duck, part_mix.sidechain_db)
    return out, db_to_gain(input_gain_db)


def reverb_predelay_ms(reverb: ReverbSettings, tempo_bpm: float) -> float:
    """The configured pre-delay, or a 64th note (60000 / bpm / 16 ms) when unset."""
    if reverb.pre_delay_ms is not None:
        return reverb.pre_delay_ms
    return 60000.0 / tempo_bpm / 16.0


def delay_seconds(delay: DelaySettings, tempo_bpm: float) -> float:
    return _NOTE_BEATS[delay.note] * 60.0 / tempo_bpm


def _returns(
    reverb_bus: np.ndarray,
    delay_bus: np.ndarray,
    tempo_bpm: float,
    settings: MixSettings,
    sample_rate_hz: int,
    pool: ThreadPoolExecutor,
) -> np.ndarray:
    """The shared reverb and delay returns, stereo (2, n)."""
    n = reverb_bus.shape[0]
    returns = np.zeros((2, n), dtype=np.float32)
    if reverb_bus.any():
        predelay = round(reverb_predelay_ms(settings.reverb, tempo_bpm) * sample_rate_hz / 1000)
        send = np.zeros(n, dtype=np.float32)
        send[predelay:] = reverb_bus[: n - predelay] if predelay < n else 0.0
        _reverb(send, returns, settings.reverb, sample_rate_hz, pool)
        if settings.reverb.gated:
            returns *= effects.gate_envelope(send, sample_rate_hz)
        del send
    if delay_bus.any():
        board = pedalboard.Pedalboard(
            [
                pedalboard.Delay(
                    delay_seconds=delay_seconds(settings.delay, tempo_bpm),
                    feedback=settings.delay.feedback,
                    mix=1.0,
                ),
                pedalboard.HighpassFilter(cutoff_frequency_hz=DELAY_FILTER_HZ[0]),
                pedalboard.LowpassFilter(cutoff_frequency_hz=DELAY_FILTER_HZ[1]),
            ]
        )
        echoes = board.process(delay_bus[np.newaxis, :], float(sample_rate_hz), 1 << 16)[0]
        echoes *= np.float32(db_to_gain(DELAY_RETURN_DB) * math.sqrt(0.5))
        returns += echoes
    return returns


def _reverb(
    send: np.ndarray,
    returns: np.ndarray,
    reverb: ReverbSettings,
    sample_rate_hz: int,
    pool: ThreadPoolExecutor,
) -> None:
    """Freeverb over the send into ``returns``, split in time into slices run on the pool: each
    later slice first re-runs the preceding ``REVERB_WARMUP_S`` so its state matches (the
    difference is far under -60 dB, and the split is fixed, so output is deterministic)."""
    n = send.shape[0]
    segments = REVERB_SEGMENTS if n >= REVERB_SEGMENTS * REVERB_MIN_SEGMENT_S * sample_rate_hz else 1
    bounds = [n * i // segments for i in range(segments + 1)]
    warmup = round(REVERB_WARMUP_S * sample_rate_hz)

    def run(index: int) -> None:
        start, stop = bounds[index], bounds[index + 1]
        plugin = pedalboard.Pedalboard(
            [
                pedalboard.Reverb(
                    room_size=GATED_ROOM_SIZE if reverb.gated else reverb.room_size,
                    damping=reverb.damping,
                    wet_level=db_to_gain(REVERB_RETURN_DB),
                    dry_level=0.0,
                    width=1.0,
                ),
                pedalboard.HighpassFilter(cutoff_frequency_hz=REVERB_HIGHPASS_HZ),
            ]
        )
        position = max(0, start - warmup) if index > 0 else start
        while position < stop:
            end = min(position + _CHUNK, stop)
            chunk = np.broadcast_to(send[position:end], (2, end - position))
            wet = plugin.process(
                np.ascontiguousarray(chunk), float(sample_rate_hz), 1 << 16, reset=False
            )
            if end > start:
                keep = max(start, position)
                returns[:, keep:end] = wet[:, keep - position :]
            position = end

    for future in [pool.submit(run, i) for i in range(segments)]:
        future.result()
