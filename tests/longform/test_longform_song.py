"""A whole song from a provider with a clip limit: length, seams, loudness, form."""

from __future__ import annotations

import math

import pytest

from songforge.providers import FakeProvider, InMemoryUsageLedger, ProviderGenerator
from songforge.providers.registry import ProviderRegistry
from songforge.request import SongRequest
from songforge.settings import Settings
from songforge.song import Song


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Song, FakeProvider]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), usage_backend="memory")
    limited = FakeProvider("limited", max_clip_s=30.0, continuation=True)
    generator = ProviderGenerator(
        settings,
        registry=ProviderRegistry.with_providers(settings, [limited]),
        ledger=InMemoryUsageLedger(),
    )
    request = SongRequest(
        prompt="driving synthwave at night", duration="3:00", seed=21, provider=["limited"]
    )
    return generator.generate(request, lambda _p: None), limited


def test_a_3_minute_song_from_30_s_clips_lasts_3_00(song: tuple[Song, FakeProvider]) -> None:
    made, provider = song
    assert made.duration_s == pytest.approx(180.0, abs=1.0)
    assert made.audio.shape[0] == 2 and made.sample_rate_hz == 44100
    assert len(provider.calls) >= 6
    assert all(call.duration_s <= 30.0 for call in provider.calls)


def test_it_has_no_audible_seams(song: tuple[Song, FakeProvider]) -> None:
    quality = song[0].metadata["longform"]["seam_quality"]
    assert quality["seamless"], quality
    assert len(quality["seams"]) == len(song[0].metadata["segments"]) - 1
    assert quality["worst_flux_ratio"] <= 1.5


def test_it_is_mastered_like_the_engines_songs(song: tuple[Song, FakeProvider]) -> None:
    loudness = song[0].metadata["loudness"]
    assert loudness["integrated_lufs"] == pytest.approx(-14.0, abs=0.5)
    assert loudness["true_peak_dbtp"] <= -1.0


def test_its_segments_meet_on_bar_lines_and_follow_the_form(
    song: tuple[Song, FakeProvider],
) -> None:
    meta = song[0].metadata
    bar_s = 4 * 60.0 / meta["tempo_bpm"]
    for segment in meta["segments"][1:]:
        bars = segment["start_s"] / bar_s
        assert math.isclose(bars, round(bars), abs_tol=0.01)
    names = {s["name"] for s in meta["sections"]}
    assert {name for seg in meta["segments"] for name in seg["sections"]} <= names


def test_each_clip_was_asked_for_in_the_songs_tempo_key_and_section(
    song: tuple[Song, FakeProvider],
) -> None:
    meta, calls = song[0].metadata, song[1].calls
    assert {call.tempo_bpm for call in calls} == {meta["tempo_bpm"]}
    assert {call.key for call in calls} == {meta["key"]}
    for call, segment in zip(calls, meta["segments"], strict=True):
        assert call.section == ", ".join(segment["sections"])
        assert segment["sections"][0] in call.prompt and meta["key"] in call.prompt
    assert calls[0].continuation is None
    assert all(call.continuation is not None for call in calls[1:])
