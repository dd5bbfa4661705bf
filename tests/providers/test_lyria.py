"""The lyria adapter against a local Vertex AI predict emulator, with an injected token."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from emulators.lyria import LyriaEmulator
from emulators.server import serve

from songforge.errors import ContentRefused, ProviderError, ProviderUnavailable
from songforge.progress import Progress
from songforge.providers.base import ClipRequest, PriceKind, Provider
from songforge.providers.http import make_client
from songforge.providers.lyria import INSTALL_HINT, LyriaProvider, from_settings
from songforge.settings import Settings

HTTP_OK = ("127.0.0.1",)
CLIENT = make_client()


@pytest.fixture(scope="module")
def served() -> Iterator[LyriaEmulator]:
    emulator = LyriaEmulator()
    with serve(emulator.app()) as url:
        emulator.base_url = url
        yield emulator


@pytest.fixture
def emu(served: LyriaEmulator) -> LyriaEmulator:
    served.reset()
    return served


def adapter(emu: LyriaEmulator, **options: Any) -> LyriaProvider:
    options.setdefault("http_hosts", HTTP_OK)
    options.setdefault("client", CLIENT)
    options.setdefault("token_provider", lambda: emu.token)
    return LyriaProvider(emu.project, base_url=emu.base_url, **options)


def ignore(_: Progress) -> None:
    pass


def request(**fields: Any) -> ClipRequest:
    fields.setdefault("prompt", "cinematic strings, slow build, 80 bpm")
    fields.setdefault("duration_s", 2.5)
    return ClipRequest(**fields)


def test_a_prompt_is_one_predict_call_and_the_clip_is_cut_to_the_asked_length(
    emu: LyriaEmulator,
) -> None:
    provider = adapter(emu)
    clip = provider.generate_clip(request(negative_prompt="vocals, drums"), ignore)
    assert emu.paths == [
        "/v1/projects/songforge-tests/locations/us-central1/publishers/google/models/"
        "lyria-002:predict"
    ]
    assert emu.bodies == [
        {
            "instances": [
                {
                    "prompt": "cinematic strings, slow build, 80 bpm",
                    "negative_prompt": "vocals, drums",
                }
            ],
            "parameters": {"sample_count": 1},
        }
    ]
    assert clip.provider == "lyria" and clip.sample_rate_hz == 48000
    assert clip.audio.shape == (2, round(2.5 * 48000))
    assert np.abs(clip.audio[:, -10:]).max() < 0.05  # faded out at the cut
    assert clip.info["generated_s"] == pytest.approx(4.0)
    assert clip.cost_usd == pytest.approx(0.06)
    assert isinstance(provider, Provider)


def test_a_longer_request_gets_the_whole_fixed_length_clip(emu: LyriaEmulator) -> None:
    clip = adapter(emu).generate_clip(request(duration_s=6.0), ignore)
    assert clip.audio.shape[1] == 4 * 48000


def test_a_seed_is_sent_without_sample_count(emu: LyriaEmulator) -> None:
    adapter(emu).generate_clip(request(seed=2**32 + 3), ignore)
    body = emu.bodies[0]
    assert body["instances"][0]["seed"] == 3
    assert body["parameters"] == {}


def test_a_prompt_blocked_by_safety_filters_is_content_refused(emu: LyriaEmulator) -> None:
    with pytest.raises(ContentRefused) as caught:
        adapter(emu).generate_clip(request(prompt="forbidden-word march"), ignore)
    assert caught.value.retryable is False and "safety" in caught.value.message


def test_no_predictions_at_all_is_content_refused(emu: LyriaEmulator) -> None:
    emu.empty_next = 1
    with pytest.raises(ContentRefused, match="filtered"):
        adapter(emu).generate_clip(request(), ignore)


def test_an_exhausted_quota_is_retryable(emu: LyriaEmulator) -> None:
    emu.quota_next = 1
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), ignore)
    assert caught.value.status == 429 and caught.value.retryable is True
    assert "Quota exceeded" in caught.value.message


def test_the_token_is_a_bearer_header_and_never_appears_in_errors_or_logs(
    emu: LyriaEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    stale = "ya29.STALE-" + "x" * 40
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        adapter(emu, token_provider=lambda: stale).generate_clip(request(), ignore)
    assert caught.value.status == 401 and caught.value.retryable is False
    assert stale not in str(caught.value) and stale not in caplog.text


def test_failing_credentials_make_it_unavailable_with_the_fix(emu: LyriaEmulator) -> None:
    def broken() -> str:
        raise RuntimeError("could not find default credentials")

    provider = adapter(emu, token_provider=broken)
    with pytest.raises(ProviderUnavailable, match="application-default login"):
        provider.generate_clip(request(), ignore)
    assert provider.health().ok is False
    assert emu.paths == []


def test_without_google_auth_it_is_unavailable_with_an_install_hint(
    emu: LyriaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)  # as if google-auth were absent
    monkeypatch.setitem(sys.modules, "google.auth.transport.requests", None)
    provider = LyriaProvider(emu.project, base_url=emu.base_url, http_hosts=HTTP_OK, client=CLIENT)
    assert provider.configured() is False
    with pytest.raises(ProviderUnavailable) as caught:
        provider.generate_clip(request(), ignore)
    assert INSTALL_HINT in caught.value.message


def test_without_a_project_it_is_unconfigured() -> None:
    provider = LyriaProvider(None, token_provider=lambda: "t", client=CLIENT)
    assert provider.configured() is False
    with pytest.raises(ProviderUnavailable, match="SONGFORGE_LYRIA_PROJECT"):
        provider.generate_clip(request(), ignore)


def test_capabilities_are_a_fixed_30_s_instrumental_at_48_khz() -> None:
    caps = LyriaProvider("p", token_provider=lambda: "t", client=CLIENT).capabilities
    assert caps.max_clip_s == 30 and caps.vocals is False and caps.continuation is False
    assert caps.sample_rate_hz == 48000 and caps.mode == "sync"
    assert caps.price.kind is PriceKind.PER_REQUEST and "estimate" in caps.price.notes


def test_from_settings_builds_the_regional_endpoint() -> None:
    provider = from_settings(Settings(lyria_project="p1", lyria_location="europe-west4"))
    assert provider.base_url == "https://europe-west4-aiplatform.googleapis.com"
    assert provider.project == "p1"
