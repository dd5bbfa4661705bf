"""The ace-step adapter against a local ACE-Step 1.5 API server emulator."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from emulators.ace_step import AceStepEmulator
from emulators.audio import tone
from emulators.server import serve

from songforge.errors import ProviderError, ProviderUnavailable
from songforge.progress import Progress
from songforge.providers.ace_step import AceStepProvider, _key_scale, from_settings
from songforge.providers.base import AudioPrompt, ClipRequest, PriceKind, Provider
from songforge.providers.http import make_client
from songforge.settings import Settings

CLIENT = make_client()


@pytest.fixture(scope="module")
def served() -> Iterator[AceStepEmulator]:
    emulator = AceStepEmulator()
    with serve(emulator.app()) as url:
        emulator.base_url = url
        yield emulator


@pytest.fixture
def emu(served: AceStepEmulator) -> AceStepEmulator:
    served.reset()
    return served


def adapter(emu: AceStepEmulator, **options: Any) -> AceStepProvider:
    options.setdefault("client", CLIENT)
    options.setdefault("poll_s", 0.01)
    return AceStepProvider(emu.base_url, **options)


def ignore(_: Progress) -> None:
    pass


def request(**fields: Any) -> ClipRequest:
    fields.setdefault("prompt", "indie rock, jangly guitars, warm male vocals")
    fields.setdefault("duration_s", 10.0)
    return ClipRequest(**fields)


def test_a_task_is_released_with_the_musical_controls_polled_and_its_file_fetched(
    emu: AceStepEmulator,
) -> None:
    provider = adapter(emu, model="acestep-v15-turbo", inference_steps=8)
    clip = provider.generate_clip(
        request(
            lyrics="[Verse]\nSummer in the city",
            tempo_bpm=128.4,
            key="F# minor",
            time_signature="6/8",
            seed=99,
        ),
        ignore,
    )
    (released,) = emu.releases
    assert released == {
        "prompt": "indie rock, jangly guitars, warm male vocals",
        "lyrics": "[Verse]\nSummer in the city",
        "audio_duration": 10.0,
        "batch_size": 1,
        "audio_format": "flac",
        "task_type": "text2music",
        "thinking": False,
        "bpm": 128,
        "key_scale": "F# Minor",
        "time_signature": "6",
        "seed": 99,
        "use_random_seed": False,
        "model": "acestep-v15-turbo",
        "inference_steps": 8,
        "src_audio": False,
    }
    assert emu.requests.count(("POST", "/query_result")) == 2
    assert ("GET", "/v1/audio") in emu.requests
    assert clip.provider == "ace-step" and clip.sample_rate_hz == 48000
    assert clip.audio.shape == (2, 10 * 48000) and clip.audio.dtype == np.float32
    assert clip.cost_usd == 0.0
    assert clip.info["seed"] == "99" and clip.info["metas"]["keyscale"] == "F# Minor"
    assert isinstance(provider, Provider)


def test_instrumentals_say_so_in_the_lyrics(emu: AceStepEmulator) -> None:
    adapter(emu).generate_clip(request(instrumental=True), ignore)
    assert emu.releases[0]["lyrics"] == "[Instrumental]"


def test_durations_and_tempi_are_clamped_to_the_servers_ranges(emu: AceStepEmulator) -> None:
    adapter(emu).generate_clip(request(duration_s=4.0, tempo_bpm=400), ignore)
    assert emu.releases[0]["audio_duration"] == 10.0
    assert emu.releases[0]["bpm"] == 300


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_other_result_formats_decode(emu: AceStepEmulator, fmt: str) -> None:
    clip = adapter(emu, audio_format=fmt).generate_clip(request(), ignore)
    assert emu.releases[0]["audio_format"] == fmt
    assert clip.audio.shape[1] >= 10 * 48000


def test_continuation_repaints_the_padded_prompt_and_the_clip_starts_with_it(
    emu: AceStepEmulator,
) -> None:
    prompt = tone(2.0, 48000, hz=220.0)
    clip = adapter(emu).generate_clip(
        request(duration_s=10.0, continuation=AudioPrompt(prompt, 48000)), ignore
    )
    (released,) = emu.releases
    assert released["task_type"] == "repaint" and released["src_audio"] is True
    assert released["repainting_start"] == 2.0 and released["repainting_end"] == -1
    assert released["audio_duration"] == 12.0
    assert clip.includes_prompt_audio is True
    head = clip.audio[:, : 2 * 48000]
    assert np.allclose(head, prompt, atol=2e-3)  # FLAC is 16-bit


def test_a_failed_task_carries_the_servers_error(emu: AceStepEmulator) -> None:
    emu.fail_with = "CUDA out of memory"
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert "CUDA out of memory" in caught.value.message
    assert caught.value.retryable is False


def test_a_full_queue_is_retryable(emu: AceStepEmulator) -> None:
    emu.queue_full = True
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert caught.value.status == 429 and caught.value.retryable is True
    assert "queue is full" in caught.value.message


def test_a_task_that_never_finishes_times_out_retryably(emu: AceStepEmulator) -> None:
    emu.steps_to_finish = 10**6
    with pytest.raises(ProviderError) as caught:
        adapter(emu, timeout_s=0.1).generate_clip(request(), ignore)
    assert caught.value.retryable is True


def test_a_result_file_on_another_host_is_refused(emu: AceStepEmulator) -> None:
    emu.file_override = "https://evil.example.com/v1/audio?path=/etc/passwd"
    with pytest.raises(ProviderError, match="refusing to download"):
        adapter(emu).generate_clip(request(), ignore)
    assert ("GET", "/v1/audio") not in emu.requests


def test_the_api_key_is_sent_and_a_wrong_one_is_neither_retried_nor_echoed(
    emu: AceStepEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.api_key = "ace-key-0123456789"
    assert adapter(emu, api_key="ace-key-0123456789").generate_clip(request(), ignore)
    wrong = "ace-key-WRONGWRONGWRONG"
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        adapter(emu, api_key=wrong).generate_clip(request(), ignore)
    assert caught.value.status == 401 and caught.value.retryable is False
    assert wrong not in str(caught.value) and wrong not in caplog.text


def test_health_asks_the_server(emu: AceStepEmulator) -> None:
    assert adapter(emu).health().ok is True


def test_without_a_server_url_it_is_unavailable() -> None:
    provider = AceStepProvider(None, client=CLIENT)
    assert provider.configured() is False
    with pytest.raises(ProviderUnavailable, match="SONGFORGE_ACE_STEP_BASE_URL"):
        provider.generate_clip(request(), ignore)


def test_capabilities_are_those_of_a_free_self_hosted_song_model() -> None:
    caps = AceStepProvider("http://gpu-box:8001", client=CLIENT).capabilities
    assert caps.max_clip_s == 600 and caps.min_clip_s == 10
    assert caps.vocals and caps.lyrics and caps.continuation
    assert caps.sample_rate_hz == 48000 and caps.mode == "async"
    assert caps.price.kind is PriceKind.FREE


@pytest.mark.parametrize(
    ("key", "spelled"),
    [
        ("E minor", "E Minor"),
        ("Em", "E Minor"),
        ("bb major", "Bb Major"),
        ("C", "C Major"),
        ("F#m", "F# Minor"),
        ("H dorian", None),
        (None, None),
    ],
)
def test_keys_are_spelled_the_way_ace_step_writes_them(
    key: str | None, spelled: str | None
) -> None:
    assert _key_scale(key) == spelled


def test_from_settings_reads_the_server_url_and_acestep_api_key(
    monkeypatch: pytest.MonkeyPatch, emu: AceStepEmulator
) -> None:
    emu.api_key = "ace-key-from-env-123"
    monkeypatch.setenv("SONGFORGE_ACE_STEP_BASE_URL", emu.base_url)
    monkeypatch.setenv("ACESTEP_API_KEY", "ace-key-from-env-123")
    monkeypatch.setenv("SONGFORGE_ACE_STEP_POLL_S", "0.01")
    provider = from_settings(Settings())
    assert provider.generate_clip(request(), ignore).provider == "ace-step"
