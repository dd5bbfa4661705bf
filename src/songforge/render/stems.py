"""Stems kept small: each stem is encoded to 16-bit FLAC in memory while the mixer makes it, a
block at a time on a helper thread, and decoded only when asked for.

What is stored is the part as processed, before it is faded and panned (so a part from a mono
source takes one channel), rounded to 16 bits at its own level (its peak bound near full scale),
so it keeps more resolution than the delivered file whatever the final mix scale, which is only
known once every part is mixed. Reading a stem places the part as the mixer did and applies
that scale; encoding it dithers once, as for any audio. The stems therefore sum to the
pre-master mix to within 16-bit quantisation (half a step of the stored grid, a fraction of the
delivered file's least significant bit), and a 5-minute stem takes a few to ~40 MB instead of
106 MB of float32."""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import soundfile

from songforge.errors import RenderError
from songforge.render.codec import PCM_MAX, encode_blocks
from songforge.render.effects import haas_delay_samples
from songforge.render.mix import Placement
from songforge.request import AudioFormat

STORE_PEAK = 0.9  # a stem's peak bound is stored at this level (dither stays inside full scale)
# libsndfile's FLAC effort 0..1: 0.3 stores stereo stems ~30 % smaller than 0 (it adds mid-side
# coding) for the same encoding time, measured on a 5-minute SoundFont song (220 → ~150 MB)
STORE_COMPRESSION = 0.3
_QUEUED_BLOCKS = 16  # blocks waiting for the encoder, at most (bounds the memory it may hold)
_DECODE_BLOCK = 1 << 16


class FlacStems(Mapping[str, np.ndarray]):
    """A :class:`~songforge.render.mix.StemSink` that keeps stems as FLAC, and a mapping of
    stem name → float32 (2, n) stem at the mix's scale (decoded and placed on each access)."""

    def __init__(self, sample_rate_hz: int) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.scale = 1.0
        self._stored: dict[str, tuple[io.BytesIO, float, Placement | None]] = {}
        self._encoder = ThreadPoolExecutor(1, "songforge-stems")
        self._room = threading.Semaphore(_QUEUED_BLOCKS)
        self._pending: deque[Future[None]] = deque()
        self._closed = False

    # --- the sink side -------------------------------------------------------------------------
    def open(
        self, name: str, channels: int, peak_bound: float, placement: Placement | None
    ) -> _FlacWriter:
        if self._closed:
            raise RenderError("these stems are already complete")
        if name in self._stored:
            raise RenderError(f"stem {name!r} written twice")
        gain = STORE_PEAK / peak_bound if peak_bound > 0.0 else 1.0
        buffer = io.BytesIO()
        self._stored[name] = (buffer, gain, placement)
        return _FlacWriter(self, buffer, gain, channels)

    def finish(self, scale: float) -> FlacStems:
        """Every stem is in: wait for the encoder, and read stems at ``scale`` from now on."""
        self._wait()
        self._encoder.shutdown(wait=True)
        self._closed = True
        self.scale = float(scale)
        return self

    def abort(self) -> None:
        """Stop encoding (the song failed or was cancelled)."""
        self._closed = True
        for job in self._pending:
            job.cancel()
        self._encoder.shutdown(wait=True, cancel_futures=True)

    def _submit(self, task: Callable[..., None], *args: object) -> None:
        """Run ``task`` on the encoder after everything submitted before it; errors surface
        here on a later call, or in :meth:`finish`."""
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()
        self._pending.append(self._encoder.submit(task, *args))

    def _wait(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    # --- the mapping side ----------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        reader = self.reader(name)
        audio = np.empty((reader.channels, reader.frames), dtype=np.float32)
        for start in range(0, reader.frames, _DECODE_BLOCK):
            stop = min(start + _DECODE_BLOCK, reader.frames)
            audio[:, start:stop] = reader.read(start, stop)
        return audio

    def reader(self, name: str) -> StemReader:
        """Stem ``name`` decoded a block at a time (a :class:`~songforge.render.codec.BlockSource`),
        so it can be encoded without ever being held whole."""
        buffer, gain, placement = self._stored[name]
        if not self._closed:
            raise RenderError("stems are read once the mix is complete")
        return StemReader(buffer.getvalue(), gain, placement, self.scale)

    def encode(self, name: str, fmt: AudioFormat) -> bytes:
        """Stem ``name`` as a ``fmt`` file, streamed from storage (the same bytes as encoding
        ``self[name]``)."""
        return encode_blocks(self.reader(name), self.sample_rate_hz, fmt)

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)

    def stored_bytes(self) -> int:
        """The memory the encoded stems take."""
        return sum(buffer.getbuffer().nbytes for buffer, _, _ in self._stored.values())


class StemReader:
    """Decodes one stored stem in order, a block at a time, and places it."""

    def __init__(self, flac: bytes, gain: float, placement: Placement | None, scale: float) -> None:
        self.file = soundfile.SoundFile(io.BytesIO(flac)) if flac else None
        self.frames = self.file.frames if self.file is not None else 0
        stored = self.file.channels if self.file is not None else 2
        self.channels = 2 if placement is not None else stored
        self.factor = np.float32(1.0 / (gain * PCM_MAX) * (scale if placement is None else 1.0))
        self.placement = None
        self.delay = 0
        if placement is not None:
            self.placement = replace(placement, gain=placement.gain * scale)
            self.delay = haas_delay_samples(placement.sample_rate_hz)
        self.tail = np.zeros((1, 0), dtype=np.float32)  # the last samples read (side signal)
        self.position = 0

    def read(self, start: int, stop: int) -> np.ndarray:
        if start != self.position or self.file is None:
            raise RenderError("stems are read in order")
        pcm = self.file.read(stop - start, dtype="int16", always_2d=True)
        self.position = stop
        source = np.multiply(pcm.T, self.factor, dtype=np.float32)
        if self.placement is None:
            return source
        context = np.concatenate([self.tail, source], axis=1) if self.tail.size else source
        self.tail = context[:, -self.delay :].copy()
        offset = context.shape[1] - source.shape[1]
        out = np.empty((2, source.shape[1]), dtype=np.float32)
        return self.placement.stereo(context, offset, out)


class _FlacWriter:
    """One stem's encoder: blocks are copied, rounded to 16 bits and encoded in order on the
    helper."""

    def __init__(self, stems: FlacStems, buffer: io.BytesIO, gain: float, channels: int) -> None:
        self.stems, self.buffer, self.gain = stems, buffer, np.float32(gain * PCM_MAX)
        self.channels = channels
        self.file: soundfile.SoundFile | None = None

    def write(self, block: np.ndarray) -> None:
        copy = np.array(block, dtype=np.float32)
        self.stems._room.acquire()
        self.stems._submit(self._encode, copy)

    def _encode(self, block: np.ndarray) -> None:
        try:
            if self.file is None:
                self.file = soundfile.SoundFile(
                    self.buffer,
                    "w",
                    samplerate=self.stems.sample_rate_hz,
                    channels=self.channels,
                    format="FLAC",
                    subtype="PCM_16",
                    compression_level=STORE_COMPRESSION,
                )
            scaled = block.T * self.gain
            np.rint(scaled, out=scaled)
            np.clip(scaled, -PCM_MAX - 1, PCM_MAX, out=scaled)
            self.file.write(scaled.astype(np.int16))
        finally:
            self.stems._room.release()

    def close(self) -> None:
        self.stems._submit(self._close)

    def _close(self) -> None:
        if self.file is not None:
            self.file.close()
