"""The replicate adapter against the local Replicate emulator."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from emulators.audio import tone
from emulators.receiver import receiver_app
from emulators.replicate import MUSICGEN_VERSION, OTHER_VERSION, ReplicateEmulator
from emulators.server import serve

from songforge.errors import Cancelled, ContentRefused, ProviderError, ProviderUnavailable
from songforge.progress import Progress
from songforge.providers.base import AudioPrompt, ClipRequest, PriceKind, Provider
from songforge.providers.http import make_client
from songforge.providers.inbound import (
    EventWaiter,
    InboundWebhooks,
    MemorySeenIds,
    SqliteEventWaiter,
)
from songforge.providers.replicate import ReplicateProvider, from_settings
from songforge.settings import Settings

HTTP_OK = ("127.0.0.1",)
CLIENT = make_client()  # one pool for the module: building clients (TLS contexts) is slow


@pytest.fixture(scope="module")
def served() -> Iterator[ReplicateEmulator]:
    emulator = ReplicateEmulator()
    with serve(emulator.app()) as url:
        emulator.base_url = url
        yield emulator


@pytest.fixture
def emu(served: ReplicateEmulator) -> ReplicateEmulator:
    served.reset()
    return served


class Receiver:
    def __init__(self, url: str, waiter: EventWaiter, inbound: InboundWebhooks) -> None:
        self.url = url
        self.waiter = waiter
        self.inbound = inbound


@pytest.fixture(scope="module")
def receiver(served: ReplicateEmulator) -> Iterator[Receiver]:
    waiter = EventWaiter()
    inbound = InboundWebhooks(seen=MemorySeenIds(), waiter=waiter, replicate_secret=served.secret)
    with serve(receiver_app(inbound)) as url:
        yield Receiver(url, waiter, inbound)


def adapter(emu: ReplicateEmulator, **options: Any) -> ReplicateProvider:
    options.setdefault("poll_s", 0.01)
    options.setdefault("http_hosts", HTTP_OK)
    options.setdefault("waiter", EventWaiter())
    options.setdefault("client", CLIENT)
    return ReplicateProvider(emu.token, base_url=emu.api, **options)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Progress] = []

    def __call__(self, progress: Progress) -> None:
        self.seen.append(progress)


def request(**fields: Any) -> ClipRequest:
    fields.setdefault("prompt", "warm synthwave, 100 bpm")
    fields.setdefault("duration_s", 2.0)
    return ClipRequest(**fields)


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_a_musicgen_prediction_is_created_polled_to_success_and_its_audio_fetched(
    emu: ReplicateEmulator,
) -> None:
    provider = adapter(emu)
    progress = Recorder()
    clip = provider.generate_clip(request(seed=7), progress)

    assert emu.requests[0] == ("GET", "/v1/models/meta/musicgen")
    body = emu.creates[0]
    assert body["version"] == MUSICGEN_VERSION
    assert body["input"] == {
        "prompt": "warm synthwave, 100 bpm",
        "model_version": "stereo-melody-large",
        "output_format": "wav",
        "duration": 2,
        "seed": 7,
    }
    assert "webhook" not in body
    headers = emu.create_headers[0]
    assert headers["prefer"] == "wait=60"
    assert headers["cancel-after"] == "900s"
    pid = clip.info["prediction_id"]
    assert emu.reads_of(pid) == 2
    assert clip.provider == "replicate"
    assert clip.sample_rate_hz == 32000
    assert clip.audio.dtype == np.float32
    assert clip.audio.shape == (2, 64000)
    assert np.isfinite(clip.audio).all() and np.abs(clip.audio).max() <= 1.0
    assert clip.cost_usd == pytest.approx(4.2 * 0.000975)
    assert clip.info["predict_time_s"] == 4.2
    assert clip.includes_prompt_audio is False
    assert progress.seen[-1] == Progress("replicate:done", 100, 100)
    assert isinstance(provider, Provider)


def test_the_model_version_is_resolved_once_per_adapter(emu: ReplicateEmulator) -> None:
    provider = adapter(emu)
    provider.generate_clip(request(), Recorder())
    provider.generate_clip(request(), Recorder())
    assert emu.requests.count(("GET", "/v1/models/meta/musicgen")) == 1


def test_a_pinned_version_skips_the_lookup(emu: ReplicateEmulator) -> None:
    provider = adapter(emu, model=f"acme/other:{OTHER_VERSION}")
    provider.generate_clip(request(), Recorder())
    assert not any(path.startswith("/v1/models") for _, path in emu.requests)
    assert emu.creates[0]["version"] == OTHER_VERSION
    assert emu.creates[0]["input"] == {"prompt": "warm synthwave, 100 bpm", "duration": 2}


def test_a_model_without_versions_runs_through_its_own_predictions_route(
    emu: ReplicateEmulator,
) -> None:
    provider = adapter(emu, model="official/music-model", extra_input={"steps": 8})
    provider.generate_clip(request(), Recorder())
    assert ("POST", "/v1/models/official/music-model/predictions") in emu.requests
    assert "version" not in emu.creates[0]
    assert emu.creates[0]["input"]["steps"] == 8


def test_prefer_wait_can_return_a_finished_prediction_without_any_poll(
    emu: ReplicateEmulator,
) -> None:
    emu.finish_on_create = True
    clip = adapter(emu).generate_clip(request(), Recorder())
    assert emu.reads_of(clip.info["prediction_id"]) == 0


def test_a_create_answered_429_with_retry_after_is_retried_after_that_delay(
    emu: ReplicateEmulator,
) -> None:
    emu.rate_limit_next = 2
    slept: list[float] = []
    clip = adapter(emu, sleep=slept.append).generate_clip(request(), Recorder())
    assert clip.audio.size > 0
    assert slept[:2] == [1.0, 1.0]
    assert emu.requests.count(("POST", "/v1/predictions")) == 3


def test_without_retry_after_the_resets_in_detail_gives_the_delay(emu: ReplicateEmulator) -> None:
    emu.rate_limit_next = 1
    emu.retry_after = None
    slept: list[float] = []
    adapter(emu, sleep=slept.append).generate_clip(request(), Recorder())
    assert slept[0] == 1.0


def test_a_429_beyond_the_adapters_own_retries_is_retryable_with_retry_after(
    emu: ReplicateEmulator,
) -> None:
    emu.rate_limit_next = 5
    slept: list[float] = []
    with pytest.raises(ProviderError) as caught:
        adapter(emu, create_retries=1, sleep=slept.append).generate_clip(request(), Recorder())
    assert caught.value.retryable is True
    assert caught.value.status == 429
    assert caught.value.retry_after_s == 1.0
    assert "throttled" in caught.value.message
    assert slept == [1.0]


def test_a_failed_prediction_is_not_retryable_and_carries_the_models_error(
    emu: ReplicateEmulator,
) -> None:
    emu.fail_with = "RuntimeError: prompt too long for the text encoder"
    with pytest.raises(ProviderError) as caught:
        adapter(emu).generate_clip(request(), Recorder())
    assert not isinstance(caught.value, ContentRefused)
    assert caught.value.retryable is False
    assert "prompt too long" in caught.value.message


def test_a_prediction_failed_by_the_safety_checker_is_content_refused(
    emu: ReplicateEmulator,
) -> None:
    emu.fail_with = "NSFW content detected by the safety checker"
    with pytest.raises(ContentRefused) as caught:
        adapter(emu).generate_clip(request(), Recorder())
    assert caught.value.retryable is False


def test_invalid_input_is_a_non_retryable_422_with_the_schema_message(
    emu: ReplicateEmulator,
) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(emu, musicgen_model="huge").generate_clip(request(), Recorder())
    assert caught.value.status == 422
    assert caught.value.retryable is False
    assert "model_version" in caught.value.message


def test_our_timeout_cancels_the_prediction_through_urls_cancel(emu: ReplicateEmulator) -> None:
    emu.advance_on_read = False  # it never finishes
    with pytest.raises(ProviderError) as caught:
        adapter(emu, timeout_s=0.2).generate_clip(request(), Recorder())
    assert caught.value.retryable is True
    assert "cancelled" in caught.value.message
    (pid,) = emu.predictions
    assert emu.cancelled == [pid]
    assert emu.predictions[pid]["status"] == "canceled"
    assert emu.create_headers[0]["cancel-after"] == "1s"


def test_a_cancelled_job_cancels_its_prediction(emu: ReplicateEmulator) -> None:
    emu.advance_on_read = False

    def cancel(progress: Progress) -> None:
        if progress.stage.startswith("replicate:starting"):
            raise Cancelled("the owner cancelled the job")

    with pytest.raises(Cancelled):
        adapter(emu).generate_clip(request(), cancel)
    assert list(emu.predictions) == emu.cancelled


def test_audio_from_a_host_other_than_the_providers_is_refused(emu: ReplicateEmulator) -> None:
    for foreign in (
        "https://evil.example.com/output.wav",
        f"http://localhost:{emu.base_url.rsplit(':', 1)[1]}/delivery/x/output.wav",
        "https://replicate.delivery.evil.example.com/output.wav",
    ):
        emu.output_url = foreign
        with pytest.raises(ProviderError) as caught:
            adapter(emu).generate_clip(request(), Recorder())
        assert "refusing to download" in caught.value.message
    assert not any(path.startswith("/delivery") for _, path in emu.requests)


def test_the_plain_http_emulator_is_refused_unless_allow_listed(emu: ReplicateEmulator) -> None:
    with pytest.raises(ProviderError, match="must be https"):
        ReplicateProvider(emu.token, base_url=emu.api, client=CLIENT)


def test_continuation_sends_short_prompts_inline_and_the_clip_starts_with_them(
    emu: ReplicateEmulator,
) -> None:
    prompt = AudioPrompt(tone(1.0, 16000, channels=1, hz=220.0), 16000)  # 32 KB as WAV
    clip = adapter(emu).generate_clip(request(duration_s=2.0, continuation=prompt), Recorder())
    inputs = emu.creates[0]["input"]
    assert inputs["continuation"] is True
    assert inputs["input_audio"].startswith("data:audio/wav;base64,")
    assert inputs["duration"] == 3  # musicgen counts the prompt in its duration
    assert clip.includes_prompt_audio is True
    assert clip.audio.shape[1] == 3 * 32000
    assert not emu.files


def test_continuation_uploads_long_prompts_through_the_files_api_and_deletes_them(
    emu: ReplicateEmulator,
) -> None:
    prompt = AudioPrompt(tone(4.0, 32000), 32000)  # 512 KB as WAV
    adapter(emu).generate_clip(request(duration_s=2.0, continuation=prompt), Recorder())
    (fid,) = emu.files
    assert emu.creates[0]["input"]["input_audio"] == f"{emu.api}/files/{fid}"
    assert emu.deleted_files == [fid]


def test_a_signed_webhook_completes_the_wait_without_polling(
    emu: ReplicateEmulator, receiver: Receiver
) -> None:
    provider = adapter(
        emu, public_base_url=receiver.url, waiter=receiver.waiter, fallback_poll_s=60.0
    )
    with ThreadPoolExecutor(1) as pool:
        future: Future[Any] = pool.submit(provider.generate_clip, request(), Recorder())
        wait_for(lambda: emu.predictions, "the create")
        (pid,) = emu.predictions
        emu.finish(pid)
        clip = future.result(timeout=10)
    assert emu.creates[0]["webhook"] == f"{receiver.url}/v1/providers/replicate/webhook"
    assert emu.creates[0]["webhook_events_filter"] == ["start", "completed"]
    assert emu.deliveries == [200]
    assert emu.reads_of(pid) == 0
    assert clip.info["prediction_id"] == pid and clip.info["webhook"] is True
    assert provider.capabilities.webhooks is True


def test_a_worker_in_another_process_gets_the_webhook_through_the_sqlite_inbox(
    emu: ReplicateEmulator, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbound-webhooks.db"
    route = InboundWebhooks(
        seen=MemorySeenIds(), waiter=SqliteEventWaiter(inbox), replicate_secret=emu.secret
    )
    worker_waiter = SqliteEventWaiter(inbox, check_s=0.01)  # as a separate process opens it
    with serve(receiver_app(route)) as url:
        provider = adapter(emu, public_base_url=url, waiter=worker_waiter, fallback_poll_s=60.0)
        with ThreadPoolExecutor(1) as pool:
            future: Future[Any] = pool.submit(provider.generate_clip, request(), Recorder())
            wait_for(lambda: emu.predictions, "the create")
            (pid,) = emu.predictions
            emu.finish(pid)
            clip = future.result(timeout=10)
    assert emu.deliveries == [200]
    assert emu.reads_of(pid) == 0 and clip.info["prediction_id"] == pid


def test_a_webhook_that_arrives_before_the_wait_is_not_lost(
    emu: ReplicateEmulator, receiver: Receiver
) -> None:
    emu.advance_on_read = False
    emu.webhook_before_answer = True  # the create answers "starting" after the webhook came
    provider = adapter(
        emu, public_base_url=receiver.url, waiter=receiver.waiter, fallback_poll_s=60.0
    )
    clip = provider.generate_clip(request(), Recorder())
    assert emu.deliveries == [200]
    assert emu.reads_of(clip.info["prediction_id"]) == 0


def test_when_no_webhook_comes_the_adapter_falls_back_to_polling(
    emu: ReplicateEmulator, receiver: Receiver
) -> None:
    provider = adapter(
        emu, public_base_url=receiver.url, waiter=receiver.waiter, fallback_poll_s=0.02
    )
    clip = provider.generate_clip(request(), Recorder())  # the emulator never delivers
    assert emu.reads_of(clip.info["prediction_id"]) == 2


def test_a_forged_webhook_is_refused_and_does_not_end_the_wait(
    emu: ReplicateEmulator, receiver: Receiver
) -> None:
    provider = adapter(
        emu, public_base_url=receiver.url, waiter=receiver.waiter, fallback_poll_s=60.0
    )
    forger = ReplicateEmulator()
    with ThreadPoolExecutor(1) as pool:
        future: Future[Any] = pool.submit(provider.generate_clip, request(), Recorder())
        wait_for(lambda: emu.predictions, "the create")
        (pid,) = emu.predictions
        with emu.lock:
            emu.predictions[pid]["status"] = "failed"
            emu.predictions[pid]["error"] = "forged failure"
        assert emu.deliver(pid, secret=forger.secret) == 401
        assert emu.deliver(pid, timestamp=emu.stale(600)) == 401
        time.sleep(0.05)
        assert not future.done()
        with emu.lock:
            emu.predictions[pid]["status"] = "processing"
        emu.finish(pid)
        clip = future.result(timeout=10)
    assert clip.info["prediction_id"] == pid


def test_the_webhook_secret_is_fetched_from_the_api_when_not_configured(
    emu: ReplicateEmulator,
) -> None:
    provider = adapter(emu)
    assert provider.webhook_secret() == emu.secret
    assert provider.webhook_secret() == emu.secret
    assert emu.requests.count(("GET", "/v1/webhooks/default/secret")) == 1


def test_the_token_never_appears_in_an_error_message_or_log(
    emu: ReplicateEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.echo_auth_in_errors = True
    wrong = "r8_" + "W" * 36
    provider = ReplicateProvider(
        wrong, base_url=emu.api, http_hosts=HTTP_OK, poll_s=0.01, client=CLIENT
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        provider.generate_clip(request(), Recorder())
    assert caught.value.status == 401 and caught.value.retryable is False
    assert "token" in caught.value.message
    assert wrong not in caught.value.message and wrong not in str(caught.value)
    assert wrong not in caplog.text
    health = provider.health()
    assert health.ok is False and wrong not in health.detail


def test_health_names_the_account(emu: ReplicateEmulator) -> None:
    assert adapter(emu).health().ok is True
    assert "songforge-tests" in adapter(emu).health().detail


def test_without_a_token_it_is_unconfigured_and_unavailable(emu: ReplicateEmulator) -> None:
    provider = ReplicateProvider(None, base_url=emu.api, http_hosts=HTTP_OK, client=CLIENT)
    assert provider.configured() is False
    with pytest.raises(ProviderUnavailable, match="REPLICATE_API_TOKEN"):
        provider.generate_clip(request(), Recorder())
    assert not emu.requests


def test_capabilities_are_honest_about_musicgen_and_its_price() -> None:
    provider = ReplicateProvider("r8_x", client=CLIENT)
    caps = provider.capabilities
    assert caps.continuation is True and caps.vocals is False and caps.lyrics is False
    assert caps.sample_rate_hz == 32000 and caps.mode == "async"
    assert caps.webhooks is False
    assert caps.price.kind is PriceKind.PER_COMPUTE_SECOND
    assert caps.price.usd == pytest.approx(0.000975)
    assert "estimate" in caps.price.notes
    other = ReplicateProvider("r8_x", model="acme/other", client=CLIENT).capabilities
    assert other.continuation is False


def test_from_settings_reads_the_conventional_token_variable(
    monkeypatch: pytest.MonkeyPatch, emu: ReplicateEmulator
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", emu.token)
    monkeypatch.setenv("SONGFORGE_REPLICATE_BASE_URL", emu.api)
    monkeypatch.setenv("SONGFORGE_PROVIDER_FETCH_ALLOW_HTTP", "127.0.0.1")
    monkeypatch.setenv("SONGFORGE_REPLICATE_POLL_S", "0.01")
    provider = from_settings(Settings(), waiter=EventWaiter())
    assert provider.configured()
    clip = provider.generate_clip(request(), Recorder())
    assert clip.provider == "replicate"


def test_settings_never_allow_plain_http_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_" + "a" * 36)
    monkeypatch.setenv("SONGFORGE_REPLICATE_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("SONGFORGE_PROVIDER_FETCH_ALLOW_HTTP", raising=False)
    with pytest.raises(ProviderError, match="must be https"):
        from_settings(Settings())


def test_concurrent_clips_each_wait_for_their_own_webhook(
    emu: ReplicateEmulator, receiver: Receiver
) -> None:
    provider = adapter(
        emu, public_base_url=receiver.url, waiter=receiver.waiter, fallback_poll_s=60.0
    )
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(provider.generate_clip, request(), Recorder()) for _ in range(2)]
        wait_for(lambda: len(emu.predictions) == 2, "both creates")
        for pid in reversed(list(emu.predictions)):
            emu.finish(pid)
        ids = sorted(f.result(timeout=10).info["prediction_id"] for f in futures)
    assert ids == sorted(emu.predictions)
    assert all(emu.reads_of(pid) == 0 for pid in ids)
