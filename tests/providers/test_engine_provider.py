"""The `songforge` provider: the offline engine behind the provider protocol."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from songforge.errors import ProviderError
from songforge.progress import Progress, ProgressCallback
from songforge.providers import (
    ClipRequest,
    EngineProvider,
    Provider,
    ProviderGenerator,
    Resilience,
)
from songforge.request import SongRequest
from songforge.settings import Settings
from songforge.song import Song


def test_the_engine_declares_what_it_can_do() -> None:
    engine = EngineProvider(Settings())
    assert isinstance(engine, Provider)
    caps = engine.capabilities
    assert caps.max_clip_s is None  # whole songs of any length
    assert caps.stems and caps.midi and caps.local and caps.stereo
    assert caps.price.estimate_usd(240.0, 1) == 0.0
    assert engine.configured() and engine.health().ok


def test_an_engine_song_keeps_the_engines_metadata_and_records_one_segment(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, use_soundfont=False, usage_backend="memory")
    request = SongRequest(prompt="calm piano at dawn", duration=30, seed=4)
    song = ProviderGenerator(settings).generate(request, lambda _p: None)
    meta = song.metadata
    assert meta["provider"] == "songforge" and meta["providers"] == ["songforge"]
    assert meta["composition"] and meta["instruments"] and meta["seed"] == 4  # the engine's own
    [segment] = meta["segments"]
    assert segment["start_s"] == 0.0 and segment["end_s"] == round(song.duration_s, 3)
    assert segment["provider"] == "songforge" and segment["cost_usd"] == 0.0
    assert segment["attempts"] == 1 and segment["failovers"] == 0
    assert meta["cost"]["actual_usd"] == 0.0
    assert song.stems and song.score is not None  # stems and MIDI survive


class RecordingEngine(EngineProvider):
    """The engine with its renderer swapped for a tone, to see how clips are asked for."""

    def __init__(self) -> None:
        super().__init__(Settings())
        self.requests: list[SongRequest] = []

    def generate_song(self, request: SongRequest, progress: ProgressCallback) -> Song:
        self.requests.append(request)
        rate = request.sample_rate
        audio = np.full((2, round((request.duration or 0) * rate)), 0.1, np.float32)
        return Song(request=request, audio=audio, sample_rate_hz=rate, metadata={"seed": 9})


def test_a_clip_from_the_engine_is_a_song_in_the_clips_tempo_and_key_cut_to_length() -> None:
    engine = RecordingEngine()
    clip = engine.generate_clip(
        ClipRequest(
            prompt="chorus, big",
            duration_s=12.0,
            seed=3,
            tempo_bpm=128.0,
            key="F# minor",
            genre="house",
        ),
        lambda _p: None,
    )
    [asked] = engine.requests
    assert (asked.bpm, asked.key, asked.genre, asked.seed) == (128.0, "F# minor", "house", 3)
    assert asked.duration == 30.0  # the engine's shortest song
    assert clip.audio.shape == (2, 12 * 44100) and clip.cost_usd == 0.0
    assert clip.provider == "songforge" and clip.info["model"].startswith("songforge-engine")


def test_the_engine_makes_its_song_on_the_callers_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper thread (how remote providers are timed out) would stop the engine forking its
    render helpers: it renders on threads there, several times slower with a SoundFont."""
    import songforge.engine
    from songforge.render import sources

    threads: list[str] = []
    forked: list[bool] = []
    real_generate, real_helper = songforge.engine.generate, sources._ForkedHelper.run

    def watched_generate(*args: Any, **kwargs: Any) -> Song:
        threads.append(threading.current_thread().name)
        return real_generate(*args, **kwargs)

    def watched_helper(self: Any, *args: Any) -> None:
        forked.append(True)
        real_helper(self, *args)

    monkeypatch.setattr(songforge.engine, "generate", watched_generate)
    monkeypatch.setattr(sources._ForkedHelper, "run", watched_helper)
    settings = Settings(data_dir=tmp_path, use_soundfont=False, usage_backend="memory")
    ProviderGenerator(settings).generate(SongRequest(prompt="calm piano", duration=30), print)
    assert threads == [threading.current_thread().name]
    assert forked == [True]


def test_an_engine_song_past_its_time_limit_stops_at_the_next_stage(tmp_path: Path) -> None:
    clock = [0.0]
    stages: list[str] = []

    def slow_stages(update: Progress) -> None:
        stages.append(update.stage)
        clock[0] += 10.0  # every stage takes ten seconds

    def generator(timeouts: str) -> ProviderGenerator:
        settings = Settings(
            data_dir=tmp_path,
            use_soundfont=False,
            usage_backend="memory",
            provider_timeouts=timeouts,
            provider_retry_attempts=1,
        )
        return ProviderGenerator(settings, resilience=Resilience(clock=lambda: clock[0]))

    request = SongRequest(prompt="calm piano", duration=30, seed=1)
    generator("songforge=100000").generate(request, slow_stages)
    every_stage = list(stages)
    stages.clear()
    with pytest.raises(ProviderError, match="did not finish within its time limit"):
        generator("songforge=25").generate(request, slow_stages)
    assert "master" in every_stage and "master" not in stages  # stopped well before the end
