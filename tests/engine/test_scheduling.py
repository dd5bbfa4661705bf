"""The engine end to end: the same request and seed give the same bytes however the work was
scheduled, every song meets the master's guarantees, stems sum to the pre-master mix, and the
files a caller asks for come out right."""

from __future__ import annotations

import io
import math
import multiprocessing
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
from scipy import signal

from songforge import engine
from songforge.errors import SongforgeError, SoundFontError
from songforge.progress import Progress
from songforge.render import codec, sources
from songforge.render.mix import RETURNS
from songforge.request import AudioFormat, SongRequest
from songforge.settings import Settings
from songforge.song import Song

pytestmark = pytest.mark.slow

SYNTH = Settings(use_soundfont=False, keep_stems=True)


def request(seconds: float = 30.0, fmt: str = "wav", seed: int = 5) -> SongRequest:
    return SongRequest(prompt="synthwave night drive", duration=seconds, seed=seed, format=fmt)


@pytest.fixture(scope="module")
def song() -> Song:
    return engine.generate(request(), settings=SYNTH)


def test_the_same_request_and_seed_give_byte_identical_files(
    song: Song, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = engine.generate(request(), settings=SYNTH)
    monkeypatch.setattr(sources, "_can_fork", lambda: False)  # threads instead of helpers
    threaded = engine.generate(request(), settings=SYNTH)
    for fmt in (AudioFormat.WAV, AudioFormat.FLAC):
        first = song.encode(fmt)
        assert again.encode(fmt) == first and threaded.encode(fmt) == first, fmt
    assert list(again.stems) == list(song.stems) == list(threaded.stems)
    for name in song.stems:
        assert again.encode_stem(name, AudioFormat.FLAC) == song.encode_stem(name, AudioFormat.FLAC)
        assert threaded.encode_stem(name, AudioFormat.FLAC) == song.encode_stem(
            name, AudioFormat.FLAC
        )


def test_a_song_meets_the_loudness_target_under_the_true_peak_ceiling(song: Song) -> None:
    decoded, rate = soundfile.read(io.BytesIO(song.encode(AudioFormat.WAV)), dtype="float64")
    assert pyloudnorm.Meter(rate).integrated_loudness(decoded) == pytest.approx(-14.0, abs=0.3)
    assert song.metadata["loudness"]["integrated_lufs"] == pytest.approx(-14.0, abs=0.3)
    oversampled = max(np.abs(signal.resample_poly(ch, 8, 1)).max() for ch in decoded.T)
    assert 20 * math.log10(oversampled) <= -0.95  # an independent 8x true peak agrees
    assert song.metadata["loudness"]["true_peak_dbtp"] <= -1.0
    assert np.abs(song.audio).max() < 0.9999  # nothing clips


def test_stems_sum_to_the_pre_master_mix_within_16_bit_quantisation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[np.ndarray] = []
    real_master = engine.master

    def keep_the_mix(mix: np.ndarray, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        seen.append(mix.copy())
        return real_master(mix, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "master", keep_the_mix)
    made = engine.generate(request(seed=9), settings=SYNTH)
    (premaster,) = seen
    names = list(made.stems)
    assert RETURNS in names and set(names) - {RETURNS} == set(made.metadata["instruments"])
    total = np.zeros_like(premaster)
    for name in names:
        total += made.stems[name]
    # each stem is stored as 16-bit FLAC at its own peak: the sum is off by a few LSB at most
    assert np.abs(total - premaster).max() < 4 / 32768
    assert float(np.sqrt(np.mean((total - premaster) ** 2))) < 0.5 / 32768


def test_the_requested_format_is_encoded_while_mastering(song: Song) -> None:
    assert AudioFormat.WAV in song._prefetched
    assert song.encode() == codec.encode(song.audio, song.sample_rate_hz, AudioFormat.WAV)
    song_copy = Song(song.request, song.audio.copy(), song.sample_rate_hz, song.metadata)
    assert song_copy.encode() == song.encode()


def test_writing_a_song_with_stems_writes_one_file_per_stem(song: Song, tmp_path: Path) -> None:
    written = song.write(tmp_path / "night.flac", stems=True, midi=True)
    names = {path.name for path in written}
    assert {"night.flac", "night.mid", "night.json"} <= names
    stem_dir = tmp_path / "night.stems"
    for name in song.stems:
        data, rate = soundfile.read(stem_dir / f"{name}.flac", dtype="float32", always_2d=True)
        assert rate == song.sample_rate_hz
        np.testing.assert_allclose(data.T, song.stems[name], atol=2.5 / 32768)


def test_the_service_can_encode_every_stem_in_the_song_format(song: Song) -> None:
    for name in song.stems:  # what jobs/outputs.py does
        data = song.encode_stem(name, AudioFormat.MP3)
        assert data[:3] == b"ID3" or data[0] == 0xFF
    encoded = dict(song.encode_stems(AudioFormat.WAV))
    assert list(encoded) == list(song.stems)
    assert encoded[RETURNS] == song.encode_stem(RETURNS, AudioFormat.WAV)


def test_without_stems_none_are_kept() -> None:
    made = engine.generate(request(), settings=Settings(use_soundfont=False))
    assert made.stems  # the default keeps them
    lean = engine.generate(request(), settings=Settings(use_soundfont=False, keep_stems=False))
    assert not lean.stems
    assert lean.encode(AudioFormat.FLAC) == made.encode(AudioFormat.FLAC)


class Cancelled(SongforgeError):
    pass


def test_a_cancelled_song_leaves_no_helpers_behind() -> None:
    def cancel_while_rendering(progress: Progress) -> None:
        if progress.stage == "render" and progress.done > 4:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        engine.generate(request(), settings=SYNTH, progress=cancel_while_rendering)
    assert multiprocessing.active_children() == []


def test_an_unusable_soundfont_fails_the_song_with_its_own_error(tmp_path: Path) -> None:
    """A broken font fails the song with the font's own error, and no helper is left behind."""
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    with pytest.raises(SoundFontError):
        engine.generate(request(), settings=Settings(soundfont=broken))
    assert multiprocessing.active_children() == []
