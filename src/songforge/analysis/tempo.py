"""Tempo of audio by beat tracking with librosa, imported on first use: importing its beat
tracker compiles numba code (seconds), which should not slow down importing songforge."""

from __future__ import annotations

import numpy as np

ANALYSIS_RATE_HZ = 22050
HOP = 256  # ~11.6 ms onset frames at 22050 Hz
# accepted ratios of measured to expected tempo: exact, octave errors, and the dotted-quarter
# versus quarter ambiguity of compound meters
TEMPO_RATIOS = (1.0, 2.0, 0.5, 1.5, 2.0 / 3.0)


def estimate_tempo_bpm(mono: np.ndarray, sample_rate_hz: int = ANALYSIS_RATE_HZ) -> float:
    """Tempo in BPM from beat tracking, refined over the whole track: the mean of the beat
    intervals near the median (more precise than one autocorrelation lag). 0.0 if no beats."""
    try:
        import librosa
    except ImportError as exc:  # the optional "analysis" extra
        raise ImportError(
            "tempo analysis needs librosa: pip install 'songforge[analysis]'"
        ) from exc

    if mono.size < sample_rate_hz or not np.any(mono):
        return 0.0
    onset = librosa.onset.onset_strength(y=mono, sr=sample_rate_hz, hop_length=HOP)
    tempo, beats = librosa.beat.beat_track(
        onset_envelope=onset, sr=sample_rate_hz, hop_length=HOP, units="time"
    )
    coarse = float(np.atleast_1d(tempo)[0])
    if beats.size < 4:
        return coarse
    intervals = np.diff(beats)
    median = float(np.median(intervals))
    steady = intervals[np.abs(intervals - median) <= 0.1 * median]
    if steady.size < 3:
        return coarse
    return float(60.0 / steady.mean())


def tempo_matches(measured: float, expected: float, tolerance: float = 0.02) -> bool:
    """Whether ``measured`` is ``expected`` within ``tolerance`` (relative), allowing the octave
    errors beat trackers make (×2, ÷2) and the compound-meter ×3/2, ×2/3."""
    if measured <= 0.0 or expected <= 0.0:
        return False
    return any(abs(measured - expected * r) <= tolerance * expected * r for r in TEMPO_RATIOS)
