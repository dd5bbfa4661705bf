"""analyze(): one description of any audio, with levels that agree with reference meters."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from songforge.analysis import AudioAnalysis, analyze, analyze_file, find_silences
from songforge.analysis.silence import clipped_samples
from songforge.render.codec import AudioReadError, write_audio
from songforge.request import AudioFormat
from songforge.theory import Mode

RATE = 44100


def beat_song(seconds: float = 12.0, bpm: float = 120.0) -> np.ndarray:
    """A minor chord pulsing on every beat over a kick: tempo and key both audible."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    phase = (t * bpm / 60.0) % 1.0
    pulse = np.exp(-phase * 8.0)
    chord = sum(
        0.15 * np.sin(2 * np.pi * 440.0 * 2 ** (s / 12) * t) for s in (0, 3, 7)
    )  # A minor triad
    bass = 0.3 * np.sin(2 * np.pi * 110.0 * t)
    kick = 0.6 * np.sin(2 * np.pi * 55 * t) * np.exp(-phase * 25.0)
    mono = (chord + bass) * pulse + kick
    return np.stack([mono, 0.9 * mono]).astype(np.float32)


def test_a_song_is_described_completely() -> None:
    audio = beat_song()
    result = analyze(audio, RATE)
    assert isinstance(result, AudioAnalysis)
    assert result.duration_s == pytest.approx(12.0)
    assert (result.sample_rate_hz, result.channels) == (RATE, 2)
    assert result.tempo_bpm == pytest.approx(120.0, rel=0.02)
    assert (result.key.tonic_pc, result.key.mode) == (9, Mode.MINOR)
    assert result.integrated_lufs == pytest.approx(
        pyloudnorm.Meter(RATE).integrated_loudness(audio.T.astype(np.float64)), abs=0.1
    )
    assert result.peak_dbfs == pytest.approx(20 * math.log10(np.abs(audio).max()), abs=1e-4)
    assert result.true_peak_dbtp >= result.peak_dbfs
    assert result.clipped_samples == 0
    assert result.silences == ()


def test_inter_sample_peaks_are_reported_as_true_peak() -> None:
    n = RATE * 2
    t = np.arange(n) / RATE
    x = np.sin(2 * np.pi * RATE / 4 * t + np.pi / 4) * np.hanning(n) ** 0.01
    result = analyze(np.stack([x, x]).astype(np.float32), RATE)
    assert result.peak_dbfs == pytest.approx(-3.01, abs=0.05)
    assert result.true_peak_dbtp == pytest.approx(0.0, abs=0.15)


def test_clipped_samples_are_counted() -> None:
    audio = np.zeros((2, 1000), np.float32)
    audio[0, :10] = 1.0
    audio[1, 500:503] = -1.2
    audio[1, 600] = 0.9998
    assert clipped_samples(audio) == 13


def test_gaps_of_two_seconds_are_found_but_not_the_final_decay() -> None:
    rng = np.random.default_rng(0)
    sound = lambda s: (0.1 * rng.standard_normal(round(s * RATE))).astype(np.float32)  # noqa: E731
    quiet = lambda s: np.zeros(round(s * RATE), np.float32)  # noqa: E731
    mono = np.concatenate([sound(4), quiet(3), sound(2), quiet(1), sound(2), quiet(5)])
    gaps = find_silences(np.stack([mono, mono]), RATE)
    assert len(gaps) == 1
    start, end = gaps[0]
    assert start == pytest.approx(4.0, abs=0.06) and end == pytest.approx(7.0, abs=0.06)


def test_quiet_but_not_silent_is_not_a_gap() -> None:
    hiss = (10 ** (-50 / 20) * np.random.default_rng(1).standard_normal(RATE * 5)).astype(
        np.float32
    )
    padded = np.concatenate([hiss, np.full(RATE, 0.1, np.float32)])
    assert find_silences(padded, RATE) == ()


def test_a_leading_silence_counts() -> None:
    mono = np.concatenate([np.zeros(RATE * 3, np.float32), np.full(RATE, 0.2, np.float32)])
    assert find_silences(mono, RATE) == ((0.0, 3.0),)


def test_analyze_file_reads_any_format_and_to_dict_is_json(tmp_path: Path) -> None:
    path = tmp_path / "song.flac"
    write_audio(path, beat_song(seconds=8.0), RATE, AudioFormat.FLAC)
    result = analyze_file(path)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["key"] == "A minor"
    assert data["duration_s"] == pytest.approx(8.0)
    assert set(data) >= {
        "tempo_bpm",
        "key_confidence",
        "integrated_lufs",
        "true_peak_dbtp",
        "peak_dbfs",
        "clipped_samples",
        "silences",
    }


def test_silence_is_described_without_crashing() -> None:
    result = analyze(np.zeros((2, RATE * 3), np.float32), RATE)
    assert result.tempo_bpm == 0.0 and result.key_confidence == 0.0
    assert result.integrated_lufs == -math.inf
    data = result.to_dict()
    assert data["integrated_lufs"] is None and data["peak_dbfs"] is None
    json.dumps(data)


def test_48k_audio_is_analysed_at_its_own_rate() -> None:
    n = 48000 * 6
    t = np.arange(n) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    result = analyze(tone, 48000)
    assert result.sample_rate_hz == 48000 and result.channels == 1
    assert result.duration_s == pytest.approx(6.0)
    assert result.integrated_lufs == pytest.approx(20 * math.log10(0.2) - 3.01, abs=0.05)


def test_an_unreadable_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(AudioReadError):
        analyze_file(junk)
