"""In-package fakes for the job machinery: songs in milliseconds, failures on demand.

``ToneGenerator`` makes a short deterministic stereo sine (pitch from the seed) with two stems
and a one-note MIDI file, reporting the same stage names as the engine. It encodes its own
audio, so job tests do not depend on the render package."""

from __future__ import annotations

import io
import threading
import time
import wave
from collections.abc import Callable
from typing import Any

import numpy as np

from songforge.errors import SongforgeError
from songforge.progress import Progress, ProgressCallback
from songforge.request import AudioFormat, SongRequest
from songforge.song import Song

STAGES = ("understand", "compose", "arrange", "render", "mix", "master")


def encode_audio(audio: np.ndarray, sample_rate_hz: int, fmt: AudioFormat) -> bytes:
    """float32 (channels, n) → file bytes; WAV is written by the stdlib and byte-exact."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").T
    if fmt is AudioFormat.WAV:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(pcm.shape[1])
            out.setsampwidth(2)
            out.setframerate(sample_rate_hz)
            out.writeframes(pcm.tobytes())
        return buffer.getvalue()
    if fmt is AudioFormat.MP3:
        import lameenc

        encoder = lameenc.Encoder()
        encoder.set_bit_rate(128)
        encoder.set_in_sample_rate(sample_rate_hz)
        encoder.set_channels(pcm.shape[1])
        encoder.set_quality(7)
        return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, audio.T, sample_rate_hz, format=fmt.value.upper())
    return buffer.getvalue()


def _midi_bytes(pitch: int) -> bytes:
    import mido

    track = mido.MidiTrack(
        [
            mido.Message("note_on", note=pitch, velocity=90, time=0),
            mido.Message("note_off", note=pitch, velocity=0, time=480),
        ]
    )
    buffer = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=buffer)
    return buffer.getvalue()


class ToneSong(Song):
    """A Song that encodes with :func:`encode_audio` and carries its own MIDI."""

    midi_bytes: bytes | None = None

    def encode(self, fmt: AudioFormat | None = None) -> bytes:
        return encode_audio(self.audio, self.sample_rate_hz, fmt or self.format)

    def encode_stem(self, name: str, fmt: AudioFormat | None = None) -> bytes:
        return encode_audio(self.stems[name], self.sample_rate_hz, fmt or self.format)

    def midi(self) -> bytes | None:
        return self.midi_bytes


class ToneGenerator:
    """A deterministic fake: same request and seed → byte-identical files."""

    def __init__(self, *, duration_s: float = 1.0, stage_delay_s: float = 0.0) -> None:
        self.duration_s = duration_s
        self.stage_delay_s = stage_delay_s
        self.calls = 0
        self._lock = threading.Lock()

    def generate(
        self,
        request: SongRequest,
        progress: ProgressCallback,
        *,
        key_id: str | None = None,
        job_id: str | None = None,
    ) -> Song:
        with self._lock:
            self.calls += 1
        seed = request.seed or 0
        for done, stage in enumerate(STAGES):
            progress(Progress(stage, done, len(STAGES)))
            if self.stage_delay_s:
                time.sleep(self.stage_delay_s)
        rate = request.sample_rate
        t = np.arange(int(self.duration_s * rate), dtype=np.float64) / rate
        pitch = 48 + seed % 24
        freq_hz = 440.0 * 2 ** ((pitch - 69) / 12)
        bass = (0.3 * np.sin(2 * np.pi * freq_hz / 2 * t)).astype(np.float32)
        lead = (0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
        stems = {"bass": np.stack([bass, bass]), "lead": np.stack([lead * 0.8, lead])}
        audio = (stems["bass"] + stems["lead"]).astype(np.float32)
        metadata: dict[str, Any] = {
            "engine": {"name": "tone", "version": "1"},
            "provider": "tone",
            "request": request.model_dump(mode="json"),
            "seed": seed,
            "style": {"id": request.genre or "tone", "name": "Test tone"},
            "tempo_bpm": request.bpm or 120.0,
            "key": request.key or "A minor",
            "time_signature": "4/4",
            "duration_s": round(self.duration_s, 3),
            "loudness": {"integrated_lufs": -14.0, "true_peak_dbtp": -1.0},
        }
        song = ToneSong(request, audio, rate, metadata, stems=stems)
        song.midi_bytes = _midi_bytes(pitch)
        progress(Progress("encode", len(STAGES), len(STAGES)))
        return song


class FlakyGenerator:
    """Raises ``error`` (made fresh by the factory) on the first ``failures`` calls, then
    delegates to ``inner``."""

    def __init__(
        self,
        failures: int,
        error: Callable[[], BaseException] = lambda: SongforgeError("flaky"),
        inner: ToneGenerator | None = None,
    ) -> None:
        self.failures = failures
        self.error = error
        self.inner = inner or ToneGenerator()
        self.calls = 0
        self._lock = threading.Lock()

    def generate(
        self,
        request: SongRequest,
        progress: ProgressCallback,
        *,
        key_id: str | None = None,
        job_id: str | None = None,
    ) -> Song:
        with self._lock:
            self.calls += 1
            failing = self.calls <= self.failures
        if failing:
            progress(Progress("understand", 0, 1))
            raise self.error()
        return self.inner.generate(request, progress)


class GatedGenerator:
    """Blocks inside generation until ``release`` is set (after reporting ``entered``), checking
    the progress callback every 10 ms: the way to test cancellation and leases mid-run."""

    def __init__(self, inner: ToneGenerator | None = None) -> None:
        self.inner = inner or ToneGenerator()
        self.entered = threading.Event()
        self.release = threading.Event()

    def generate(
        self,
        request: SongRequest,
        progress: ProgressCallback,
        *,
        key_id: str | None = None,
        job_id: str | None = None,
    ) -> Song:
        progress(Progress("understand", 0, 6))
        self.entered.set()
        step = 0
        while not self.release.wait(0.01):
            step += 1
            progress(Progress("render", 1, 6))
        return self.inner.generate(request, progress)
