"""One call that describes any audio: length, tempo, key, loudness, peaks, clipping, gaps."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from songforge.analysis.key import estimate_key
from songforge.analysis.silence import clipped_samples, find_silences, finite_or_none
from songforge.analysis.tempo import ANALYSIS_RATE_HZ, estimate_tempo_bpm
from songforge.render import meter
from songforge.render.codec import read_audio
from songforge.theory import Key


@dataclass(frozen=True)
class AudioAnalysis:
    duration_s: float
    sample_rate_hz: int
    channels: int
    tempo_bpm: float  # 0.0 when no beat was found
    key: Key
    key_confidence: float  # 0..1
    integrated_lufs: float  # -inf for silence
    true_peak_dbtp: float  # -inf for silence
    peak_dbfs: float  # -inf for silence
    clipped_samples: int  # samples at |x| >= 0.9999
    silences: tuple[tuple[float, float], ...]  # (start_s, end_s) gaps of 2 s or more

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (infinite levels become None)."""
        return {
            "duration_s": round(self.duration_s, 3),
            "sample_rate_hz": self.sample_rate_hz,
            "channels": self.channels,
            "tempo_bpm": round(self.tempo_bpm, 2),
            "key": self.key.name,
            "key_confidence": round(self.key_confidence, 3),
            "integrated_lufs": finite_or_none(round(self.integrated_lufs, 2)),
            "true_peak_dbtp": finite_or_none(round(self.true_peak_dbtp, 2)),
            "peak_dbfs": finite_or_none(round(self.peak_dbfs, 2)),
            "clipped_samples": self.clipped_samples,
            "silences": [[start, end] for start, end in self.silences],
        }


def analysis_mono(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mono downmix at 22050 Hz, the rate tempo and key are estimated at."""
    chans = audio[np.newaxis, :] if audio.ndim == 1 else audio
    mono = chans.mean(axis=0, dtype=np.float32)
    if sample_rate_hz == ANALYSIS_RATE_HZ:
        return mono
    common = gcd(sample_rate_hz, ANALYSIS_RATE_HZ)
    resampled = signal.resample_poly(mono, ANALYSIS_RATE_HZ // common, sample_rate_hz // common)
    return np.asarray(resampled, dtype=np.float32)


def analyze(audio: np.ndarray, sample_rate_hz: int) -> AudioAnalysis:
    """Describe ``audio`` (float (channels, n) or (n,))."""
    chans = np.asarray(audio, dtype=np.float32)
    if chans.ndim == 1:
        chans = chans[np.newaxis, :]
    mono = analysis_mono(chans, sample_rate_hz)
    key = estimate_key(mono, ANALYSIS_RATE_HZ)
    return AudioAnalysis(
        duration_s=chans.shape[1] / sample_rate_hz,
        sample_rate_hz=sample_rate_hz,
        channels=chans.shape[0],
        tempo_bpm=estimate_tempo_bpm(mono, ANALYSIS_RATE_HZ),
        key=key.key,
        key_confidence=key.confidence,
        integrated_lufs=meter.integrated_loudness(chans, sample_rate_hz),
        true_peak_dbtp=meter.true_peak_dbtp(chans),
        peak_dbfs=meter.sample_peak_dbfs(chans),
        clipped_samples=clipped_samples(chans),
        silences=find_silences(chans, sample_rate_hz),
    )


def analyze_file(path: Path | str) -> AudioAnalysis:
    """Read any supported audio file and describe it (raises AudioReadError if unreadable)."""
    audio, sample_rate_hz = read_audio(Path(path))
    return analyze(audio, sample_rate_hz)
