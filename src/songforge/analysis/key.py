"""Key of audio: pitch-class profiles of the whole track, of its bass and of its final chord,
matched against key profiles that tell major from minor (Temperley's Kostka–Payne profiles).

The bass and the final chord are what separate a minor key from its relative major, which share
every pitch class: songs put the tonic in the bass and end on the tonic chord. The weights were
chosen on 54 songforge renders (18 styles; 52 exact, 53 up to the relative key) and synthetic
progressions in all tonics, major and minor (all exact)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.theory import Key, Mode

N_FFT = 8192  # 2.7 Hz bins at 22050 Hz: semitones resolve down to ~50 Hz
HOP = 4096
CHROMA_RANGE_HZ = (55.0, 2000.0)
BASS_RANGE_HZ = (30.0, 180.0)  # bass fundamentals and their octaves, not fifths
ENDING_S = 4.0  # the longest final chord considered
ENDING_LEVEL = 0.25  # frames under this share of the median level are tail, not chord
BASS_WEIGHT = 0.3
ENDING_WEIGHT = 1.2  # scaled by how clearly the ending is a triad at all

# Temperley (2007), Kostka–Payne corpus: probability of each scale degree from the tonic
MAJOR_PROFILE = np.array(
    [0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400]
)
MINOR_PROFILE = np.array(
    [0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330]
)
MAJOR_TRIAD = np.array([1.0, 0, 0, 0, 1.0, 0, 0, 1.0, 0, 0, 0, 0])
MINOR_TRIAD = np.array([1.0, 0, 0, 1.0, 0, 0, 0, 1.0, 0, 0, 0, 0])


@dataclass(frozen=True)
class KeyEstimate:
    key: Key
    confidence: float  # 0..1: how well the audio's pitch profile fits the key's


def _pitch_class_matrix(frequencies: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """(12, bins) weights: each bin in range goes to its nearest pitch class, weighted by how
    close it lies to the semitone (1 on it, 0 a quarter-tone away)."""
    matrix = np.zeros((12, frequencies.size))
    inside = (frequencies >= low_hz) & (frequencies <= high_hz)
    pitch = 69.0 + 12.0 * np.log2(frequencies[inside] / 440.0)
    nearest = np.round(pitch)
    weight = np.clip(1.0 - 2.0 * np.abs(pitch - nearest), 0.0, 1.0)
    matrix[nearest.astype(int) % 12, np.flatnonzero(inside)] = weight
    return matrix


def _pearson(profile: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Correlation of ``chroma`` with the profile rotated to each of the 12 tonics."""
    rotations = np.stack([np.roll(profile, tonic) for tonic in range(12)])
    rotations = rotations - rotations.mean(axis=1, keepdims=True)
    centred = chroma - chroma.mean()
    denominator = np.linalg.norm(rotations, axis=1) * np.linalg.norm(centred)
    if denominator.max() == 0.0:
        return np.zeros(12)
    return (rotations @ centred) / np.where(denominator == 0.0, 1.0, denominator)


def _final_chord_frames(frames: np.ndarray, energy: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Frames of the last chord: back from the last frame at a musical level (a fade, reverb
    tail or crackle bed under ``ENDING_LEVEL`` of the typical frame is not the chord) for as
    long as the pitch classes stay the same, at most ``ENDING_S``."""
    if energy.size == 0:
        return np.zeros(0, dtype=np.int64)
    loud = np.flatnonzero(energy >= np.median(energy) * ENDING_LEVEL)
    last = int(loud[-1]) if loud.size else energy.size - 1
    longest = max(1, round(ENDING_S * sample_rate_hz / HOP))
    unit = frames / np.maximum(np.linalg.norm(frames, axis=0), 1e-12)
    first = last
    while first > 0 and last - first + 1 < longest and unit[:, first - 1] @ unit[:, last] > 0.85:
        first -= 1
    return np.arange(first, last + 1)


def _spectrogram_projections(
    mono: np.ndarray, sample_rate_hz: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pitch-class (12, frames) and bass pitch-class (12, frames) magnitudes of a Hann-windowed
    STFT (centred frames), with each frame's total magnitude; a few frames at a time."""
    frequencies = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate_hz)
    to_chroma = _pitch_class_matrix(frequencies, *CHROMA_RANGE_HZ).astype(np.float32)
    to_bass = _pitch_class_matrix(frequencies, *BASS_RANGE_HZ).astype(np.float32)
    padded = np.pad(mono.astype(np.float32, copy=False), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = np.hanning(N_FFT).astype(np.float32)
    chroma, bass, energy = [], [], []
    for first in range(0, frames.shape[0], 128):
        spectrum = np.abs(np.fft.rfft(frames[first : first + 128] * window, axis=1)).T
        spectrum = spectrum.astype(np.float32)
        chroma.append(to_chroma @ spectrum)
        bass.append(to_bass @ spectrum)
        energy.append(spectrum.sum(axis=0))
    return np.concatenate(chroma, axis=1), np.concatenate(bass, axis=1), np.concatenate(energy)


def chroma_profiles(mono: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, ...]:
    """Whole-track, bass and final-chord pitch-class profiles (each (12,), summing to 1 or 0)."""
    chroma, bass, energy = _spectrogram_projections(mono, sample_rate_hz)
    frames = np.sqrt(chroma)
    ending = _final_chord_frames(frames, energy, sample_rate_hz)
    profiles = (frames.sum(axis=1), np.sqrt(bass).sum(axis=1), frames[:, ending].sum(axis=1))
    return tuple((p / p.sum() if p.sum() > 0 else p).astype(np.float64) for p in profiles)


def estimate_key(mono: np.ndarray, sample_rate_hz: int) -> KeyEstimate:
    """The most likely major or minor key of a mono signal."""
    if mono.size < N_FFT or not np.any(mono):
        return KeyEstimate(Key(0, Mode.MAJOR), 0.0)
    whole, bass, ending = chroma_profiles(mono, sample_rate_hz)
    triad_fits = {
        Mode.MAJOR: _pearson(MAJOR_TRIAD, ending),
        Mode.MINOR: _pearson(MINOR_TRIAD, ending),
    }
    # an ending that is noise or a fade (no clear chord) earns little say
    clarity = float(np.clip(max(f.max() for f in triad_fits.values()), 0.0, 1.0))
    scores = {}
    for mode, profile in ((Mode.MAJOR, MAJOR_PROFILE), (Mode.MINOR, MINOR_PROFILE)):
        fit = _pearson(profile, whole)
        combined = (
            fit + BASS_WEIGHT * _pearson(profile, bass) + ENDING_WEIGHT * clarity * triad_fits[mode]
        )
        for tonic in range(12):
            scores[Key(tonic, mode)] = (float(combined[tonic]), float(fit[tonic]))
    best = max(scores, key=lambda k: (scores[k][0], -k.tonic_pc, k.mode is Mode.MAJOR))
    return KeyEstimate(best, float(np.clip(scores[best][1], 0.0, 1.0)))


def keys_match(a: Key, b: Key, relative_ok: bool = False) -> bool:
    """Same tonic and the same quality of tonic triad (an analyser hears major or minor, so
    D dorian matches D minor); with ``relative_ok`` a relative major/minor matches too."""
    if a.tonic_pc == b.tonic_pc and a.mode.is_minor == b.mode.is_minor:
        return True
    if not relative_ok or a.mode.is_minor == b.mode.is_minor:
        return False
    minor, major = (a, b) if a.mode.is_minor else (b, a)
    return (minor.tonic_pc + 3) % 12 == major.tonic_pc
