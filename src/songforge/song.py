"""A finished song: mastered audio, processed stems, the score, and its metadata sheet."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from songforge.compose.score import Score
from songforge.errors import OutputError
from songforge.request import AudioFormat, SongRequest

if TYPE_CHECKING:
    from songforge.render.codec import StreamEncoder


@dataclass
class Song:
    """What the engine (or a provider) made. Audio is float32 shaped (2, n).

    ``stems`` maps each part name (and "returns") to float32 (2, n) audio that sums to the
    pre-master mix; the engine keeps them compressed and decodes one per access, so iterate the
    names and encode one stem at a time (:meth:`encode_stem`, :meth:`encode_stems`)."""

    request: SongRequest
    audio: np.ndarray
    sample_rate_hz: int
    metadata: dict[str, Any]
    stems: Mapping[str, np.ndarray] = field(default_factory=dict)
    score: Score | None = None
    _prefetched: dict[AudioFormat, StreamEncoder] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def prefetch(self, fmt: AudioFormat, encoder: StreamEncoder) -> None:
        """An encoding of :attr:`audio` in ``fmt`` already under way (the engine starts the
        requested format while mastering); :meth:`encode` returns it. It is cancelled if the
        song is dropped unencoded."""
        self._prefetched[AudioFormat(fmt)] = encoder
        weakref.finalize(self, encoder.cancel)

    @property
    def duration_s(self) -> float:
        return float(self.audio.shape[-1] / self.sample_rate_hz)

    @property
    def format(self) -> AudioFormat:
        return self.request.format

    def encode(self, fmt: AudioFormat | None = None) -> bytes:
        from songforge.render.codec import encode

        fmt = AudioFormat(fmt or self.format)
        encoder = self._prefetched.get(fmt)
        if encoder is not None and encoder.chans is self.audio:
            return encoder.result()
        return encode(self.audio, self.sample_rate_hz, fmt)

    def encode_stem(self, name: str, fmt: AudioFormat | None = None) -> bytes:
        from songforge.render.codec import encode
        from songforge.render.stems import FlacStems

        fmt = AudioFormat(fmt or self.format)
        if isinstance(self.stems, FlacStems):  # streamed from storage, never held whole
            return self.stems.encode(name, fmt)
        return encode(self.stems[name], self.sample_rate_hz, fmt)

    def encode_stems(
        self, fmt: AudioFormat | None = None, *, workers: int = 2
    ) -> Iterator[tuple[str, bytes]]:
        """(name, file bytes) for every stem in order, encoded on ``workers`` threads (the
        codecs release the GIL) with at most ``workers`` stems in memory beyond the one
        yielded (so the threads keep encoding while the caller writes it out)."""
        names = list(self.stems)
        workers = max(1, workers)
        with ThreadPoolExecutor(workers, "songforge-encode") as pool:
            pending: deque[tuple[str, Future[bytes]]] = deque()
            for name in names:
                pending.append((name, pool.submit(self.encode_stem, name, fmt)))
                if len(pending) > workers:
                    done, job = pending.popleft()
                    yield done, job.result()
            while pending:
                done, job = pending.popleft()
                yield done, job.result()

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
        extra: dict[str, Any] = {"file": path.name}
        with ThreadPoolExecutor(1, "songforge-encode-song") as song_encoder:
            # the song encodes on its own thread (usually it is already encoded: the engine
            # starts it while mastering) while the stems take both cores, and this thread
            # writes each stem out as it comes (a disk wait, not CPU)
            song_job = song_encoder.submit(self.encode, fmt)
            if stems and self.stems:
                stem_dir = path.with_name(path.stem + ".stems")
                stem_dir.mkdir(exist_ok=True)
                names = {}
                for name, data in self.encode_stems(fmt, workers=2):
                    stem_path = stem_dir / f"{name}.{fmt.value}"
                    write_bytes_atomic(stem_path, data)
                    del data
                    written.append(stem_path)
                    names[name] = f"{stem_dir.name}/{stem_path.name}"
                extra["stems"] = names
            # the MIDI (pure Python, ~0.4 s for 4 minutes) is made while the song's encoder
            # finishes on the other threads, not after it
            midi_bytes = self.midi() if midi else None
            audio_bytes = song_job.result()
        write_bytes_atomic(path, audio_bytes)
        written.insert(0, path)
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
