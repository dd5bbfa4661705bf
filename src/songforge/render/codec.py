"""CONTRACT (mix helper fills in): the one module that reads and writes audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from songforge.request import AudioFormat


def encode(audio: np.ndarray, sample_rate_hz: int, fmt: AudioFormat) -> bytes:
    """float32 (2, n) → file bytes in ``fmt``; WAV/FLAC are 16-bit PCM and deterministic."""
    raise NotImplementedError


def write_audio(path: Path, audio: np.ndarray, sample_rate_hz: int, fmt: AudioFormat) -> None:
    """Encode and write atomically (temp file + rename)."""
    raise NotImplementedError


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Any supported file → float32 (channels, n) and its sample rate."""
    raise NotImplementedError
