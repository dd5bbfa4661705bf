"""`riffusion` through ``StableDiffusionPipeline.from_pretrained`` on a tiny random Stable
Diffusion that the tests build and save; its images go through the real spectrogram-to-audio
path. Nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_riffusion, go_offline, one_torch_thread

from songforge.errors import ProviderError
from songforge.progress import Progress
from songforge.providers.base import ClipRequest, Provider
from songforge.providers.riffusion import RiffusionProvider, from_settings
from songforge.settings import Settings

pytest.importorskip("torch")
pytest.importorskip("diffusers")

SAMPLE_RATE = 44100


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_riffusion(tmp_path_factory.mktemp("riffusion"))


@pytest.fixture(scope="module")
def provider(model_dir: Path) -> RiffusionProvider:
    return RiffusionProvider(str(model_dir), device="cpu", steps=2, griffin_lim_iters=4)


def test_capabilities_follow_riffusions_image_convention(provider: RiffusionProvider) -> None:
    caps = provider.capabilities
    assert isinstance(provider, Provider)
    assert caps.sample_rate_hz == SAMPLE_RATE and not caps.stereo
    assert caps.max_clip_s == pytest.approx(5.12) and not caps.continuation and caps.local


def test_a_clip_is_a_512_pixel_tall_image_turned_into_mono_audio(
    provider: RiffusionProvider,
) -> None:
    events: list[Progress] = []
    request = ClipRequest("lofi hip hop beat", 0.3, seed=6, negative_prompt="noise")
    clip = provider.generate_clip(request, events.append)

    assert clip.info["image_px"] == (512, 32)  # 30 columns of 10 ms, rounded up to the VAE's 8
    assert clip.audio.shape == (1, round(0.3 * SAMPLE_RATE)) and clip.audio.dtype == np.float32
    assert clip.sample_rate_hz == SAMPLE_RATE and clip.provider == "riffusion"
    assert np.all(np.isfinite(clip.audio)) and np.max(np.abs(clip.audio)) <= 1.0
    reports = [(e.done, e.total) for e in events]
    assert reports[0] == (0, 2) and reports[-1] == (2, 2)


def test_the_same_seed_makes_the_same_clip_on_cpu(provider: RiffusionProvider) -> None:
    def make(seed: int) -> np.ndarray:
        return provider.generate_clip(ClipRequest("rock", 0.08, seed=seed), _ignore).audio

    first, again, other = make(3), make(3), make(4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_clip_longer_than_the_setting_is_refused(provider: RiffusionProvider) -> None:
    with pytest.raises(ProviderError, match="at most"):
        provider.generate_clip(ClipRequest("techno", 6.0), _ignore)


def test_health_and_settings(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    assert not RiffusionProvider(None).health().ok
    assert RiffusionProvider(str(model_dir)).health().ok
    monkeypatch.setenv("SONGFORGE_RIFFUSION_MODEL", str(model_dir))
    monkeypatch.setenv("SONGFORGE_RIFFUSION_GRIFFIN_LIM_ITERS", "8")
    provider = from_settings(Settings())
    assert provider.configured() and provider.griffin_lim_iters == 8


def _ignore(_: Progress) -> None:
    pass
