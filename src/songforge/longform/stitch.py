"""Stitching clips into one song: beat-aligned equal-power crossfades with loudness matching,
then trimming or padding to the exact length with a musical fade-out.

Each clip is placed where its segment starts (a bar line). Where it overlaps the song so far:

1. alignment — the clip may be nudged by up to a quarter beat so its onsets line up with the
   song's (providers rarely start exactly on the downbeat);
2. loudness — the clip's short-term loudness at its head is matched to the song's at the same
   moment (whole-clip gain, at most ±12 dB; differences within 1 dB are left alone, or small
   measurement differences would add up over a song's many seams);
3. crossfade — an equal-power fade over the overlap (one bar, starting on the bar line). The
   gains are scaled for the measured correlation ρ of the two signals, so power is constant for
   unlike material (ρ = 0: cos/sin) and amplitude for identical material (ρ = 1: the pair sums
   to one) — neither dips nor bumps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import gcd

import numpy as np

from songforge.render import meter

MAX_GAIN_DB = 12.0
LOUDNESS_DEADBAND_DB = 1.0  # smaller differences are the music's own (and would drift)
MIN_CROSSFADE_S = 0.02
LOUDNESS_WINDOW_S = 3.0  # EBU short-term loudness window
MIN_MATCH_S = 1.0  # an overlap this long is measured as it is
ENVELOPE_HOP_S = 0.005
ENVELOPE_FRAME_S = 0.023
MIN_ALIGN_SCORE = 0.5  # onsets must agree this well (correlation) after a shift
MIN_ALIGN_GAIN = 0.2  # and a shift must beat no shift by this much
FADE_OUT_BARS = 2
FADE_OUT_MIN_S = 2.0
FADE_OUT_MAX_S = 8.0
SILENCE_DB = -70.0


@dataclass(frozen=True, slots=True)
class Seam:
    """How one clip was joined to the song before it."""

    index: int  # the clip after the seam
    start_s: float  # where the crossfade begins in the song
    crossfade_s: float
    shift_s: float  # alignment nudge applied to the clip (positive: later)
    gain_db: float  # loudness match applied to the clip
    correlation: float  # of the two signals over the crossfade

    def to_dict(self) -> dict[str, float]:
        return {
            "index": self.index,
            "start_s": round(self.start_s, 3),
            "crossfade_s": round(self.crossfade_s, 3),
            "shift_s": round(self.shift_s, 4),
            "gain_db": round(self.gain_db, 2),
            "correlation": round(self.correlation, 3),
        }


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a clip begins in the song, and where the song after it should begin."""

    audio: np.ndarray  # float32 (2, n) at the song's rate
    start_s: float  # planned start (a bar line)


@dataclass(frozen=True, slots=True)
class Stitched:
    audio: np.ndarray  # float32 (2, n)
    seams: tuple[Seam, ...]
    starts_s: tuple[float, ...]  # where each clip actually begins


def to_song_format(audio: np.ndarray, sample_rate_hz: int, song_rate_hz: int) -> np.ndarray:
    """Any (1|2, n) clip → float32 stereo at the song's rate."""
    chans = np.asarray(audio, dtype=np.float32)
    if chans.ndim == 1:
        chans = chans[np.newaxis, :]
    if sample_rate_hz != song_rate_hz:
        chans = resample(chans, sample_rate_hz, song_rate_hz).astype(np.float32)
    if chans.shape[0] == 1:
        chans = np.repeat(chans, 2, axis=0)
    return np.ascontiguousarray(chans[:2], dtype=np.float32)


def equal_power_gains(n: int, correlation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Fade-out and fade-in gains over ``n`` samples whose sum keeps the power of two signals
    with correlation ``correlation`` (clamped to 0..1) constant."""
    rho = min(max(correlation, 0.0), 1.0)
    theta = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1) * (math.pi / 2)
    fade_out, fade_in = np.cos(theta), np.sin(theta)
    scale = 1.0 / np.sqrt(1.0 + rho * np.sin(2 * theta))
    return (fade_out * scale).astype(np.float32), (fade_in * scale).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equally long (channels, n) signals (0 if either is silent)."""
    energy = math.sqrt(float(np.sum(a.astype(np.float64) ** 2) * np.sum(b.astype(np.float64) ** 2)))
    if energy <= 1e-12:
        return 0.0
    return float(np.sum(a.astype(np.float64) * b) / energy)


def short_term_loudness_db(audio: np.ndarray, sample_rate_hz: int) -> float:
    """K-weighted mean power of a window in LUFS-like dB (ungated); -inf for silence."""
    if audio.shape[-1] == 0:
        return -math.inf
    power = float(np.mean(meter.k_weighted_power(audio, sample_rate_hz)))
    return -0.691 + 10.0 * math.log10(power) if power > 0 else -math.inf


def onset_envelope(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Onset strength every 5 ms: the spectral flux of log magnitudes over ~23 ms frames, so
    drum hits stand out and noise does not."""
    hop = max(1, round(ENVELOPE_HOP_S * sample_rate_hz))
    size = 1 << max(8, round(math.log2(ENVELOPE_FRAME_S * sample_rate_hz)))
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    if mono.shape[-1] < size + hop:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(mono.astype(np.float32), size)[::hop]
    spectra = np.log1p(100.0 * np.abs(np.fft.rfft(frames * np.hanning(size).astype(np.float32))))
    flux = np.maximum(np.diff(spectra, axis=0), 0.0).mean(axis=1)
    return np.concatenate([[0.0], flux]).astype(np.float64)


def best_shift(
    song_tail: np.ndarray, clip_head: np.ndarray, sample_rate_hz: int, max_shift_s: float
) -> float:
    """Seconds to delay ``clip_head`` (negative: advance) so its onsets meet the song's."""
    a = onset_envelope(song_tail, sample_rate_hz)
    b = onset_envelope(clip_head, sample_rate_hz)
    n = min(a.size, b.size)
    max_lag = int(max_shift_s / ENVELOPE_HOP_S)
    if n < 4 * max(max_lag, 1) or max_lag < 1:
        return 0.0
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()

    def score(lag: int) -> float:
        if lag >= 0:
            x, y = a[lag:], b[: n - lag]
        else:
            x, y = a[: n + lag], b[-lag:]
        norm = math.sqrt(float(np.dot(x, x) * np.dot(y, y)))
        return float(np.dot(x, y)) / norm if norm > 0 else 0.0

    scores = {lag: score(lag) for lag in range(-max_lag, max_lag + 1)}
    lag = max(scores, key=lambda k: scores[k])
    if scores[lag] < max(scores[0] + MIN_ALIGN_GAIN, MIN_ALIGN_SCORE):
        return 0.0
    return lag * ENVELOPE_HOP_S


def stitch(
    clips: list[Placement],
    sample_rate_hz: int,
    *,
    overlap_s: float,
    beat_s: float,
    align: bool = True,
    match_loudness: bool = True,
) -> Stitched:
    """Join clips placed at their planned starts (see the module docstring)."""
    if not clips:
        raise ValueError("nothing to stitch")
    capacity = max(round(c.start_s * sample_rate_hz) + c.audio.shape[1] for c in clips)
    capacity += sum(c.audio.shape[1] for c in clips)
    song = np.zeros((2, capacity), dtype=np.float32)
    first = clips[0].audio
    song[:, : first.shape[1]] = first
    end = first.shape[1]
    seams: list[Seam] = []
    starts = [0.0]
    min_fade = round(MIN_CROSSFADE_S * sample_rate_hz)
    for index, placed in enumerate(clips[1:], start=1):
        clip = placed.audio
        start = round(placed.start_s * sample_rate_hz)
        if end - start < min_fade:  # the song so far ends early: join where it ends
            start = max(end - min_fade, 0)
        fade = min(round(overlap_s * sample_rate_hz), end - start, clip.shape[1])
        shift = 0
        if align and fade > 0:
            shift_s = best_shift(
                song[:, start:end], clip[:, : end - start], sample_rate_hz, beat_s / 4
            )
            shift = round(shift_s * sample_rate_hz)
            if shift < 0:  # advance: drop the clip's first samples
                clip = clip[:, -shift:]
            elif shift > 0:  # delay: start later, the fade shortens
                start += shift
            fade = max(min(round(overlap_s * sample_rate_hz), end - start, clip.shape[1]), 0)
        gain_db = 0.0
        if match_loudness and fade > 0:
            gain_db = _loudness_match_db(song, start, end, clip, sample_rate_hz)
            clip = clip * np.float32(10.0 ** (gain_db / 20.0))
        rho = correlation(song[:, start : start + fade], clip[:, :fade]) if fade else 0.0
        fade_out, fade_in = equal_power_gains(fade, rho)
        song[:, start : start + fade] = song[:, start : start + fade] * fade_out + (
            clip[:, :fade] * fade_in
        )
        stop = start + clip.shape[1]
        song[:, start + fade : stop] = clip[:, fade:]
        song[:, stop:end] = 0.0
        end = stop
        starts.append(start / sample_rate_hz)
        seams.append(
            Seam(
                index,
                start / sample_rate_hz,
                fade / sample_rate_hz,
                shift / sample_rate_hz,
                gain_db,
                rho,
            )
        )
    return Stitched(song[:, :end].copy(), tuple(seams), tuple(starts))


def _loudness_match_db(
    song: np.ndarray, start: int, end: int, clip: np.ndarray, sample_rate_hz: int
) -> float:
    """Gain for ``clip`` so its head sounds as loud as the song at the same moment: both are
    measured over the overlap (the one stretch of music both hold), or over short-term windows
    either side of the seam when the overlap is too short to measure."""
    window = round(LOUDNESS_WINDOW_S * sample_rate_hz)
    overlap = end - start
    if overlap >= round(MIN_MATCH_S * sample_rate_hz):
        before = song[:, start:end]
        after = clip[:, :overlap]
    else:
        before = song[:, max(0, end - window) : end]
        after = clip[:, :window]
    loud_before = short_term_loudness_db(before, sample_rate_hz)
    loud_after = short_term_loudness_db(after, sample_rate_hz)
    if min(loud_before, loud_after) < SILENCE_DB:
        return 0.0
    difference = loud_before - loud_after
    if abs(difference) <= LOUDNESS_DEADBAND_DB:  # music varies this much: leave it be
        return 0.0
    return float(np.clip(difference, -MAX_GAIN_DB, MAX_GAIN_DB))


def fade_out_s(bar_s: float) -> float:
    """A musical fade: two bars, kept between 2 and 8 seconds."""
    return min(max(FADE_OUT_BARS * bar_s, FADE_OUT_MIN_S), FADE_OUT_MAX_S)


def conform(audio: np.ndarray, sample_rate_hz: int, duration_s: float, fade_s: float) -> np.ndarray:
    """Exactly ``duration_s`` long: trimmed with a fade-out ending at the last sample, or (when
    short) faded at its own end and padded with silence."""
    n = round(duration_s * sample_rate_hz)
    fade = min(round(fade_s * sample_rate_hz), n)
    if audio.shape[1] >= n:
        out = audio[:, :n].copy()
    else:
        out = np.zeros((audio.shape[0], n), dtype=np.float32)
        out[:, : audio.shape[1]] = audio
        fade = min(fade, audio.shape[1])
    tail_end = min(audio.shape[1], n)
    if fade > 0:
        curve = np.cos(np.linspace(0.0, math.pi / 2, fade, dtype=np.float64)) ** 2
        out[:, tail_end - fade : tail_end] *= curve.astype(np.float32)
    return out


__all__ = [
    "Placement",
    "Seam",
    "Stitched",
    "best_shift",
    "conform",
    "correlation",
    "equal_power_gains",
    "fade_out_s",
    "onset_envelope",
    "resample",
    "short_term_loudness_db",
    "stitch",
    "to_song_format",
]


def resample(audio: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """``audio`` (…, n) from one sample rate to another along its last axis (polyphase).
    scipy.signal is imported only here, when a clip needs it: the import takes ~1.4 s."""
    from scipy import signal

    common = gcd(from_hz, to_hz)
    return np.asarray(signal.resample_poly(audio, to_hz // common, from_hz // common, axis=-1))
