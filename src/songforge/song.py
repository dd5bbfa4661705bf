"""A finished song: mastered audio, processed stems, the score, and its metadata sheet."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songforge.compose.score import Score
from songforge.errors import OutputError
from songforge.request import AudioFormat, SongRequest


@dataclass
class Song:
    """What the engine (or a provider) made. Audio is float32 shaped (2, n)."""

    request: SongRequest
    audio: np.ndarray
    sample_rate_hz: int
    metadata: dict[str, Any]
    stems: dict[str, np.ndarray] = field(default_factory=dict)
    score: Score | None = None

    @property
    def duration_s(self) -> float:
        return float(self.audio.shape[-1] / self.sample_rate_hz)

    @property
    def format(self) -> AudioFormat:
        return self.request.format

    def encode(self, fmt: AudioFormat | None = None) -> bytes:
        from songforge.render.codec import encode

        return encode(self.audio, self.sample_rate_hz, fmt or self.format)

    def encode_stem(self, name: str, fmt: AudioFormat | None = None) -> bytes:
        from songforge.render.codec import encode

        return encode(self.stems[name], self.sample_rate_hz, fmt or self.format)

    def midi(self) -> bytes | None:
        if self.score is None:
            return None
        from songforge.render.midi import score_to_midi

        return score_to_midi(self.score)

    def metadata_for(self, audio_bytes: bytes, fmt: AudioFormat, **files: Any) -> dict[str, Any]:
        """The metadata sheet completed with the encoded file's format and sha256."""
        sheet = dict(self.metadata)
        sheet["audio"] = {
            "format": fmt.value,
            "sha256": hashlib.sha256(audio_bytes).hexdigest(),
            "bytes": len(audio_bytes),
            "sample_rate_hz": self.sample_rate_hz,
            "channels": int(self.audio.shape[0]),
            **files,
        }
        return sheet

    def write(
        self,
        path: Path,
        *,
        fmt: AudioFormat | None = None,
        stems: bool = False,
        midi: bool = False,
    ) -> list[Path]:
        """Write the song (and optionally stems and MIDI) beside its metadata JSON.

        ``anthem.mp3`` → ``anthem.json``, ``anthem.mid``, ``anthem.stems/<part>.mp3``."""
        from songforge.fileio import write_bytes_atomic
        from songforge.render.codec import format_from_path

        fmt = fmt or format_from_path(path) or self.format
        parent = path.parent
        if not parent.exists():
            try:
                parent.mkdir(parents=True)
            except OSError as exc:
                raise OutputError(f"cannot create directory {parent}: {exc.strerror}") from exc
        written: list[Path] = []
        audio_bytes = self.encode(fmt)
        write_bytes_atomic(path, audio_bytes)
        written.append(path)
        extra: dict[str, Any] = {"file": path.name}
        if stems and self.stems:
            stem_dir = path.with_name(path.stem + ".stems")
            stem_dir.mkdir(exist_ok=True)
            names = {}
            for name in self.stems:
                stem_path = stem_dir / f"{name}.{fmt.value}"
                write_bytes_atomic(stem_path, self.encode_stem(name, fmt))
                written.append(stem_path)
                names[name] = f"{stem_dir.name}/{stem_path.name}"
            extra["stems"] = names
        if midi:
            midi_bytes = self.midi()
            if midi_bytes is not None:
                midi_path = path.with_suffix(".mid")
                write_bytes_atomic(midi_path, midi_bytes)
                written.append(midi_path)
                extra["midi"] = midi_path.name
        sheet = self.metadata_for(audio_bytes, fmt, **extra)
        meta_path = path.with_suffix(".json")
        write_bytes_atomic(meta_path, json.dumps(sheet, indent=2).encode("utf-8"))
        written.append(meta_path)
        return written
