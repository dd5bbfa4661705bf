"""The stable-audio adapter against the local Stability AI emulator."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from emulators.server import serve
from emulators.stability import StabilityEmulator

from songforge.errors import ContentRefused, ProviderError, ProviderUnavailable
from songforge.progress import Progress
from songforge.providers.base import ClipRequest, PriceKind, Provider
from songforge.providers.http import make_client
from songforge.providers.stable_audio import StableAudioProvider, from_settings
from songforge.settings import Settings

HTTP_OK = ("127.0.0.1",)
CLIENT = make_client()


@pytest.fixture(scope="module")
def served() -> Iterator[StabilityEmulator]:
    emulator = StabilityEmulator()
    with serve(emulator.app()) as url:
        emulator.base_url = url
        yield emulator


@pytest.fixture
def emu(served: StabilityEmulator) -> StabilityEmulator:
    served.reset()
    return served


def adapter(emu: StabilityEmulator, **options: Any) -> StableAudioProvider:
    options.setdefault("http_hosts", HTTP_OK)
    options.setdefault("client", CLIENT)
    return StableAudioProvider(emu.key, base_url=emu.base_url, **options)


def ignore(_: Progress) -> None:
    pass


def request(**fields: Any) -> ClipRequest:
    fields.setdefault("prompt", "ambient pads, slow evolving, 70 bpm")
    fields.setdefault("duration_s", 2.0)
    return ClipRequest(**fields)


def test_a_clip_is_one_multipart_call_answered_with_raw_audio(emu: StabilityEmulator) -> None:
    provider = adapter(emu)
    clip = provider.generate_clip(request(seed=42), ignore)
    (headers,) = emu.headers
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert headers["accept"] == "audio/*"
    assert emu.forms == [
        {
            "prompt": "ambient pads, slow evolving, 70 bpm",
            "model": "stable-audio-2.5",
            "duration": "2",
            "output_format": "wav",
            "seed": "42",
        }
    ]
    assert clip.provider == "stable-audio"
    assert clip.sample_rate_hz == 44100
    assert clip.audio.shape == (2, 2 * 44100) and clip.audio.dtype == np.float32
    assert clip.cost_usd == pytest.approx(0.20)
    assert clip.info["seed"] == 42 and clip.info["finish_reason"] == "SUCCESS"
    assert emu.credits == 1000 - 20
    assert isinstance(provider, Provider)


def test_mp3_output_decodes(emu: StabilityEmulator) -> None:
    clip = adapter(emu, output_format="mp3").generate_clip(request(), ignore)
    assert clip.audio.shape[0] == 2
    assert clip.audio.shape[1] >= 2 * 44100
    assert np.abs(clip.audio).max() <= 1.0


def test_duration_is_rounded_up_and_clamped_to_1_to_190_s(emu: StabilityEmulator) -> None:
    provider = adapter(emu)
    provider.generate_clip(request(duration_s=0.3), ignore)
    provider.generate_clip(request(duration_s=1.2), ignore)
    assert [form["duration"] for form in emu.forms] == ["1", "2"]
    emu.forms.clear()
    emu.render_s = 1.0
    with pytest.raises(ProviderError, match=r"1\.0 s of audio for a 190\.0 s request"):
        adapter(emu).generate_clip(request(duration_s=600.0), ignore)
    assert emu.forms[0]["duration"] == "190"


def test_the_seed_is_folded_into_the_apis_range(emu: StabilityEmulator) -> None:
    adapter(emu).generate_clip(request(seed=4294967295 + 5), ignore)
    assert emu.forms[0]["seed"] == "5"


def test_configured_steps_and_cfg_scale_are_sent(emu: StabilityEmulator) -> None:
    adapter(emu, steps=6, cfg_scale=7.5).generate_clip(request(), ignore)
    assert emu.forms[0]["steps"] == "6" and emu.forms[0]["cfg_scale"] == "7.5"


def test_stable_audios_moderation_refusal_is_content_refused(emu: StabilityEmulator) -> None:
    with pytest.raises(ContentRefused) as caught:
        adapter(emu).generate_clip(request(prompt="a song about forbidden-word"), ignore)
    assert caught.value.retryable is False
    assert caught.value.status == 403
    assert "content moderation" in caught.value.message
    assert emu.credits == 1000  # refused requests are not charged


def test_an_output_filtered_after_generation_is_content_refused(emu: StabilityEmulator) -> None:
    emu.filter_next = 1
    with pytest.raises(ContentRefused):
        adapter(emu).generate_clip(request(), ignore)


def test_out_of_credits_is_not_retryable_and_says_so(emu: StabilityEmulator) -> None:
    emu.credits = 10
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert not isinstance(caught.value, ContentRefused)
    assert caught.value.retryable is False and caught.value.status == 402
    assert "out of credits" in caught.value.message


def test_a_rate_limit_is_retryable_after_the_10_s_window(emu: StabilityEmulator) -> None:
    emu.rate_limit_next = 1
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert caught.value.retryable is True and caught.value.status == 429
    assert caught.value.retry_after_s == 10.0


def test_a_rate_limit_with_retry_after_is_honoured(emu: StabilityEmulator) -> None:
    emu.rate_limit_next = 1
    emu.retry_after = "3"
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert caught.value.retry_after_s == 3.0


def test_a_server_error_is_retryable(emu: StabilityEmulator) -> None:
    emu.fail_next = 1
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert caught.value.retryable is True and caught.value.status == 500
    assert adapter(emu).generate_clip(request(), ignore).audio.size > 0


def test_a_rejected_field_is_a_clear_non_retryable_error(emu: StabilityEmulator) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(emu, steps=50).generate_clip(request(), ignore)
    assert caught.value.retryable is False and caught.value.status == 400
    assert "steps: must be between 4 and 8" in caught.value.message


def test_an_answer_over_the_size_cap_is_refused(emu: StabilityEmulator) -> None:
    with pytest.raises(ProviderError, match="download cap"):
        adapter(emu, max_download_bytes=50_000).generate_clip(request(), ignore)


def test_the_key_never_appears_in_an_error_message_or_log(
    emu: StabilityEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.echo_key_in_errors = True
    wrong = "sk-" + "Z" * 40
    provider = StableAudioProvider(wrong, base_url=emu.base_url, http_hosts=HTTP_OK, client=CLIENT)
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        provider.generate_clip(request(), ignore)
    assert caught.value.status == 401 and caught.value.retryable is False
    assert wrong not in str(caught.value) and wrong not in caplog.text
    assert wrong not in provider.health().detail


def test_health_reports_the_credit_balance(emu: StabilityEmulator) -> None:
    health = adapter(emu).health()
    assert health.ok and "1000" in health.detail


def test_without_a_key_it_is_unavailable_and_sends_nothing(emu: StabilityEmulator) -> None:
    provider = StableAudioProvider(None, base_url=emu.base_url, http_hosts=HTTP_OK, client=CLIENT)
    assert provider.configured() is False
    with pytest.raises(ProviderUnavailable, match="STABILITY_API_KEY"):
        provider.generate_clip(request(), ignore)
    assert not emu.headers


def test_capabilities_declare_a_flat_estimated_price_per_generation() -> None:
    caps = StableAudioProvider("sk-x", client=CLIENT).capabilities
    assert caps.max_clip_s == 190 and caps.min_clip_s == 1
    assert caps.mode == "sync" and caps.continuation is False and caps.vocals is False
    assert caps.price.kind is PriceKind.PER_REQUEST and caps.price.usd == pytest.approx(0.20)
    assert "estimate" in caps.price.notes
    assert caps.price.estimate_usd(180.0) == pytest.approx(0.20)


def test_from_settings_reads_stability_api_key(
    monkeypatch: pytest.MonkeyPatch, emu: StabilityEmulator
) -> None:
    monkeypatch.setenv("STABILITY_API_KEY", emu.key)
    monkeypatch.setenv("SONGFORGE_STABILITY_BASE_URL", emu.base_url)
    monkeypatch.setenv("SONGFORGE_PROVIDER_FETCH_ALLOW_HTTP", "127.0.0.1")
    provider = from_settings(Settings())
    assert provider.generate_clip(request(), ignore).provider == "stable-audio"
