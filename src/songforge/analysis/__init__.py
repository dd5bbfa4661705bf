"""Analyse any audio: tempo, key, loudness, peaks, clipping and silences."""

from songforge.analysis.key import KeyEstimate, estimate_key, keys_match
from songforge.analysis.report import AudioAnalysis, analyze, analyze_file
from songforge.analysis.silence import clipped_samples, find_silences
from songforge.analysis.tempo import estimate_tempo_bpm, tempo_matches

__all__ = [
    "AudioAnalysis",
    "KeyEstimate",
    "analyze",
    "analyze_file",
    "clipped_samples",
    "estimate_key",
    "estimate_tempo_bpm",
    "find_silences",
    "keys_match",
    "tempo_matches",
]
