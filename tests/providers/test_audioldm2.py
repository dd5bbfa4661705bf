"""`audioldm2` through ``AudioLDM2Pipeline.from_pretrained`` on a tiny random pipeline — all
eleven components, tokenizers included — that the tests build and save; nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_audioldm2, go_offline, one_torch_thread

from songforge.errors import Cancelled, ProviderError
from songforge.progress import Progress
from songforge.providers.audioldm2 import AudioLDM2Provider, from_settings
from songforge.providers.base import ClipRequest, Provider
from songforge.settings import Settings

pytest.importorskip("torch")
pytest.importorskip("diffusers")

SAMPLE_RATE = 16000
# diffusers' AudioLDM 2 still hands GPT-2 `past_key_values` (transformers plans its removal)
pytestmark = pytest.mark.filterwarnings("ignore:`past_key_values` is deprecated:FutureWarning")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_audioldm2(tmp_path_factory.mktemp("audioldm2"))


@pytest.fixture(scope="module")
def provider(model_dir: Path) -> AudioLDM2Provider:
    return AudioLDM2Provider(str(model_dir), device="cpu", steps=2, max_clip_s=1.0)


def test_capabilities_take_the_vocoder_rate(provider: AudioLDM2Provider) -> None:
    caps = provider.capabilities
    assert isinstance(provider, Provider)
    assert caps.sample_rate_hz == SAMPLE_RATE and not caps.stereo
    assert caps.max_clip_s == 1.0 and not caps.continuation and caps.local


def test_a_clip_is_mono_16k_of_the_requested_length(provider: AudioLDM2Provider) -> None:
    events: list[Progress] = []
    request = ClipRequest("calm piano", 0.25, seed=2, negative_prompt="low quality")
    clip = provider.generate_clip(request, events.append)

    assert clip.audio.shape == (1, 4000) and clip.audio.dtype == np.float32
    assert clip.sample_rate_hz == SAMPLE_RATE and clip.provider == "audioldm2"
    assert np.all(np.isfinite(clip.audio)) and np.max(np.abs(clip.audio)) <= 1.0
    assert [(e.done, e.total) for e in events] == [(0, 2), (1, 2), (2, 2)]


def test_the_same_seed_makes_the_same_clip_on_cpu(provider: AudioLDM2Provider) -> None:
    def make(seed: int) -> np.ndarray:
        return provider.generate_clip(ClipRequest("rock", 0.1, seed=seed), _ignore).audio

    first, again, other = make(4), make(4), make(5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_raise_from_the_progress_callback_cancels_and_passes_through(
    provider: AudioLDM2Provider,
) -> None:
    def cancel(event: Progress) -> None:
        if event.done == 1:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        provider.generate_clip(ClipRequest("rock", 0.1, seed=1), cancel)


def test_a_clip_longer_than_the_setting_is_refused(provider: AudioLDM2Provider) -> None:
    with pytest.raises(ProviderError, match="at most"):
        provider.generate_clip(ClipRequest("techno", 1.5), _ignore)


def test_health_and_settings(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    assert not AudioLDM2Provider(None).configured()
    assert AudioLDM2Provider(str(model_dir)).health().ok
    monkeypatch.setenv("SONGFORGE_AUDIOLDM2_MODEL", str(model_dir))
    monkeypatch.setenv("SONGFORGE_AUDIOLDM2_GUIDANCE_SCALE", "2.5")
    provider = from_settings(Settings())
    assert provider.configured() and provider.guidance_scale == 2.5


def _ignore(_: Progress) -> None:
    pass
