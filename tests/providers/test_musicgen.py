"""`musicgen` through its real loading code (transformers' from_pretrained and AutoProcessor)
on a tiny random MusicGen that the tests build and save; nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_musicgen, go_offline, one_torch_thread

from songforge.errors import Cancelled, ProviderError, ProviderUnavailable
from songforge.progress import Progress
from songforge.providers.base import AudioPrompt, ClipRequest, Provider
from songforge.providers.musicgen import MusicGenProvider, from_settings
from songforge.settings import Settings

pytest.importorskip("torch")
pytest.importorskip("transformers")

SAMPLE_RATE = 32000
FRAME_S = 1 / 50


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def mono_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caps a generation at 100 tokens: 97 frames, 1.94 s with the prompt."""
    return build_tiny_musicgen(tmp_path_factory.mktemp("musicgen"), max_positions=100)


@pytest.fixture(scope="module")
def provider(mono_model: Path) -> MusicGenProvider:
    return MusicGenProvider(str(mono_model), device="cpu", guidance_scale=3.0)


def tone(seconds: float, sample_rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    mono = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    return np.repeat(mono[None, :], channels, axis=0)


def test_capabilities_are_read_from_the_saved_config_before_loading(
    provider: MusicGenProvider,
) -> None:
    caps = provider.capabilities
    assert isinstance(provider, Provider)
    assert caps.sample_rate_hz == SAMPLE_RATE
    assert caps.max_clip_s == pytest.approx(97 * FRAME_S)  # 100 tokens less the codebook delay
    assert caps.continuation and caps.local and not caps.stereo
    assert caps.price.estimate_usd(60.0) == 0.0


def test_a_clip_has_the_requested_length_at_the_model_rate(provider: MusicGenProvider) -> None:
    events: list[Progress] = []
    clip = provider.generate_clip(ClipRequest("calm piano ballad", 0.5, seed=3), events.append)

    assert clip.provider == "musicgen"
    assert clip.sample_rate_hz == SAMPLE_RATE
    assert clip.audio.dtype == np.float32
    assert clip.audio.shape == (1, 16000)
    assert np.all(np.isfinite(clip.audio)) and np.max(np.abs(clip.audio)) <= 1.0
    assert not clip.includes_prompt_audio and clip.info["seed"] == 3
    # one report per generated token: 25 frames plus the 3-token codebook delay
    assert [e.done for e in events] == list(range(29))
    assert {e.total for e in events} == {28} and {e.stage for e in events} == {"musicgen"}


def test_the_same_seed_makes_the_same_clip_on_cpu(provider: MusicGenProvider) -> None:
    def make(seed: int) -> np.ndarray:
        return provider.generate_clip(
            ClipRequest("lofi hip hop beat", 0.2, seed=seed), _ignore
        ).audio

    first, again, other = make(11), make(11), make(12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_continuation_comes_back_whole_before_the_new_music(provider: MusicGenProvider) -> None:
    previous = tone(0.51, 44100, channels=2)  # another rate, stereo, not whole frames
    request = ClipRequest(
        "energetic rock song", 0.3, seed=5, continuation=AudioPrompt(previous, 44100)
    )
    clip = provider.generate_clip(request, _ignore)

    assert clip.includes_prompt_audio
    assert clip.info["prompt_s"] == pytest.approx(0.51)  # the whole prompt opens the clip
    assert clip.info["prompt_heard_s"] == pytest.approx(26 * FRAME_S)  # padded to whole frames
    assert clip.audio.shape == (1, round(0.51 * SAMPLE_RATE) + round(0.3 * SAMPLE_RATE))
    assert np.all(np.isfinite(clip.audio))


def test_a_prompt_longer_than_the_token_cap_allows_is_heard_in_part(
    provider: MusicGenProvider,
) -> None:
    previous = tone(3.0, SAMPLE_RATE)
    request = ClipRequest(
        "ambient synth pad", 0.5, seed=1, continuation=AudioPrompt(previous, SAMPLE_RATE)
    )
    clip = provider.generate_clip(request, _ignore)

    heard_s = (97 - 25) * FRAME_S  # what 100 tokens leave beside 25 new frames and the delay
    assert clip.info["prompt_heard_s"] == pytest.approx(heard_s)
    assert clip.info["prompt_s"] == pytest.approx(3.0) and clip.info["max_new_tokens"] == 28
    assert clip.audio.shape == (1, round(3.5 * SAMPLE_RATE))
    unheard = round((3.0 - heard_s) * SAMPLE_RATE)
    np.testing.assert_array_equal(clip.audio[:, :unheard], previous[:, :unheard])


def test_a_clip_longer_than_the_cap_is_refused(provider: MusicGenProvider) -> None:
    with pytest.raises(ProviderError, match="at most"):
        provider.generate_clip(ClipRequest("techno", 2.5), _ignore)


def test_generate_long_walks_windows_prompted_by_the_previous_tail(mono_model: Path) -> None:
    windowed = MusicGenProvider(
        str(mono_model), device="cpu", max_window_s=0.6, extend_stride_s=0.4, guidance_scale=1.0
    )
    events: list[Progress] = []
    clip = windowed.generate_long(ClipRequest("driving techno", 1.0, seed=2), 1.0, events.append)

    assert clip.audio.shape == (1, SAMPLE_RATE)  # 0.6 s, then 0.4 s prompted by 0.2 s
    assert clip.info["windows"] == 2 and not clip.includes_prompt_audio
    assert [(e.done, e.total) for e in events] == [(0, 2), (1, 2), (2, 2)]
    assert np.all(np.isfinite(clip.audio))

    previous = AudioPrompt(tone(0.5, SAMPLE_RATE), SAMPLE_RATE)
    request = ClipRequest("driving techno", 0.8, seed=2, continuation=previous)
    continued = windowed.generate_long(request, 0.8)
    assert continued.includes_prompt_audio and continued.info["windows"] == 2
    assert continued.info["prompt_s"] == pytest.approx(0.5)  # opens with the whole prompt
    assert continued.audio.shape == (1, round(1.3 * SAMPLE_RATE))


def test_a_raise_from_the_progress_callback_stops_generation(provider: MusicGenProvider) -> None:
    def cancel(event: Progress) -> None:
        if event.done == 2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        provider.generate_clip(ClipRequest("rock", 0.5, seed=1), cancel)


def test_a_stereo_checkpoint_makes_stereo_and_accepts_a_mono_prompt(
    tmp_path: Path,
) -> None:
    stereo = MusicGenProvider(
        str(build_tiny_musicgen(tmp_path / "stereo", channels=2)), device="cpu"
    )
    assert stereo.capabilities.stereo

    request = ClipRequest("rock", 0.2, seed=4, continuation=AudioPrompt(tone(0.2, 22050), 22050))
    clip = stereo.generate_clip(request, _ignore)

    assert clip.audio.shape == (2, round(0.4 * SAMPLE_RATE))
    assert clip.info["prompt_s"] == pytest.approx(0.2) == clip.info["prompt_heard_s"]


def test_health_says_whether_the_model_is_there_and_loaded(
    mono_model: Path, tmp_path: Path
) -> None:
    assert not MusicGenProvider(None).configured()
    assert not MusicGenProvider(None).health().ok
    assert not MusicGenProvider(str(tmp_path / "absent")).health().ok

    fresh = MusicGenProvider(str(mono_model), device="cpu")
    assert fresh.configured()
    before = fresh.health()
    assert before.ok and "first use" in before.detail
    fresh.load()
    assert "loaded on cpu" in fresh.health().detail


def test_an_uncached_model_id_is_unavailable_offline_rather_than_downloaded() -> None:
    provider = MusicGenProvider("songforge-tests/no-such-musicgen", device="cpu")
    assert not provider.health().ok
    with pytest.raises(ProviderUnavailable, match="no-such-musicgen"):
        provider.generate_clip(ClipRequest("anything", 1.0), _ignore)


def test_from_settings_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, mono_model: Path
) -> None:
    monkeypatch.setenv("SONGFORGE_MUSICGEN_MODEL", str(mono_model))
    monkeypatch.setenv("SONGFORGE_MUSICGEN_GUIDANCE_SCALE", "4.5")
    monkeypatch.setenv("SONGFORGE_MUSICGEN_DEVICE", "cpu")
    provider = from_settings(Settings())

    assert provider.configured() and provider.model == str(mono_model)
    assert provider.guidance_scale == 4.5 and provider.device_preference == "cpu"
    assert from_settings(Settings(musicgen_model=None)).configured() is False


def _ignore(_: Progress) -> None:
    pass
