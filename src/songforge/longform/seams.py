"""How audible the seams of a stitched song are, judged against the song itself.

At each seam two things are measured and compared with the same measurement everywhere else in
the song (its non-seam frames), so busy music is not penalised for being busy:

- spectral flux — the largest frame-to-frame rise of the log spectrum within the crossfade,
  against the median of the same maximum over non-seam windows of equal length (``flux_ratio``)
  and its rank among them (``flux_percentile``);
- loudness jump — the change of short-term loudness from just before the crossfade to just after
  it, against the 95th percentile of the same change at non-seam moments.

A seam is *seamless* when its flux is within ``FLUX_RATIO_LIMIT`` of an ordinary moment and its
loudness jump is within ``LOUDNESS_MARGIN_DB`` of the song's ordinary changes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from songforge.longform.stitch import resample

ANALYSIS_RATE_HZ = 22050
FRAME = 1024
HOP = 512
FLUX_RATIO_LIMIT = 1.5
LOUDNESS_MARGIN_DB = 1.5
LOUDNESS_SPAN_S = 1.5  # loudness is compared over this much before and after
EDGE_S = 2.0  # the song's first and last seconds are not used as the baseline
GUARD_S = 0.25  # around a seam's crossfade, frames still count as the seam's


@dataclass(frozen=True, slots=True)
class SeamScore:
    start_s: float
    crossfade_s: float
    flux_ratio: float
    flux_percentile: float
    loudness_jump_db: float | None  # None: too close to the final fade to measure
    loudness_baseline_db: float  # p95 of the jump at non-seam moments

    @property
    def seamless(self) -> bool:
        jump = self.loudness_jump_db
        return self.flux_ratio <= FLUX_RATIO_LIMIT and (
            jump is None or jump <= self.loudness_baseline_db + LOUDNESS_MARGIN_DB
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "start_s": round(self.start_s, 3),
            "crossfade_s": round(self.crossfade_s, 3),
            "flux_ratio": round(self.flux_ratio, 3),
            "flux_percentile": round(self.flux_percentile, 3),
            "loudness_jump_db": None
            if self.loudness_jump_db is None
            else round(self.loudness_jump_db, 2),
            "loudness_baseline_db": round(self.loudness_baseline_db, 2),
            "seamless": self.seamless,
        }


@dataclass(frozen=True, slots=True)
class SeamReport:
    seams: tuple[SeamScore, ...]

    @property
    def seamless(self) -> bool:
        return all(s.seamless for s in self.seams)

    @property
    def worst_flux_ratio(self) -> float:
        return max((s.flux_ratio for s in self.seams), default=0.0)

    @property
    def worst_loudness_jump_db(self) -> float:
        jumps = [s.loudness_jump_db for s in self.seams if s.loudness_jump_db is not None]
        return max(jumps, default=0.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "seamless": self.seamless,
            "worst_flux_ratio": round(self.worst_flux_ratio, 3),
            "worst_loudness_jump_db": round(self.worst_loudness_jump_db, 2),
            "flux_ratio_limit": FLUX_RATIO_LIMIT,
            "loudness_margin_db": LOUDNESS_MARGIN_DB,
            "seams": [s.to_dict() for s in self.seams],
        }


def _mono(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    mono = mono.astype(np.float64)
    if sample_rate_hz != ANALYSIS_RATE_HZ:
        mono = resample(mono, sample_rate_hz, ANALYSIS_RATE_HZ)
    return mono


def frame_features(audio: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame spectral flux and loudness (dB) at ``HOP / ANALYSIS_RATE_HZ`` s per frame."""
    mono = _mono(audio, sample_rate_hz)
    frames = 1 + max(0, (mono.size - FRAME) // HOP)
    if mono.size < FRAME:
        return np.zeros(0), np.zeros(0)
    view = np.lib.stride_tricks.sliding_window_view(mono, FRAME)[::HOP][:frames]
    spectra = np.abs(np.fft.rfft(view * np.hanning(FRAME), axis=1))
    log_spec = np.log1p(1000.0 * spectra)
    flux = np.maximum(np.diff(log_spec, axis=0, prepend=log_spec[:1]), 0.0).mean(axis=1)
    power = np.mean(np.square(view), axis=1)
    loudness = 10.0 * np.log10(power + 1e-10)
    return flux, loudness


def _window_max(values: np.ndarray, width: int) -> np.ndarray:
    if values.size < width:
        return np.zeros(0)
    return np.lib.stride_tricks.sliding_window_view(values, width).max(axis=1)


def _level(loudness_db: np.ndarray, a: int, b: int) -> float:
    """Mean power (in dB) of frames a..b."""
    chunk = loudness_db[max(a, 0) : max(b, 0)]
    if chunk.size == 0:
        return -100.0
    return float(10.0 * np.log10(np.mean(10.0 ** (chunk / 10.0))))


def score_seams(
    audio: np.ndarray,
    sample_rate_hz: int,
    seams: list[tuple[float, float]],
    *,
    fade_start_s: float | None = None,
) -> SeamReport:
    """Score each seam given as (crossfade start s, crossfade length s). Loudness is not
    judged after ``fade_start_s`` (the final fade-out changes it on purpose)."""
    flux, loudness = frame_features(audio, sample_rate_hz)
    frame_s = HOP / ANALYSIS_RATE_HZ
    total = flux.size
    level_end = total if fade_start_s is None else min(total, int(fade_start_s / frame_s))
    guard = round(GUARD_S / frame_s)
    edge = round(EDGE_S / frame_s)
    span = max(1, round(LOUDNESS_SPAN_S / frame_s))
    seam_frames = []
    excluded = np.zeros(total, dtype=bool)
    excluded[:edge] = True
    excluded[max(min(total - edge, level_end), 0) :] = True
    for start_s, length_s in seams:
        a = max(0, math.floor(start_s / frame_s) - guard)
        b = min(total, math.ceil((start_s + length_s) / frame_s) + guard + 1)
        seam_frames.append((a, b))
        excluded[max(0, a - span) : min(total, b + span)] = True

    scores = []
    for (a, b), (start_s, length_s) in zip(seam_frames, seams, strict=True):
        width = max(b - a, 1)
        maxima = _window_max(flux, width)
        usable = ~_window_max(excluded.astype(np.float64), width).astype(bool)
        baseline = maxima[usable] if usable.size and usable.any() else maxima
        seam_max = float(flux[a:b].max()) if b > a else 0.0
        median = float(np.median(baseline)) if baseline.size else 0.0
        ratio = seam_max / median if median > 1e-12 else (math.inf if seam_max > 1e-12 else 0.0)
        percentile = float(np.mean(baseline < seam_max)) if baseline.size else 1.0

        after_end = min(b + span, level_end)
        jump: float | None = None
        if after_end - b >= span // 3 and a - span >= 0:
            jump = abs(_level(loudness, b, after_end) - _level(loudness, a - span, a))
        points = range(span + width, level_end - span, max(1, span // 3))
        jumps = [
            abs(_level(loudness, p, p + span) - _level(loudness, p - width - span, p - width))
            for p in points
            if not excluded[p - width - span : p + span].any()
        ]
        baseline_jump = float(np.percentile(jumps, 95)) if jumps else 0.0
        scores.append(SeamScore(start_s, length_s, ratio, percentile, jump, baseline_jump))
    return SeamReport(tuple(scores))


__all__ = ["FLUX_RATIO_LIMIT", "LOUDNESS_MARGIN_DB", "SeamReport", "SeamScore", "score_seams"]
