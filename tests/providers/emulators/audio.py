"""Audio the emulators return: short tones, encoded like the real services encode them."""

from __future__ import annotations

import io

import numpy as np
import soundfile

from songforge.render.codec import encode
from songforge.request import AudioFormat


def tone(
    seconds: float, sample_rate_hz: int, *, channels: int = 2, hz: float = 440.0
) -> np.ndarray:
    """A quiet sine, float32 (channels, n)."""
    t = np.arange(round(seconds * sample_rate_hz)) / sample_rate_hz
    mono = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.repeat(mono[np.newaxis, :], channels, axis=0)


def encoded(audio: np.ndarray, sample_rate_hz: int, fmt: str) -> bytes:
    return encode(audio, sample_rate_hz, AudioFormat(fmt))


def tone_file(
    seconds: float, sample_rate_hz: int, fmt: str = "wav", *, channels: int = 2, hz: float = 440.0
) -> bytes:
    return encoded(tone(seconds, sample_rate_hz, channels=channels, hz=hz), sample_rate_hz, fmt)


def decode(data: bytes) -> tuple[np.ndarray, int]:
    frames, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return np.ascontiguousarray(frames.T), int(rate)


def media_type(fmt: str) -> str:
    return AudioFormat(fmt).media_type
