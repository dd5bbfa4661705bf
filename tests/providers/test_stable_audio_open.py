"""`stable-audio-open` through ``StableAudioPipeline.from_pretrained`` on a tiny random
pipeline that the tests build and save; nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_stable_audio, go_offline, one_torch_thread

from songforge.errors import ProviderError
from songforge.progress import Progress
from songforge.providers.base import ClipRequest, Provider
from songforge.providers.stable_audio_open import StableAudioOpenProvider, from_settings
from songforge.settings import Settings

pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("torchsde")

SAMPLE_RATE = 44100
pytestmark = [
    # torchsde's Brownian interval warns about float32 rounding at the ends of the schedule
    pytest.mark.filterwarnings("ignore:Should have t[ab]:UserWarning"),
    # diffusers' Oobleck VAE still uses torch's older weight_norm
    pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning"),
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_stable_audio(tmp_path_factory.mktemp("stable-audio"))


@pytest.fixture(scope="module")
def provider(model_dir: Path) -> StableAudioOpenProvider:
    return StableAudioOpenProvider(str(model_dir), device="cpu", steps=3, guidance_scale=7.0)


def test_capabilities_come_from_the_vae_and_transformer_configs(
    provider: StableAudioOpenProvider,
) -> None:
    caps = provider.capabilities
    assert isinstance(provider, Provider)
    assert caps.sample_rate_hz == SAMPLE_RATE and caps.stereo
    assert caps.max_clip_s == pytest.approx(32 * 2048 / SAMPLE_RATE)  # latents × VAE hop
    assert not caps.continuation and caps.local


def test_a_clip_is_stereo_at_44k_with_a_progress_report_per_step(
    provider: StableAudioOpenProvider,
) -> None:
    events: list[Progress] = []
    request = ClipRequest("calm piano ballad", 1.0, seed=1, negative_prompt="drums")
    clip = provider.generate_clip(request, events.append)

    assert clip.audio.shape == (2, SAMPLE_RATE) and clip.audio.dtype == np.float32
    assert clip.sample_rate_hz == SAMPLE_RATE and clip.provider == "stable-audio-open"
    assert np.all(np.isfinite(clip.audio)) and np.max(np.abs(clip.audio)) <= 1.0
    assert [(e.done, e.total) for e in events] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert clip.info["seed"] == 1 and not clip.includes_prompt_audio


def test_the_same_seed_makes_the_same_clip_on_cpu(provider: StableAudioOpenProvider) -> None:
    def make(seed: int) -> np.ndarray:
        return provider.generate_clip(ClipRequest("ambient pad", 0.5, seed=seed), _ignore).audio

    first, again, other = make(9), make(9), make(10)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_clip_longer_than_the_window_is_refused(provider: StableAudioOpenProvider) -> None:
    with pytest.raises(ProviderError, match="at most"):
        provider.generate_clip(ClipRequest("techno", 2.0), _ignore)


def test_health_and_settings(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    assert not StableAudioOpenProvider(None).health().ok
    assert StableAudioOpenProvider(str(model_dir)).health().ok
    monkeypatch.setenv("SONGFORGE_STABLE_AUDIO_MODEL", str(model_dir))
    monkeypatch.setenv("SONGFORGE_STABLE_AUDIO_STEPS", "12")
    provider = from_settings(Settings())
    assert provider.configured() and provider.steps == 12


def _ignore(_: Progress) -> None:
    pass
