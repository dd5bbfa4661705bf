"""The plumbing the self-hosted providers share (providers/_torch.py): the install hint,
device and dtype choice, seeding, the model cache, resampling and the output checks."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_models import go_offline

from songforge.errors import Cancelled, ProviderError, ProviderUnavailable
from songforge.providers import _torch
from songforge.providers.base import ClipRequest
from songforge.providers.musicgen import MusicGenProvider
from songforge.providers.stable_audio_open import StableAudioOpenProvider


def test_a_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ProviderUnavailable, match=r"pip install 'songforge\[neural\]'"):
        _torch.require("torch", "musicgen")
    with pytest.raises(ProviderUnavailable, match="needs torch"):
        MusicGenProvider("facebook/musicgen-small").generate_clip(
            ClipRequest("x", 1.0), lambda _: None
        )


def test_health_reports_missing_packages_without_importing_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(StableAudioOpenProvider, "packages", ("torch", "songforge_no_such_pkg"))
    health = StableAudioOpenProvider(str(tmp_path)).health()
    assert not health.ok and "songforge_no_such_pkg" in health.detail
    assert "pip install" in health.detail


def test_devices_prefer_cuda_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    assert _torch.select_device("cpu", "p") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _torch.select_device("auto", "p") == "cpu"
    with pytest.raises(ProviderUnavailable, match="CUDA"):
        _torch.select_device("cuda", "p")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _torch.select_device("auto", "p") == "cuda"
    assert _torch.select_dtype("auto", "cuda", "p") is torch.float16
    assert _torch.select_dtype("auto", "cpu", "p") is torch.float32
    assert _torch.select_dtype("bfloat16", "cpu", "p") is torch.bfloat16


def test_seeding_is_scoped_and_repeatable() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    with _torch.seeded(7, "cpu", "p"):
        first = torch.rand(3)
    with _torch.seeded(7, "cpu", "p"):
        again = torch.rand(3)
    assert torch.equal(first, again)
    assert torch.equal(torch.rand(1), expected_next)  # the outer stream is untouched
    noise = torch.randn(4, generator=_torch.cpu_generator(5, "p"))
    assert torch.equal(noise, torch.randn(4, generator=_torch.cpu_generator(5, "p")))
    assert 0 <= _torch.resolve_seed(None) <= _torch.MAX_SEED


def test_resampling_keeps_pitch_and_duration() -> None:
    t = np.arange(44100) / 44100
    audio = np.stack([np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    out = _torch.resample(audio, 44100, 32000)
    assert out.shape == (2, 32000) and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert np.fft.rfftfreq(32000, 1 / 32000)[np.argmax(spectrum)] == pytest.approx(440, abs=1)


def test_channels_are_downmixed_or_spread() -> None:
    stereo = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(_torch.fit_channels(stereo, 1), [[0.5, 0.5]])
    assert _torch.fit_channels(np.ones(3, dtype=np.float32), 2).shape == (2, 3)


def test_outputs_are_checked_and_brought_to_convention() -> None:
    loud = _torch.finish_audio(np.array([0.5, -2.0, 1.0]), "p")
    assert loud.shape == (1, 3) and loud.dtype == np.float32
    np.testing.assert_allclose(loud, [[0.25, -1.0, 0.5]])
    for bad, reason in [(np.array([0.1, np.nan]), "NaN"), (np.zeros((2, 10)), "silence")]:
        with pytest.raises(ProviderError, match=reason) as caught:
            _torch.finish_audio(bad, "p")
        assert caught.value.retryable


def test_the_cache_loads_each_model_once_even_when_jobs_race() -> None:
    cache = _torch.ModelCache()
    loads: list[int] = []

    def load() -> _torch.Loaded:
        loads.append(1)
        time.sleep(0.05)
        return _torch.Loaded({"model": object()}, "cpu", None)

    results: list[_torch.Loaded] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("m", "cpu"), load)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(r) for r in results}) == 1


def test_local_configs_are_read_without_the_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    go_offline(monkeypatch)
    (tmp_path / "config.json").write_text('{"a": 1}')
    assert _torch.local_json(str(tmp_path), "config.json") == {"a": 1}
    assert _torch.local_json(str(tmp_path), "missing.json") is None
    assert _torch.local_json("songforge-tests/not-cached", "config.json") is None


def test_our_own_errors_pass_through_generation_failures() -> None:
    pytest.importorskip("torch")
    cancelled = Cancelled("stop")
    assert _torch.generation_failure(cancelled, "p") is cancelled
    wrapped = _torch.generation_failure(RuntimeError("boom"), "p")
    assert isinstance(wrapped, ProviderError) and "boom" in wrapped.message
