"""The suno adapter against local emulators of both gateway shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from emulators.receiver import receiver_app
from emulators.server import serve
from emulators.suno import SunoEmulator

from songforge.errors import ContentRefused, ProviderError, ProviderUnavailable
from songforge.progress import Progress
from songforge.providers.base import ClipRequest, PriceKind, Provider
from songforge.providers.http import make_client
from songforge.providers.inbound import EventWaiter, InboundWebhooks, MemorySeenIds
from songforge.providers.suno import SunoProvider, from_settings
from songforge.settings import Settings

HTTP_OK = ("127.0.0.1",)
CLIENT = make_client()
LYRICS = "[Verse]\nNeon rain on an empty street\n[Chorus]\nWe run, we run"


@pytest.fixture(scope="module")
def served_api() -> Iterator[SunoEmulator]:
    emulator = SunoEmulator(shape="suno-api")
    with serve(emulator.app()) as url:
        emulator.base_url = url
        yield emulator


@pytest.fixture(scope="module")
def served_hosted() -> Iterator[SunoEmulator]:
    emulator = SunoEmulator(shape="hosted")
    with serve(emulator.app()) as url:
        emulator.base_url = url
        yield emulator


@pytest.fixture
def api(served_api: SunoEmulator) -> SunoEmulator:
    served_api.reset()
    return served_api


@pytest.fixture
def hosted(served_hosted: SunoEmulator) -> SunoEmulator:
    served_hosted.reset()
    return served_hosted


class Receiver:
    def __init__(self, url: str, waiter: EventWaiter) -> None:
        self.url = url
        self.waiter = waiter


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    waiter = EventWaiter()
    with serve(receiver_app(InboundWebhooks(seen=MemorySeenIds(), waiter=waiter))) as url:
        yield Receiver(url, waiter)


def adapter(emu: SunoEmulator, **options: Any) -> SunoProvider:
    options.setdefault("http_hosts", HTTP_OK)
    options.setdefault("client", CLIENT)
    options.setdefault("poll_s", 0.01)
    options.setdefault("waiter", EventWaiter())
    if emu.shape == "hosted":
        options.setdefault("api_key", emu.key)
    return SunoProvider(emu.base_url, shape=emu.shape, **options)


def ignore(_: Progress) -> None:
    pass


def request(**fields: Any) -> ClipRequest:
    fields.setdefault("prompt", "synthwave, driving, 110 bpm, female vocals")
    fields.setdefault("duration_s", 3.0)
    return ClipRequest(**fields)


# --- the open-source suno-api shape ----------------------------------------------------------


def test_a_description_is_generated_and_its_first_clip_polled_to_complete(
    api: SunoEmulator,
) -> None:
    provider = adapter(api)
    clip = provider.generate_clip(request(instrumental=True), ignore)
    path, body = api.bodies[0]
    assert path == "/api/generate"
    assert body == {
        "prompt": "synthwave, driving, 110 bpm, female vocals",
        "make_instrumental": True,
        "model": "chirp-v3-5",
        "wait_audio": False,
    }
    assert clip.provider == "suno" and clip.info["shape"] == "suno-api"
    assert clip.info["clip_id"] in api.clips
    assert clip.audio.shape[0] == 2 and clip.sample_rate_hz == 44100
    assert clip.info["duration_s"] == pytest.approx(3.0, abs=0.1)
    assert clip.cost_usd == pytest.approx(0.06)
    assert isinstance(provider, Provider)


def test_suno_streaming_status_is_not_final(api: SunoEmulator) -> None:
    clip = adapter(api).generate_clip(request(), ignore)
    reads = api.requests.count(("GET", "/api/get"))
    assert reads == 3  # submitted → queued → streaming → complete
    assert api.fetched() == [f"/cdn/{clip.info['clip_id']}.mp3"]  # never the live stream


def test_lyrics_select_custom_mode_and_are_sung(api: SunoEmulator) -> None:
    clip = adapter(api).generate_clip(
        request(lyrics=LYRICS, instrumental=True, genre="synthwave", negative_prompt="metal"),
        ignore,
    )
    path, body = api.bodies[0]
    assert path == "/api/custom_generate"
    assert body == {
        "prompt": LYRICS,
        "tags": "synthwave, driving, 110 bpm, female vocals",
        "title": "Synthwave",
        "make_instrumental": False,
        "model": "chirp-v3-5",
        "wait_audio": False,
        "negative_tags": "metal",
    }
    assert clip.info["lyrics"] == LYRICS


def test_a_clip_refused_for_sensitive_words_is_content_refused(api: SunoEmulator) -> None:
    with pytest.raises(ContentRefused) as caught:
        adapter(api).generate_clip(request(lyrics="forbidden-word all night"), ignore)
    assert caught.value.retryable is False
    assert "sensitive" in caught.value.message


def test_out_of_credits_is_not_retryable(api: SunoEmulator) -> None:
    api.credits = 0
    with pytest.raises(ProviderError) as caught:
        adapter(api).generate_clip(request(), ignore)
    assert caught.value.status == 402 and caught.value.retryable is False
    assert "credits" in caught.value.message


def test_an_unreachable_upstream_is_retryable(api: SunoEmulator) -> None:
    api.upstream_down = True
    with pytest.raises(ProviderError) as caught:
        adapter(api).generate_clip(request(), ignore)
    assert caught.value.status == 503 and caught.value.retryable is True
    assert "unreachable" in caught.value.message


def test_extend_continues_one_of_its_own_clips(api: SunoEmulator) -> None:
    provider = adapter(api)
    first = provider.generate_clip(request(lyrics=LYRICS), ignore)
    provider.generate_clip(
        request(lyrics="[Bridge]\nHold on", extend_clip_id=first.info["clip_id"], extend_at_s=2.5),
        ignore,
    )
    path, body = api.bodies[1]
    assert path == "/api/extend_audio"
    assert body["audio_id"] == first.info["clip_id"]
    assert body["continue_at"] == 2.5
    assert body["prompt"] == "[Bridge]\nHold on"


def test_a_timeout_is_retryable(api: SunoEmulator) -> None:
    api.advance_on_read = False
    with pytest.raises(ProviderError) as caught:
        adapter(api, timeout_s=0.1).generate_clip(request(), ignore)
    assert caught.value.retryable is True and "did not finish" in caught.value.message


def test_audio_from_a_host_other_than_the_gateways_or_sunos_is_refused(api: SunoEmulator) -> None:
    api.cdn_url = "https://cdn.evil.example.com"
    with pytest.raises(ProviderError, match="refusing to download"):
        adapter(api).generate_clip(request(), ignore)
    assert api.fetched() == []


def test_health_reports_credits_left(api: SunoEmulator) -> None:
    health = adapter(api).health()
    assert health.ok and "100 credits" in health.detail


def test_an_unconfigured_gateway_is_unavailable() -> None:
    provider = SunoProvider(None, client=CLIENT)
    assert provider.configured() is False
    with pytest.raises(ProviderUnavailable, match="SONGFORGE_SUNO_BASE_URL"):
        provider.generate_clip(request(), ignore)
    assert (
        SunoProvider("https://gw.example.com", shape="hosted", client=CLIENT).configured() is False
    )


def test_capabilities_declare_vocals_lyrics_and_an_estimated_price() -> None:
    caps = SunoProvider("http://localhost:3000", client=CLIENT).capabilities
    assert caps.vocals and caps.lyrics and caps.continuation is False
    assert caps.max_clip_s == 240 and caps.mode == "async" and caps.webhooks is False
    assert caps.price.kind is PriceKind.PER_REQUEST and "estimate" in caps.price.notes
    long = SunoProvider("https://gw.example.com", shape="hosted", api_key="k", client=CLIENT)
    assert long.capabilities.max_clip_s == 480  # V4_5


# --- the hosted shape ------------------------------------------------------------------------


def test_a_hosted_task_is_polled_through_record_info_to_its_first_track(
    hosted: SunoEmulator,
) -> None:
    clip = adapter(hosted).generate_clip(request(), ignore)
    path, body = hosted.bodies[0]
    assert path == "/api/v1/generate"
    assert body == {
        "model": "V4_5",
        "customMode": False,
        "instrumental": True,
        "prompt": "synthwave, driving, 110 bpm, female vocals",
    }
    (task_id,) = hosted.tasks
    assert clip.info["task_id"] == task_id
    assert clip.info["clip_id"] == hosted.tasks[task_id]["tracks"][0]
    # PENDING → TEXT_SUCCESS → FIRST_SUCCESS: the first track is complete, no need for both
    assert hosted.requests.count(("GET", "/api/v1/generate/record-info")) == 2
    assert hosted.fetched() == [f"/cdn/{clip.info['clip_id']}.mp3"]


def test_hosted_custom_mode_carries_lyrics_style_and_title(hosted: SunoEmulator) -> None:
    adapter(hosted).generate_clip(request(lyrics=LYRICS, section="chorus 2"), ignore)
    _, body = hosted.bodies[0]
    assert body["customMode"] is True and body["instrumental"] is False
    assert body["prompt"] == LYRICS
    assert body["style"] == "synthwave, driving, 110 bpm, female vocals"
    assert body["title"] == "Chorus 2"


def test_a_long_description_is_cut_to_500_characters_at_a_word(hosted: SunoEmulator) -> None:
    words = " ".join(["shimmering"] * 80)  # 879 characters
    adapter(hosted).generate_clip(request(prompt=words), ignore)
    _, body = hosted.bodies[0]
    assert len(body["prompt"]) <= 500 and body["prompt"].endswith("shimmering")


def test_a_sensitive_word_error_is_content_refused(hosted: SunoEmulator) -> None:
    with pytest.raises(ContentRefused) as caught:
        adapter(hosted).generate_clip(request(prompt="forbidden-word anthem"), ignore)
    assert caught.value.retryable is False
    assert "moderation" in caught.value.message


def test_envelope_429_means_out_of_credits_and_430_the_rate_limit(hosted: SunoEmulator) -> None:
    hosted.envelope_code_next = 429
    with pytest.raises(ProviderError) as credits:
        adapter(hosted).generate_clip(request(), ignore)
    assert credits.value.retryable is False and "out of credits" in credits.value.message
    hosted.envelope_code_next = 430
    with pytest.raises(ProviderError) as rate:
        adapter(hosted).generate_clip(request(), ignore)
    assert rate.value.retryable is True and rate.value.retry_after_s == 5.0


def test_a_rejected_hosted_key_is_not_retryable_and_not_echoed(hosted: SunoEmulator) -> None:
    wrong = "sk-suno-" + "Q" * 32
    with pytest.raises(ProviderError) as caught:
        adapter(hosted, api_key=wrong).generate_clip(request(), ignore)
    assert caught.value.status == 401 and caught.value.retryable is False
    assert wrong not in str(caught.value)


def test_a_hosted_gateway_key_is_never_sent_over_plain_http_by_default(
    hosted: SunoEmulator,
) -> None:
    with pytest.raises(ProviderError, match="must be https"):
        SunoProvider(hosted.base_url, shape="hosted", api_key=hosted.key, client=CLIENT)


def test_hosted_extend_passes_audio_id_and_continue_at(hosted: SunoEmulator) -> None:
    adapter(hosted).generate_clip(request(extend_clip_id="abc123", extend_at_s=61.0), ignore)
    path, body = hosted.bodies[0]
    assert path == "/api/v1/generate/extend"
    assert body["audioId"] == "abc123" and body["continueAt"] == 61.0
    assert body["defaultParamFlag"] is True


def test_a_callback_only_triggers_a_confirming_poll(
    hosted: SunoEmulator, receiver: Receiver
) -> None:
    hosted.advance_on_read = False
    provider = adapter(
        hosted,
        public_base_url=receiver.url,
        waiter=receiver.waiter,
        poll_s=60.0,
        min_poll_gap_s=0.01,
    )
    with ThreadPoolExecutor(1) as pool:
        future: Future[Any] = pool.submit(provider.generate_clip, request(), ignore)
        deadline = time.monotonic() + 10
        while not hosted.tasks:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        (task_id,) = hosted.tasks
        assert hosted.bodies[0][1]["callBackUrl"] == f"{receiver.url}/v1/providers/suno/webhook"
        # an unverifiable callback claiming success with foreign audio changes nothing
        reads = hosted.requests.count(("GET", "/api/v1/generate/record-info"))
        assert hosted.callback(task_id, audio_url="https://evil.example.com/x.mp3") == 200
        deadline = time.monotonic() + 10
        while hosted.requests.count(("GET", "/api/v1/generate/record-info")) == reads:
            assert time.monotonic() < deadline, "the hint did not trigger a poll"
            time.sleep(0.005)
        assert not future.done()
        hosted.finish(task_id)
        assert hosted.callback(task_id) == 200
        clip = future.result(timeout=10)
    assert clip.info["task_id"] == task_id
    assert provider.capabilities.webhooks is True
    assert all("evil" not in path for path in hosted.fetched())


def test_from_settings_builds_the_hosted_shape(
    monkeypatch: pytest.MonkeyPatch, hosted: SunoEmulator
) -> None:
    monkeypatch.setenv("SONGFORGE_SUNO_SHAPE", "hosted")
    monkeypatch.setenv("SONGFORGE_SUNO_BASE_URL", hosted.base_url)
    monkeypatch.setenv("SUNO_API_KEY", hosted.key)
    monkeypatch.setenv("SONGFORGE_SUNO_POLL_S", "0.01")
    monkeypatch.setenv("SONGFORGE_PROVIDER_FETCH_ALLOW_HTTP", "127.0.0.1")
    provider = from_settings(Settings(), waiter=EventWaiter())
    assert provider.shape == "hosted" and provider.configured()
    assert provider.generate_clip(request(), ignore).provider == "suno"
    assert "credits left" in provider.health().detail
