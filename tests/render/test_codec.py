"""Reading and writing audio files: formats, determinism, dither, atomic writes, errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from songforge import fileio
from songforge.errors import OutputError, SongforgeError
from songforge.render import codec
from songforge.render.codec import (
    AudioReadError,
    encode,
    format_from_path,
    read_audio,
    write_audio,
)
from songforge.request import AudioFormat

RATE = 44100


def music(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    left = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.4 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([left, right]).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("song.wav", AudioFormat.WAV),
        ("SONG.WAV", AudioFormat.WAV),
        ("a/b/song.flac", AudioFormat.FLAC),
        ("song.mp3", AudioFormat.MP3),
        ("song.ogg", AudioFormat.OGG),
        ("song.oga", AudioFormat.OGG),
        ("song.aiff", None),
        ("song", None),
    ],
)
def test_format_from_path(name: str, expected: AudioFormat | None) -> None:
    assert format_from_path(Path(name)) == expected


@pytest.mark.parametrize("fmt", list(AudioFormat))
def test_every_format_encodes_byte_identically_every_time(fmt: AudioFormat) -> None:
    audio = music()
    assert encode(audio, RATE, fmt) == encode(audio.copy(), RATE, fmt)


@pytest.mark.parametrize("fmt", list(AudioFormat))
def test_every_format_reads_back(tmp_path: Path, fmt: AudioFormat) -> None:
    audio = music()
    path = tmp_path / f"song.{fmt.value}"
    write_audio(path, audio, RATE, fmt)
    decoded, rate = read_audio(path)
    assert rate == RATE
    assert decoded.dtype == np.float32 and decoded.shape[0] == 2
    assert decoded.shape[1] >= audio.shape[1] - 1
    if fmt in (AudioFormat.WAV, AudioFormat.FLAC):  # lossless up to 16-bit dither
        assert np.abs(decoded[:, : audio.shape[1]] - audio).max() < 2.5 / 32768
    else:  # lossy codecs add a delay: compare levels
        assert np.std(decoded) == pytest.approx(np.std(audio), rel=0.1)


def test_pcm_is_16_bit_and_interleaved() -> None:
    data = encode(music(1.0), RATE, AudioFormat.WAV)
    info = soundfile.info(io.BytesIO(data))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (RATE, 2, "PCM_16", RATE)


def test_dither_keeps_detail_quieter_than_one_bit() -> None:
    # a 997 Hz tone at a third of one 16-bit step: rounding alone would erase it
    t = np.arange(RATE * 2) / RATE
    faint = (0.33 / 32768 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)[np.newaxis]
    assert not np.rint(faint * 32767).any()
    pcm = codec.to_pcm16(faint)[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    bin_997 = round(997 * pcm.size / RATE)
    assert spectrum[bin_997] > 20 * np.median(spectrum)


def test_mono_audio_is_written_as_mono() -> None:
    data = encode(music(1.0)[:1], RATE, AudioFormat.FLAC)
    assert soundfile.info(io.BytesIO(data)).channels == 1


def test_ogg_pages_carry_the_fixed_serial_and_valid_checksums() -> None:
    data = encode(music(2.0), RATE, AudioFormat.OGG)
    position = pages = 0
    while position < len(data):
        assert data[position : position + 4] == b"OggS"
        assert int.from_bytes(data[position + 14 : position + 18], "little") == codec.OGG_SERIAL
        segments = data[position + 26]
        size = 27 + segments + sum(data[position + 27 : position + 27 + segments])
        page = bytearray(data[position : position + size])
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        assert codec.ogg_crc(bytes(page)) == stored
        position += size
        pages += 1
    assert pages > 3


def test_ogg_checksum_matches_the_reference_algorithm() -> None:
    def reference(data: bytes) -> int:
        crc = 0
        for byte in data:
            crc ^= byte << 24
            for _ in range(8):
                crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
                crc &= 0xFFFFFFFF
        return crc

    sample = bytes(range(256)) * 3 + b"OggS"
    assert codec.ogg_crc(sample) == reference(sample)


def test_a_long_ogg_is_written_in_blocks() -> None:
    audio = music(12.0)  # eight 64k-frame blocks
    decoded, _ = soundfile.read(io.BytesIO(encode(audio, RATE, AudioFormat.OGG)))
    assert abs(decoded.shape[0] - audio.shape[1]) < 2048


def test_writing_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "song.wav"
    path.write_bytes(b"old")
    write_audio(path, music(0.5), RATE, AudioFormat.WAV)
    assert soundfile.info(str(path)).frames == RATE // 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_a_missing_directory_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_audio(tmp_path / "nowhere" / "song.wav", music(0.1), RATE, AudioFormat.WAV)


def test_a_directory_in_the_way_is_an_output_error(tmp_path: Path) -> None:
    (tmp_path / "song.wav").mkdir()
    with pytest.raises(OutputError, match="directory"):
        write_audio(tmp_path / "song.wav", music(0.1), RATE, AudioFormat.WAV)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_an_output_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            write_audio(locked / "song.wav", music(0.1), RATE, AudioFormat.WAV)
    finally:
        locked.chmod(0o700)


def test_a_failed_rename_cleans_up_and_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fileio.os, "replace", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        write_audio(tmp_path / "song.wav", music(0.1), RATE, AudioFormat.WAV)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_files_are_songforge_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioReadError):
        read_audio(junk)
    with pytest.raises(SongforgeError, match="no such file"):
        read_audio(tmp_path / "missing.flac")


def test_wav_files_carry_the_standard_header() -> None:
    import wave

    audio = music(seconds=1.0)
    data = encode(audio, RATE, AudioFormat.WAV)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, RATE)
        frames = wav.readframes(wav.getnframes())
    reference = io.BytesIO()
    with wave.open(reference, "wb") as out:  # what the standard library writes
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    assert data == reference.getvalue()


@pytest.mark.parametrize("fmt", list(AudioFormat))
def test_encoding_alongside_the_producer_gives_the_same_file(fmt: AudioFormat) -> None:
    """The stream encoder follows a producer writing in uneven chunks and starting over once;
    the file is byte-identical to encoding the finished audio."""
    final = music(seconds=7.0, seed=3)
    buffer = np.zeros_like(final)
    encoder = codec.StreamEncoder(buffer, RATE, fmt)
    rng = np.random.default_rng(1)
    for attempt in range(2):
        if attempt:
            encoder.restart()
        written = 0
        while written < final.shape[1]:
            stop = min(final.shape[1], written + int(rng.integers(1000, 90_000)))
            buffer[:, written:stop] = final[:, written:stop] * (0.5 if attempt == 0 else 1.0)
            encoder.advance(stop)
            written = stop
    assert encoder.result() == encode(final, RATE, fmt)


def test_a_cancelled_stream_encoder_reports_that_it_stopped() -> None:
    encoder = codec.StreamEncoder(music(seconds=1.0), RATE, AudioFormat.WAV)
    encoder.cancel()
    with pytest.raises(OutputError, match="stopped"):
        encoder.result()


@pytest.mark.parametrize("fmt", list(AudioFormat))
def test_encoding_block_by_block_gives_the_same_file(fmt: AudioFormat) -> None:
    audio = music(seconds=6.5, seed=5)

    class Blocks:
        channels, frames = audio.shape
        position = 0

        def read(self, start: int, stop: int) -> np.ndarray:
            assert start == self.position  # read in order, once
            self.position = stop
            return audio[:, start:stop].copy()

    assert codec.encode_blocks(Blocks(), RATE, fmt) == encode(audio, RATE, fmt)


def test_pcm_can_be_dithered_into_a_given_array() -> None:
    audio = music(seconds=1.0)
    out = np.zeros((RATE, 2), np.int16)
    assert codec.to_pcm16(audio, out) is out
    np.testing.assert_array_equal(out, codec.to_pcm16(audio))


def _decoded(data: bytes) -> np.ndarray:
    samples, _ = soundfile.read(io.BytesIO(data), dtype="float64")
    return np.asarray(samples)


def test_a_long_mp3_is_encoded_as_two_halves_joined_into_one_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio = music(seconds=8.0, seed=7)
    whole = encode(audio, RATE, AudioFormat.MP3)  # shorter than the split length: one piece
    monkeypatch.setattr(codec, "_MP3_SPLIT_MIN_FRAMES", 100)
    joins: list[bytes | None] = []
    real_join = codec._join_frames

    def recording_join(*args: object) -> bytes | None:
        joins.append(real_join(*args))  # type: ignore[arg-type]
        return joins[-1]

    monkeypatch.setattr(codec, "_join_frames", recording_join)
    split = encode(audio, RATE, AudioFormat.MP3)
    assert joins == [split]  # joined, not encoded again in one piece
    assert encode(audio, RATE, AudioFormat.MP3) == split
    joined_frames, whole_frames = codec._mp3_frames(split), codec._mp3_frames(whole)
    assert joined_frames is not None and whole_frames is not None
    assert len(joined_frames) == len(whole_frames)
    halves, one_piece = _decoded(split), _decoded(whole)
    assert halves.shape == one_piece.shape
    difference = np.mean((halves - one_piece) ** 2) / np.mean(one_piece**2)
    assert 10 * np.log10(max(difference, 1e-30)) < -30.0  # the same audio, up to MP3 noise


def test_a_split_mp3_follows_a_producer_that_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_MP3_SPLIT_MIN_FRAMES", 100)
    final = music(seconds=7.0, seed=4)
    buffer = np.zeros_like(final)
    encoder = codec.StreamEncoder(buffer, RATE, AudioFormat.MP3)
    for attempt in range(2):
        if attempt:
            encoder.restart()
        for start in range(0, final.shape[1], 50_000):
            stop = min(final.shape[1], start + 50_000)
            buffer[:, start:stop] = final[:, start:stop] * (0.5 if attempt == 0 else 1.0)
            encoder.advance(stop)
    assert encoder.result() == encode(final, RATE, AudioFormat.MP3)


def test_mp3_halves_that_cannot_be_joined_are_encoded_again_in_one_piece(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio = music(seconds=7.0, seed=2)
    monkeypatch.setattr(codec, "_MP3_SPLIT_MIN_FRAMES", 10**9)
    one_piece = encode(audio, RATE, AudioFormat.MP3)
    monkeypatch.setattr(codec, "_MP3_SPLIT_MIN_FRAMES", 100)
    monkeypatch.setattr(codec, "_join_frames", lambda *_: None)
    assert encode(audio, RATE, AudioFormat.MP3) == one_piece


def test_only_plain_mpeg1_layer_3_streams_are_joined() -> None:
    audio = encode(music(seconds=1.0), RATE, AudioFormat.MP3)
    assert codec.join_mp3(b"not an mp3 at all", audio, 1, 0) is None
    assert codec.join_mp3(audio, audio[:-10], 5, 5) is None  # a truncated last frame
    assert codec.join_mp3(audio, audio, 10**6, 0) is None  # not that many frames


def test_dither_started_at_a_later_block_continues_the_same_noise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    block = 4096
    monkeypatch.setattr(codec, "_DITHER_BLOCK", block)
    audio = music(seconds=0.5, seed=9)
    starts = range(0, audio.shape[1], block)
    sequential = codec._Dither(2, audio.shape[1])
    pieces = [sequential.block(audio[:, s : s + block]).tobytes() for s in starts]
    jumped = codec._Dither(2, audio.shape[1], first_block=3)
    later = [jumped.block(audio[:, s : s + block]).tobytes() for s in starts[3:]]
    assert later == pieces[3:]


def test_each_mp3_half_is_fed_exactly_the_dithered_pcm_of_its_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(codec, "_MP3_SPLIT_MIN_FRAMES", 100)
    monkeypatch.setattr(codec, "_DITHER_BLOCK", 8192)  # the second half starts blocks in
    monkeypatch.setattr(codec._Writer, "block", 8192)
    audio = music(seconds=4.0, seed=6)
    fed: dict[int, list[tuple[int, bytes]]] = {}
    real_feed = codec._LameLane.feed

    def recording_feed(lane: codec._LameLane, start: int, pcm: bytes) -> None:
        fed.setdefault(lane.first, []).append((start, pcm))
        real_feed(lane, start, pcm)

    monkeypatch.setattr(codec._LameLane, "feed", recording_feed)
    encode(audio, RATE, AudioFormat.MP3)
    expected = codec.to_pcm16(audio).tobytes()
    assert len(fed) == 2 and min(fed) == 0 and max(fed) > 8192
    for pieces in fed.values():
        for start, pcm in pieces:
            assert pcm == expected[start * 4 : start * 4 + len(pcm)]


def test_a_splice_that_does_not_fit_the_bit_reservoir_moves_to_a_nearby_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the second half's frames need more bit reservoir than the first leaves free at the
    middle frame, the halves are joined a frame or two on rather than encoded again."""
    audio = music(seconds=8.0, seed=7)
    whole = encode(audio, RATE, AudioFormat.MP3)
    monkeypatch.setattr(codec, "_MP3_SPLIT_MIN_FRAMES", 100)
    real_join = codec._join_frames
    attempts: list[tuple[int, int]] = []

    def join_failing_at_the_middle(
        head: list[codec._Mp3Frame], tail: list[codec._Mp3Frame], frame: int, skip: int
    ) -> bytes | None:
        attempts.append((frame, skip))
        return None if frame == attempts[0][0] else real_join(head, tail, frame, skip)

    monkeypatch.setattr(codec, "_join_frames", join_failing_at_the_middle)
    # encoding again in one piece would be a second run
    monkeypatch.setattr(codec._Mp3Writer, "run", _never_twice(codec._Mp3Writer.run))
    split = encode(audio, RATE, AudioFormat.MP3)
    middle = attempts[0][0]
    assert attempts[:2] == [(middle, codec._MP3_PREROLL_FRAMES), (middle + 1, 17)]
    joined_frames, whole_frames = codec._mp3_frames(split), codec._mp3_frames(whole)
    assert joined_frames is not None and whole_frames is not None
    assert len(joined_frames) == len(whole_frames)
    halves, one_piece = _decoded(split), _decoded(whole)
    difference = np.mean((halves - one_piece) ** 2) / np.mean(one_piece**2)
    assert 10 * np.log10(max(difference, 1e-30)) < -30.0


def _never_twice(run):  # type: ignore[no-untyped-def]
    calls: list[object] = []

    def once(self, ready):  # type: ignore[no-untyped-def]
        calls.append(self)
        assert len(calls) == 1, "the song was encoded a second time"
        return run(self, ready)

    return once
