"""The one module that reads and writes audio files.

WAV and FLAC are 16-bit PCM with TPDF dither from a fixed seed, MP3 is LAME at 320 kbps CBR
(fed the same dithered PCM), OGG is Vorbis at ~230 kbps written in 64k-frame blocks. Every
encoding is byte-identical for identical audio: the dither is seeded, and the Ogg stream serial
number libsndfile draws from the clock is replaced by a fixed one."""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

import lameenc
import numpy as np
import soundfile

from songforge.errors import AudioReadError, OutputError
from songforge.fileio import write_bytes_atomic
from songforge.request import AudioFormat

DITHER_SEED = 0x50F6  # fixed: dither noise is part of the deterministic output
PCM_MAX = 32767
MP3_BITRATE_KBPS = 320
MP3_QUALITY = 7  # LAME -q: at 320 kbps as clean as 5 by band SNR (no noise shaping), 2x faster
MP3_FRAME_SAMPLES = 1152  # per MPEG-1 layer III frame
_MP3_SPLIT_MIN_FRAMES = 800  # ~21 s at 44.1 kHz: shorter files are encoded in one piece
_MP3_PREROLL_FRAMES = 16  # the second half's warm-up before the splice (~0.4 s)
_MP3_LOOKAHEAD_FRAMES = 12  # the first half runs on this far past the splice
_MP3_SPLICE_SHIFTS = 8  # the splice may move this many frames either way to fit the reservoir
OGG_QUALITY = 0.8  # libsndfile VBR 0..1 (~Vorbis q8, ~230 kbps): lower overshoots the peak
OGG_BLOCK_FRAMES = 1 << 16  # libsndfile crashes writing long Vorbis files in one call
OGG_SERIAL = 0x536F6E67  # "Song": the Ogg logical stream serial number every file gets
_SUFFIXES = {
    ".wav": AudioFormat.WAV,
    ".wave": AudioFormat.WAV,
    ".flac": AudioFormat.FLAC,
    ".mp3": AudioFormat.MP3,
    ".ogg": AudioFormat.OGG,
    ".oga": AudioFormat.OGG,
}


def format_from_path(path: Path | str) -> AudioFormat | None:
    """The format a file name asks for by its suffix ('.wav', '.flac', '.mp3', '.ogg'), or None."""
    return _SUFFIXES.get(Path(path).suffix.lower())


_T = TypeVar("_T")
_DITHER_BLOCK = 1 << 18  # frames per draw of dither noise (fixes the noise sequence)


def to_pcm16(audio: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float (channels, n) → interleaved int16 (n, channels) with seeded TPDF dither (±1 LSB),
    written into ``out`` when given."""
    chans = _as_channels(audio)
    if out is None:
        out = np.empty((chans.shape[1], chans.shape[0]), dtype=np.int16)
    dither = _Dither(chans.shape[0], chans.shape[1])
    for start in range(0, chans.shape[1], _DITHER_BLOCK):
        block = dither.block(chans[:, start : start + _DITHER_BLOCK])
        out[start : start + block.shape[0]] = block
    return out


class BlockSource(Protocol):
    """Audio read a block at a time, in order: float32 (channels, stop - start) per call."""

    channels: int
    frames: int

    def read(self, start: int, stop: int) -> np.ndarray: ...


class _ArraySource:
    def __init__(self, chans: np.ndarray) -> None:
        self.chans = chans
        self.channels, self.frames = chans.shape

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.chans[:, start:stop]


class _Dither:
    """Seeded TPDF dither to int16, a block of ``_DITHER_BLOCK`` frames at a time in order (the
    block size fixes the noise sequence). Each block is valid until the next is made.
    ``first_block`` starts the sequence at that block (the generator jumps there: each block
    draws two float32 per sample, two per 64-bit step of PCG64), so two threads can dither the
    two ends of a song and give the same samples as one."""

    def __init__(self, channels: int, frames: int, first_block: int = 0) -> None:
        bits = np.random.PCG64(DITHER_SEED)  # what default_rng(DITHER_SEED) uses
        bits.advance(first_block * _DITHER_BLOCK * channels)
        self.rng = np.random.Generator(bits)
        shape = (min(_DITHER_BLOCK, max(frames, 1)), channels)
        self.scaled = np.empty(shape, dtype=np.float32)
        self.noise = np.empty(shape, dtype=np.float32)
        self.pcm = np.empty(shape, dtype=np.int16)

    def block(self, samples: np.ndarray) -> np.ndarray:
        """The next block: float (channels, m ≤ ``_DITHER_BLOCK``) → int16 (m, channels)."""
        size = samples.shape[1]
        block, noise = self.scaled[:size], self.noise[:size]
        np.multiply(samples.T, np.float32(PCM_MAX), out=block)
        self.rng.random(out=noise, dtype=np.float32)
        block += noise
        self.rng.random(out=noise, dtype=np.float32)
        block -= noise
        np.rint(block, out=block)
        np.clip(block, -PCM_MAX - 1, PCM_MAX, out=block)
        np.copyto(self.pcm[:size], block, casting="unsafe")
        return self.pcm[:size]


def encode(audio: np.ndarray, sample_rate_hz: int, fmt: AudioFormat) -> bytes:
    """float32 (channels, n) → file bytes in ``fmt``; WAV/FLAC are 16-bit PCM and deterministic."""
    return encode_blocks(_ArraySource(_as_channels(audio)), sample_rate_hz, fmt)


def encode_blocks(source: BlockSource, sample_rate_hz: int, fmt: AudioFormat) -> bytes:
    """:func:`encode` for audio read a block at a time (never held whole)."""
    data = _Writer.make(AudioFormat(fmt), source, sample_rate_hz).run(lambda frames: True)
    if data is None:  # pragma: no cover - nothing here stops a run
        raise OutputError("encoding stopped")
    return data


class StreamEncoder:
    """Encodes audio that is still being written: the producer fills ``audio`` (channels, n)
    from the start and calls :meth:`advance` as frames become final; a worker thread encodes
    each block as soon as it is complete. :meth:`restart` voids what was written (the producer
    will write it again); :meth:`result` gives the same bytes :func:`encode` gives for the
    finished audio."""

    def __init__(self, audio: np.ndarray, sample_rate_hz: int, fmt: AudioFormat) -> None:
        self.chans = _as_channels(audio)
        self.sample_rate_hz, self.fmt = sample_rate_hz, AudioFormat(fmt)
        self._ready = 0
        self._generation = 0  # bumped by each restart; a run of an older one stops
        self._running = -1  # the generation the worker is on
        self._cancelled = False
        self._done: tuple[int, bytes] | None = None
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="songforge-encode", daemon=True)
        self._thread.start()

    def advance(self, frames: int) -> None:
        """Frames [0, frames) are final."""
        with self._cond:
            self._ready = max(self._ready, frames)
            self._cond.notify_all()

    def restart(self) -> None:
        """Frames written so far are void; waits until the worker has left them."""
        with self._cond:
            self._generation += 1
            self._ready = 0
            self._done = None
            self._cond.notify_all()
            while self._running not in (self._generation, -2) and self._error is None:
                self._cond.wait()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def result(self) -> bytes:
        """The encoded file, once every frame is in (waits for the worker)."""
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if self._done is not None and self._done[0] == self._generation:
                    return self._done[1]
                if self._cancelled or not self._thread.is_alive():
                    raise OutputError("the encoder stopped before the audio was complete")
                self._cond.wait()

    def _work(self) -> None:
        try:
            while True:
                with self._cond:
                    if self._cancelled:
                        return
                    generation = self._generation
                    self._running = generation
                    self._cond.notify_all()
                writer = _Writer.make(self.fmt, _ArraySource(self.chans), self.sample_rate_hz)
                data = writer.run(partial(self._wait_for, generation=generation))
                with self._cond:
                    if data is not None and generation == self._generation:
                        self._done = (generation, data)
                        self._cond.notify_all()
                    while generation == self._generation and not self._cancelled:
                        self._cond.wait()  # done: wait for a restart (or the end)
        except BaseException as exc:
            with self._cond:
                self._error = exc
                self._running = -2
                self._cond.notify_all()

    def _wait_for(self, frames: int, *, generation: int) -> bool:
        """Block until frames [0, frames) are final; False if this run is void."""
        with self._cond:
            while self._ready < frames and generation == self._generation:
                if self._cancelled:
                    return False
                self._cond.wait()
            return generation == self._generation and not self._cancelled


class _Writer:
    """One format's encoder, fed a block of frames at a time in order."""

    block = _DITHER_BLOCK

    def __init__(self, source: BlockSource, sample_rate_hz: int) -> None:
        self.source, self.sample_rate_hz = source, sample_rate_hz
        self.channels, self.frames = source.channels, source.frames

    @staticmethod
    def make(fmt: AudioFormat, source: BlockSource, sample_rate_hz: int) -> _Writer:
        kinds: dict[AudioFormat, type[_Writer]] = {
            AudioFormat.WAV: _WavWriter,
            AudioFormat.FLAC: _FlacWriter,
            AudioFormat.MP3: _Mp3Writer,
            AudioFormat.OGG: _OggWriter,
        }
        return kinds[fmt](source, sample_rate_hz)

    def run(self, ready: Callable[[int], bool]) -> bytes | None:
        """Encode every block once ``ready(end of block)`` allows; None if it says stop."""
        try:
            for start in range(0, self.frames, self.block):
                stop = min(start + self.block, self.frames)
                if not ready(stop):
                    return None
                self.write(start, self.source.read(start, stop))
            return self.finish()
        finally:
            self.close()

    def write(self, start: int, samples: np.ndarray) -> None:
        raise NotImplementedError

    def finish(self) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (also after a stop or an error)."""


class _PcmWriter(_Writer):
    def __init__(self, source: BlockSource, sample_rate_hz: int) -> None:
        super().__init__(source, sample_rate_hz)
        self.dither = _Dither(self.channels, self.frames)

    def write(self, start: int, samples: np.ndarray) -> None:
        self.pcm(start, self.dither.block(samples))

    def pcm(self, start: int, block: np.ndarray) -> None:
        raise NotImplementedError


class _WavWriter(_PcmWriter):
    """A canonical 44-byte-header PCM WAV, the dithered blocks appended in order. A BytesIO
    hands over its buffer without a copy when the file is complete, so a song-length WAV
    needs its own size in memory, not twice that."""

    def __init__(self, source: BlockSource, sample_rate_hz: int) -> None:
        super().__init__(source, sample_rate_hz)
        data_bytes = self.frames * self.channels * 2
        self.buffer = io.BytesIO()
        self.buffer.write(_wav_header(self.channels, sample_rate_hz, data_bytes))

    def pcm(self, start: int, block: np.ndarray) -> None:
        self.buffer.write(np.ascontiguousarray(block, dtype="<i2").data)

    def finish(self) -> bytes:
        data = self.buffer.getvalue()
        self.buffer = io.BytesIO()
        return data


class _FlacWriter(_PcmWriter):
    def __init__(self, source: BlockSource, sample_rate_hz: int) -> None:
        super().__init__(source, sample_rate_hz)
        self.buffer = io.BytesIO()
        self.file = soundfile.SoundFile(
            self.buffer,
            "w",
            samplerate=sample_rate_hz,
            channels=self.channels,
            format="FLAC",
            subtype="PCM_16",
        )

    def pcm(self, start: int, block: np.ndarray) -> None:
        self.file.write(block)

    def finish(self) -> bytes:
        self.file.close()
        return self.buffer.getvalue()

    def close(self) -> None:
        self.file.close()


class _LameLane:
    """One LAME encoder on its own thread (LAME releases the GIL), fed the PCM of samples
    [first, stop) in order; its queue is not bounded, so the feeder never waits for it."""

    def __init__(self, sample_rate_hz: int, channels: int, first: int, stop: int) -> None:
        self.first, self.stop, self.channels = first, stop, channels
        self.encoder = lameenc.Encoder()
        self.encoder.set_bit_rate(MP3_BITRATE_KBPS)
        self.encoder.set_in_sample_rate(sample_rate_hz)
        self.encoder.set_channels(channels)
        self.encoder.set_quality(MP3_QUALITY)
        self.thread = ThreadPoolExecutor(1, "songforge-lame")
        self.jobs: list[Future[bytes]] = []

    def feed(self, start: int, pcm: bytes) -> None:
        """``pcm``: interleaved int16 of the samples from ``start`` on (the part in range is
        encoded)."""
        frame_bytes = 2 * self.channels
        a = max(start, self.first)
        b = min(start + len(pcm) // frame_bytes, self.stop)
        if a < b:
            piece = pcm[(a - start) * frame_bytes : (b - start) * frame_bytes]
            self.jobs.append(self.thread.submit(self.encoder.encode, piece))

    def finish(self, then: Callable[[bytes], _T]) -> Future[_T]:
        """``then(the encoded bytes)``, run on this lane's thread once everything is in."""
        jobs, self.jobs = self.jobs, []

        def complete() -> _T:  # the jobs before it on this thread are done
            return then(b"".join(job.result() for job in jobs) + self.encoder.flush())

        return self.thread.submit(complete)

    def close(self) -> None:
        for job in self.jobs:
            job.cancel()
        self.thread.shutdown(wait=True)


class _Mp3Writer(_PcmWriter):
    """LAME, a block behind the dithering. A song of more than ``_MP3_SPLIT_MIN_FRAMES`` frames
    is encoded as two halves at once, one per core (LAME alone took ~1.7 s of a 4-minute song,
    most of it after mastering had ended): the second half starts ``_MP3_PREROLL_FRAMES``
    frames early so its filter bank, MDCT and psychoacoustic state match the first's at the
    splice, the first runs ``_MP3_LOOKAHEAD_FRAMES`` frames on so its block-type decisions see
    what follows, and the frames are joined at a fixed frame with the bit reservoir repacked
    (:func:`join_mp3`). The split depends only on the length, so the bytes are the same every
    run; where the halves cannot be joined the song is read and encoded again in one piece.
    Only audio held in memory is split (it can be read again): stems streamed from storage are
    encoded several at once instead."""

    def __init__(self, source: BlockSource, sample_rate_hz: int, *, split: bool = True) -> None:
        super().__init__(source, sample_rate_hz)
        frames = self.frames // MP3_FRAME_SAMPLES
        self.splice = 0
        spans = [(0, self.frames)]
        splittable = split and isinstance(source, _ArraySource)
        if (
            splittable
            and frames >= _MP3_SPLIT_MIN_FRAMES
            and sample_rate_hz in _MPEG1_RATES.values()
        ):
            self.splice = frames // 2
            lookahead = (self.splice + _MP3_LOOKAHEAD_FRAMES) * MP3_FRAME_SAMPLES
            preroll = (self.splice - _MP3_PREROLL_FRAMES) * MP3_FRAME_SAMPLES
            spans = [(0, lookahead), (preroll, self.frames)]
        self.lanes = [_LameLane(sample_rate_hz, self.channels, a, b) for a, b in spans]

    def pcm(self, start: int, block: np.ndarray) -> None:
        data = block.tobytes()
        for lane in self.lanes:
            lane.feed(start, data)

    def run(self, ready: Callable[[int], bool]) -> bytes | None:
        """Split: each half is read and dithered on a thread of its own (the dither jumps to
        the second half's first block), so the second lane starts as soon as its audio is
        final instead of after the first half has been dithered."""
        if len(self.lanes) == 1:
            return super().run(ready)
        try:
            head, tail = self.lanes
            first = tail.first // self.block
            with ThreadPoolExecutor(1, "songforge-mp3-feed") as feeder:
                tail_fed = feeder.submit(
                    self._feed, ready, tail, _Dither(self.channels, self.frames, first)
                )
                head_fed = self._feed(ready, head, self.dither)
                if not (tail_fed.result() and head_fed):
                    return None
            return self.finish()
        finally:
            self.close()

    def _feed(self, ready: Callable[[int], bool], lane: _LameLane, dither: _Dither) -> bool:
        """Dither the blocks that hold ``lane``'s samples into it; False if ``ready`` says
        stop."""
        for start in range(lane.first // self.block * self.block, lane.stop, self.block):
            stop = min(start + self.block, self.frames)
            if not ready(stop):
                return False
            lane.feed(start, dither.block(self.source.read(start, stop)).tobytes())
        return True

    def finish(self) -> bytes:
        if len(self.lanes) == 1:
            return self.lanes[0].finish(bytes).result()
        # each half is parsed on its own thread: the first while the second still encodes
        halves = [lane.finish(_mp3_frames) for lane in self.lanes]
        first, second = halves[0].result(), halves[1].result()
        if first is not None and second is not None:
            for shift in _splice_shifts():
                frame, skip = self.splice + shift, _MP3_PREROLL_FRAMES + shift
                joined = _join_frames(first, second, frame, skip)
                if joined is not None:
                    return joined
        whole = _Mp3Writer(self.source, self.sample_rate_hz, split=False).run(lambda _: True)
        if whole is None:  # pragma: no cover - nothing stops this run
            raise OutputError("encoding stopped")
        return whole

    def close(self) -> None:
        for lane in self.lanes:
            lane.close()


def _splice_shifts() -> list[int]:
    """Splice frames to try, nearest the middle first. A splice fails where the second
    encoding's frames lean on more bit reservoir than the first leaves free there; a few
    frames on, one fits. The first that fits is used, so the bytes still depend only on the
    audio. Every shift keeps at least 8 frames of warm-up for the second half and 4 of lookahead
    for the first. (Measured on a 4-minute rock song: 6 of 48 splice points around the middle
    failed, five of them in one run, the middle one among them.)"""
    shifts = [0]
    for distance in range(1, _MP3_SPLICE_SHIFTS + 1):
        shifts += [distance, -distance]
    return shifts


_MPEG1_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG1_RATES = {0: 44100, 1: 48000, 2: 32000}
_MAX_MAIN_DATA_BEGIN = 511  # bytes: a 9-bit field


@dataclass(frozen=True)
class _Mp3Frame:
    head: bytes  # the 4-byte header
    side: bytes  # side information (main_data_begin in its first 9 bits)
    payload: int  # bytes of the frame after the side information
    main: bytes  # this frame's own main data (Huffman bits), wherever it was stored


def _mp3_frames(data: bytes) -> list[_Mp3Frame] | None:
    """The frames of an MPEG-1 layer III stream without CRCs (what LAME writes here), each with
    its main data taken out of the bit reservoir; None for anything else."""
    metas: list[tuple[bytes, bytes, int, int]] = []
    stream = bytearray()  # every frame's payload in order: the reservoir's address space
    position = 0
    while position < len(data):
        if position + 4 > len(data):
            return None
        header = int.from_bytes(data[position : position + 4], "big")
        if header >> 21 != 0x7FF or (header >> 19) & 3 != 3 or (header >> 17) & 3 != 1:
            return None  # not MPEG-1 layer III
        if not (header >> 16) & 1:
            return None  # CRC-protected: the side information cannot be changed
        bitrate = _MPEG1_BITRATES_KBPS[(header >> 12) & 15] if (header >> 12) & 15 < 15 else 0
        rate = _MPEG1_RATES.get((header >> 10) & 3)
        if not bitrate or rate is None:
            return None
        size = 144000 * bitrate // rate + ((header >> 9) & 1)
        channels = 1 if (header >> 6) & 3 == 3 else 2
        side_bytes = 17 if channels == 1 else 32
        if position + size > len(data):
            return None
        side = data[position + 4 : position + 4 + side_bytes]
        payload_bytes = data[position + 4 + side_bytes : position + size]
        metas.append((data[position : position + 4], side, len(stream), len(payload_bytes)))
        stream += payload_bytes
        position += size
    frames = []
    for head, side, start, payload in metas:
        channels = 2 if len(side) == 32 else 1
        bits = int.from_bytes(side, "big")
        total = len(side) * 8
        first = 9 + (3 if channels == 2 else 5) + 4 * channels  # after the scfsi bits
        length = 0
        for slot in range(2 * channels):  # granules × channels, 59 bits each
            offset = first + 59 * slot
            length += (bits >> (total - offset - 12)) & 0xFFF  # part2_3_length
        begin = start - (bits >> (total - 9))
        stop = begin + -(-length // 8)
        if begin < 0 or stop > start + payload:
            return None
        frames.append(_Mp3Frame(head, side, payload, bytes(stream[begin:stop])))
    return frames


def join_mp3(first: bytes, second: bytes, frame: int, skip: int) -> bytes | None:
    """Frames [0, frame) of ``first`` then frames [skip, ...) of ``second`` as one stream (the
    second encoding started ``frame - skip`` frames into the audio), every frame's main data
    laid into the bit reservoir again as early as it may go (so each frame decodes exactly as
    its encoder made it); None when the streams are not plain MPEG-1 layer III or a frame
    does not fit."""
    head, tail = _mp3_frames(first), _mp3_frames(second)
    if head is None or tail is None:
        return None
    return _join_frames(head, tail, frame, skip)


def _join_frames(
    head: list[_Mp3Frame], tail: list[_Mp3Frame], frame: int, skip: int
) -> bytes | None:
    if len(head) < frame or len(tail) <= skip:
        return None
    frames = head[:frame] + tail[skip:]
    reservoir = bytearray(sum(f.payload for f in frames))
    sides: list[bytes] = []
    position = end = 0  # where this frame's payload starts; where the last main data ended
    for f in frames:
        begin = max(end, position - _MAX_MAIN_DATA_BEGIN)
        end = begin + len(f.main)
        if end > position + f.payload:
            return None
        reservoir[begin:end] = f.main
        bits = len(f.side) * 8
        value = int.from_bytes(f.side, "big") & ((1 << (bits - 9)) - 1)
        sides.append(((position - begin) << (bits - 9) | value).to_bytes(len(f.side), "big"))
        position += f.payload
    pieces: list[bytes | memoryview] = []
    view = memoryview(reservoir)
    position = 0
    for f, side in zip(frames, sides, strict=True):
        pieces += (f.head, side, view[position : position + f.payload])
        position += f.payload
    return b"".join(pieces)


class _OggWriter(_Writer):
    """Vorbis from the float samples, in the blocks libsndfile needs."""

    block = OGG_BLOCK_FRAMES

    def __init__(self, source: BlockSource, sample_rate_hz: int) -> None:
        super().__init__(source, sample_rate_hz)
        self.buffer = io.BytesIO()
        self.file = soundfile.SoundFile(
            self.buffer,
            "w",
            samplerate=sample_rate_hz,
            channels=self.channels,
            format="OGG",
            subtype="VORBIS",
            compression_level=1.0 - OGG_QUALITY,
        )

    def write(self, start: int, samples: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(samples.T))

    def finish(self) -> bytes:
        self.file.close()
        return set_ogg_serial(self.buffer.getvalue(), OGG_SERIAL)

    def close(self) -> None:
        self.file.close()


def write_audio(path: Path, audio: np.ndarray, sample_rate_hz: int, fmt: AudioFormat) -> None:
    """Encode and write atomically (:func:`songforge.fileio.write_bytes_atomic`)."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    write_bytes_atomic(path, encode(audio, sample_rate_hz, fmt))


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Any supported file (WAV, FLAC, MP3, OGG) → float32 (channels, n) and its sample rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"cannot read {path}: no such file")
    try:
        data, sample_rate_hz = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioReadError(f"cannot read {path}: not a supported audio file ({exc})") from exc
    return np.ascontiguousarray(data.T), int(sample_rate_hz)


def _as_channels(audio: np.ndarray) -> np.ndarray:
    chans = np.asarray(audio, dtype=np.float32)
    if chans.ndim == 1:
        chans = chans[np.newaxis, :]
    if chans.ndim != 2 or chans.shape[0] not in (1, 2):
        raise ValueError(f"audio must be (1|2, n), not shape {np.shape(audio)}")
    return chans


def _wav_header(channels: int, sample_rate_hz: int, data_bytes: int) -> bytes:
    """The header the standard library's ``wave`` module writes for 16-bit PCM."""
    block_align = channels * 2
    return b"".join(
        [
            b"RIFF",
            (36 + data_bytes).to_bytes(4, "little"),
            b"WAVEfmt ",
            (16).to_bytes(4, "little"),
            (1).to_bytes(2, "little"),
            channels.to_bytes(2, "little"),
            sample_rate_hz.to_bytes(4, "little"),
            (sample_rate_hz * block_align).to_bytes(4, "little"),
            block_align.to_bytes(2, "little"),
            (16).to_bytes(2, "little"),
            b"data",
            data_bytes.to_bytes(4, "little"),
        ]
    )


_BIT_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def ogg_crc(page: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, unreflected, no inversions), via
    zlib's reflected CRC on bit-reversed bytes so it runs at C speed."""
    reflected = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def set_ogg_serial(data: bytes, serial: int) -> bytes:
    """Rewrite every Ogg page's stream serial number (and so its checksum)."""
    pages = bytearray(data)
    position = 0
    while position + 27 <= len(pages):
        if pages[position : position + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {position}")
        segments = pages[position + 26]
        header = 27 + segments
        length = header + sum(pages[position + 27 : position + header])
        pages[position + 14 : position + 18] = serial.to_bytes(4, "little")
        pages[position + 22 : position + 26] = b"\0\0\0\0"
        crc = ogg_crc(bytes(pages[position : position + length]))
        pages[position + 22 : position + 26] = crc.to_bytes(4, "little")
        position += length
    return bytes(pages)
