"""Small vectorised effects the mix and master use beside pedalboard: envelopes keyed to known
times (sidechain duck, reverb gate), panning and pseudo-stereo width, soft clip, tape wobble."""

from __future__ import annotations

import math

import numpy as np
import pedalboard

SIDECHAIN_ATTACK_MS = 4.0
HAAS_DELAY_MS = 14.0  # pseudo-stereo: the side signal is the source this much later
GATE_HOLD_MS = 260.0  # 80s gated reverb: the gate stays open this long after a hit
GATE_RELEASE_MS = 15.0
GATE_RANGE_DB = 30.0  # the gate opens for hits within this range of the loudest
GATE_ONSET_DB = 9.0  # a hit: this much louder than the quietest moment of the last 20 ms


def duck_envelope(
    hit_samples: np.ndarray, n: int, sample_rate_hz: int, release_ms: float
) -> np.ndarray:
    """Duck amount 0..1 keyed to hits: ramps to 1 over a few ms so it is full on the hit, then
    recovers along a half cosine over ``release_ms``. A hit during a recovery ramps on from where
    the previous one had got to. float32 (n,)."""
    envelope = np.zeros(n, dtype=np.float32)
    attack = max(1, round(SIDECHAIN_ATTACK_MS * sample_rate_hz / 1000.0))
    release = max(1, round(release_ms * sample_rate_hz / 1000.0))
    recovery = (0.5 + 0.5 * np.cos(np.pi * np.arange(release) / release)).astype(np.float32)
    ramp = np.arange(1, attack + 1, dtype=np.float32) / attack
    hits = np.unique(np.asarray(hit_samples, dtype=np.int64))
    hits = hits[(hits >= 0) & (hits < n)]
    if hits.size == 0:
        return envelope
    starts = np.maximum(hits - attack, 0)
    starts[1:] = np.maximum(starts[1:], hits[:-1])  # every hit reaches its full duck
    ends = np.append(starts[1:], n)
    previous_hit = -1
    for hit, start, end in zip(hits.tolist(), starts.tolist(), ends.tolist(), strict=True):
        since = start - previous_hit
        level = float(recovery[since]) if previous_hit >= 0 and since < release else 0.0
        envelope[start:hit] = level + (1.0 - level) * ramp[attack - (hit - start) :]
        tail = min(end - hit, release)
        envelope[hit : hit + tail] = recovery[:tail]
        previous_hit = hit
    return envelope


def duck_gain(envelope: np.ndarray, depth_db: float) -> np.ndarray:
    """Linear gain for a duck envelope at ``depth_db`` (the full duck), float32."""
    gain = envelope * np.float32(-depth_db * math.log(10.0) / 20.0)
    return np.exp(gain, out=gain)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law for a mono source: -1 left, 0 centre (-3 dB each side), +1 right."""
    angle = (pan + 1.0) * math.pi / 4.0
    return math.cos(angle), math.sin(angle)


def haas_delay_samples(sample_rate_hz: int) -> int:
    """How many samples the pseudo-stereo side signal of a widened mono source lags."""
    return max(1, round(HAAS_DELAY_MS * sample_rate_hz / 1000.0))


def place_channel(
    source: np.ndarray,
    channel: int,
    out: np.ndarray,
    pan: float,
    width: float,
    gain: float,
    sample_rate_hz: int,
    start: int = 0,
    *,
    centred: bool = False,
) -> None:
    """Write one stereo channel (0 left, 1 right) of a processed part, from sample ``start`` on,
    into ``out`` (as many samples as ``out`` holds).

    Mono sources are panned with constant power and widened by a mono-compatible delayed side
    signal (L = M + S, R = M - S); stereo sources keep their image and are balanced so that
    centre is unity. A ``centred`` mono source is a stereo one whose channels are the same."""
    left, right = pan_gains(pan)
    stop = start + out.shape[0]
    if source.shape[0] == 2 or centred:
        scale = math.sqrt(2.0) * gain * (left if channel == 0 else right)
        row = channel if source.shape[0] == 2 else 0
        np.multiply(source[row, start:stop], np.float32(scale), out=out)
        return
    norm = gain / math.sqrt(1.0 + width * width)
    side_sign = left if channel == 0 else -right
    np.multiply(
        source[0, start:stop], np.float32(norm * (left if channel == 0 else right)), out=out
    )
    delay = haas_delay_samples(sample_rate_hz)
    first = max(start, delay)
    if width > 0.0 and first < stop:
        side = source[0, first - delay : stop - delay] * np.float32(norm * width * side_sign)
        out[first - start :] += side


def gate_envelope(
    key: np.ndarray, sample_rate_hz: int, hold_ms: float = GATE_HOLD_MS
) -> np.ndarray:
    """An 80s reverb gate keyed to ``key`` (the drums' reverb send): it opens (1) on every hit,
    a jump of at least ``GATE_ONSET_DB`` over the level just before that comes within
    ``GATE_RANGE_DB`` of the loudest, stays open for ``hold_ms`` and closes over a few ms, so
    each snare gets its burst of room however busy the hats between. float32 (n,)."""
    n = key.shape[0]
    step = max(1, round(0.002 * sample_rate_hz))
    blocks = -(-n // step)
    padded = np.zeros(blocks * step, dtype=np.float32)
    padded[:n] = key
    levels = np.maximum(
        padded.reshape(blocks, step).max(axis=1), -padded.reshape(blocks, step).min(axis=1)
    )
    loudest = float(levels.max()) if blocks else 0.0
    if loudest <= 0.0:
        return np.zeros(n, dtype=np.float32)
    lookback = max(1, round(0.02 * sample_rate_hz / step))
    before = np.full(blocks, np.inf, dtype=np.float32)
    for shift in range(1, lookback + 1):  # the quietest level in the 20 ms before each block
        np.minimum(before[shift:], levels[:-shift], out=before[shift:])
    before[0] = 0.0
    rising = (levels >= loudest * 10.0 ** (-GATE_RANGE_DB / 20.0)) & (
        levels >= before * 10.0 ** (GATE_ONSET_DB / 20.0)
    )
    onsets = np.flatnonzero(rising & ~np.concatenate([[False], rising[:-1]]))
    hold_blocks = max(1, round(hold_ms / 1000.0 * sample_rate_hz / step))
    marks = np.zeros(blocks + 1, dtype=np.int32)
    np.add.at(marks, onsets, 1)
    np.add.at(marks, np.minimum(onsets + hold_blocks, blocks), -1)
    open_blocks = (np.cumsum(marks[:-1]) > 0).astype(np.float32)
    release_blocks = max(1, round(GATE_RELEASE_MS / 1000.0 * sample_rate_hz / step))
    kernel = np.ones(release_blocks, dtype=np.float32) / release_blocks
    smooth = np.convolve(open_blocks, kernel)[:blocks].astype(np.float32)
    return np.repeat(smooth, step)[:n]


def soft_clip(audio: np.ndarray, knee: float, ceiling: float) -> None:
    """In place: unity below ``knee``; above it a tanh curve that approaches ``ceiling``."""
    span = ceiling - knee
    if span <= 0.0:
        np.clip(audio, -ceiling, ceiling, out=audio)
        return
    block = 1 << 18
    for start in range(0, audio.shape[-1], block):
        piece = audio[..., start : start + block]
        over = np.abs(piece) > knee
        if not over.any():
            continue
        values = piece[over]
        magnitude = knee + span * np.tanh((np.abs(values) - knee) / span)
        piece[over] = np.copysign(magnitude, values).astype(audio.dtype)


def tape_wobble(
    audio: np.ndarray, sample_rate_hz: int, depth_ms: float = 0.9, rate_hz: float = 0.55
) -> np.ndarray:
    """Slow pitch drift (wow plus a little flutter) by reading the audio through a modulated
    delay with linear interpolation, a block at a time to keep the index arrays small."""
    n = audio.shape[-1]
    out = np.empty_like(audio)
    block = 1 << 18
    for start in range(0, n, block):
        stop = min(start + block, n)
        t = np.arange(start, stop, dtype=np.float64) / sample_rate_hz
        delay = (depth_ms / 1000.0 * sample_rate_hz) * (
            1.0 + np.sin(2 * np.pi * rate_hz * t) + 0.15 * np.sin(2 * np.pi * 7.3 * t)
        )
        position = np.clip(np.arange(start, stop, dtype=np.float64) - delay, 0.0, n - 1.0)
        index = np.minimum(position.astype(np.int64), max(n - 2, 0))
        fraction = (position - index).astype(np.float32)
        upper_index = np.minimum(index + 1, n - 1)
        for channel in range(audio.shape[0]):
            lower = audio[channel, index]
            out[channel, start:stop] = lower + (audio[channel, upper_index] - lower) * fraction
    return out


def linked_compressor_gain(
    audio: np.ndarray,
    sample_rate_hz: int,
    threshold_db: float,
    ratio: float,
    attack_ms: float,
    release_ms: float,
) -> np.ndarray:
    """Gain (n,) of a stereo-linked compressor: pedalboard's Compressor run once on the channel
    maximum, its gain read back as output / input. One mono pass instead of two, and both
    channels get the same gain so the image does not shift."""
    compressor = pedalboard.Compressor(
        threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms, release_ms=release_ms
    )
    return linked_gain(audio, compressor, float(sample_rate_hz))


def linked_gain(
    audio: np.ndarray, compressor: pedalboard.Compressor, sample_rate_hz: float, reset: bool = True
) -> np.ndarray:
    """:func:`linked_compressor_gain` with a given compressor, which keeps its state between
    calls when ``reset`` is False (so a song can be compressed a chunk at a time)."""
    detector = np.abs(audio[0]).astype(np.float32, copy=False)
    for channel in audio[1:]:
        np.maximum(detector, np.abs(channel), out=detector)
    detector += np.float32(1e-9)
    compressed = compressor.process(
        detector[np.newaxis, :], sample_rate_hz, detector.shape[0], reset=reset
    )[0]
    np.divide(compressed, detector, out=compressed)
    return np.minimum(compressed, np.float32(1.0), out=compressed)
