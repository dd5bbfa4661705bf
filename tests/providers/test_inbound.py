"""Inbound provider webhooks: Standard Webhooks verification, replay protection, hand-over to
waiting adapters, and Suno's unsigned callback treated as a hint."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from songforge.api.errors import status_for
from songforge.errors import InvalidRequest, NotFound, ProviderUnavailable
from songforge.providers.inbound import (
    EventWaiter,
    InboundWebhooks,
    MemorySeenIds,
    SqliteEventWaiter,
    SqliteSeenIds,
    WebhookEvent,
    WebhookRejected,
    WebhookReplayed,
    inbound_from_settings,
    verify_standard_webhook,
    waiter_for,
)
from songforge.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


def prediction(pid: str = "p1", status: str = "succeeded", **extra: Any) -> bytes:
    return json.dumps({"id": pid, "status": status, "output": "https://x/y.wav", **extra}).encode()


def signed(
    body: bytes,
    *,
    secret: str = SECRET,
    message_id: str | None = None,
    when: datetime | None = None,
) -> dict[str, str]:
    """Headers as a Standard Webhooks sender (the reference package) makes them."""
    message_id = message_id or f"msg_{secrets.token_hex(6)}"
    when = when or datetime.now(UTC)
    signature = standardwebhooks.Webhook(secret).sign(message_id, when, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def service(**options: Any) -> tuple[InboundWebhooks, EventWaiter]:
    waiter = EventWaiter()
    options.setdefault("replicate_secret", SECRET)
    options.setdefault("seen", MemorySeenIds())
    return InboundWebhooks(waiter=waiter, **options), waiter


# --- verification ----------------------------------------------------------------------------


def test_a_signature_made_by_the_reference_implementation_verifies() -> None:
    body = prediction()
    headers = signed(body, message_id="msg_abc")
    assert verify_standard_webhook(SECRET, headers, body) == "msg_abc"


def test_header_names_are_case_insensitive() -> None:
    body = prediction()
    headers = {k.upper(): v for k, v in signed(body).items()}
    verify_standard_webhook(SECRET, headers, body)


def test_any_of_several_v1_signatures_may_match_while_keys_rotate() -> None:
    body = prediction()
    old = signed(body, secret=OTHER_SECRET, message_id="msg_1")
    new = signed(
        body, message_id="msg_1", when=datetime.fromtimestamp(int(old["webhook-timestamp"]), UTC)
    )
    headers = dict(old)
    headers["webhook-signature"] = (
        f"v2,bm90LWEtdjEtc2ln {old['webhook-signature']} v1,!!notbase64 {new['webhook-signature']}"
    )
    assert verify_standard_webhook(SECRET, headers, body) == "msg_1"


def test_a_signature_with_another_key_is_refused() -> None:
    body = prediction()
    with pytest.raises(WebhookRejected, match="no v1 signature matches"):
        verify_standard_webhook(SECRET, signed(body, secret=OTHER_SECRET), body)


def test_the_signature_covers_the_exact_bytes() -> None:
    body = prediction()
    headers = signed(body)
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    with pytest.raises(WebhookRejected):
        verify_standard_webhook(SECRET, headers, reserialised)
    with pytest.raises(WebhookRejected):
        verify_standard_webhook(SECRET, {**headers, "webhook-id": "msg_other"}, body)


@pytest.mark.parametrize(("offset_s", "why"), [(-301, "too old"), (301, "future")])
def test_timestamps_more_than_five_minutes_off_are_refused(offset_s: int, why: str) -> None:
    body = prediction()
    when = datetime.now(UTC) + timedelta(seconds=offset_s)
    with pytest.raises(WebhookRejected, match=why):
        verify_standard_webhook(SECRET, signed(body, when=when), body)


def test_timestamps_within_five_minutes_either_way_are_accepted() -> None:
    body = prediction()
    for offset_s in (-290, 290):
        when = datetime.now(UTC) + timedelta(seconds=offset_s)
        verify_standard_webhook(SECRET, signed(body, when=when), body)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_webhook_missing_a_header_is_refused(missing: str) -> None:
    body = prediction()
    headers = signed(body)
    del headers[missing]
    with pytest.raises(WebhookRejected, match="missing"):
        verify_standard_webhook(SECRET, headers, body)


def test_a_malformed_timestamp_is_refused() -> None:
    body = prediction()
    with pytest.raises(WebhookRejected, match="Unix seconds"):
        verify_standard_webhook(SECRET, {**signed(body), "webhook-timestamp": "yesterday"}, body)


# --- the service -----------------------------------------------------------------------------


def test_a_signed_replicate_webhook_is_recorded_and_handed_to_the_waiting_adapter() -> None:
    inbound, waiter = service()
    body = prediction("p42")
    event = inbound.handle("replicate", signed(body, message_id="msg_42"), body)
    assert (event.provider, event.webhook_id, event.key, event.status) == (
        "replicate",
        "msg_42",
        "p42",
        "succeeded",
    )
    assert event.trusted is True
    arrived = waiter.wait("replicate", "p42", 0)
    assert arrived is not None and arrived.trusted and arrived.payload is not None
    assert arrived.payload["output"] == "https://x/y.wav"


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing() -> None:
    inbound, waiter = service()
    body = prediction("p1", status="failed")
    headers = signed(body, secret=OTHER_SECRET, message_id="msg_forged")
    with pytest.raises(WebhookRejected) as caught:
        inbound.handle("replicate", headers, body)
    assert status_for(caught.value) == 401
    assert waiter.wait("replicate", "p1", 0) is None
    # the forged id was not consumed: the genuine message with that id still gets through
    genuine = prediction("p1")
    inbound.handle("replicate", signed(genuine, message_id="msg_forged"), genuine)


def test_a_stale_webhook_is_refused_and_changes_nothing() -> None:
    inbound, waiter = service()
    body = prediction()
    with pytest.raises(WebhookRejected) as caught:
        inbound.handle("replicate", signed(body, when=datetime.now(UTC) - timedelta(hours=1)), body)
    assert status_for(caught.value) == 401
    assert waiter.wait("replicate", "p1", 0) is None


def test_a_replayed_webhook_id_is_refused_and_changes_nothing() -> None:
    inbound, waiter = service()
    body = prediction("p7")
    inbound.handle("replicate", signed(body, message_id="msg_7"), body)
    assert waiter.wait("replicate", "p7", 0) is not None
    replay = prediction("p7", status="failed")  # a new signature, same id, different story
    with pytest.raises(WebhookReplayed) as caught:
        inbound.handle("replicate", signed(replay, message_id="msg_7"), replay)
    assert status_for(caught.value) == 409
    assert waiter.wait("replicate", "p7", 0) is None


def test_refusals_are_logged_without_the_body(caplog: pytest.LogCaptureFixture) -> None:
    inbound, _ = service()
    body = prediction(logs="api key sk-live-PLEASE-DO-NOT-LOG-ME")
    with caplog.at_level(logging.DEBUG), pytest.raises(WebhookRejected):
        inbound.handle("replicate", signed(body, secret=OTHER_SECRET, message_id="msg_x"), body)
    assert "msg_x" in caplog.text and "no v1 signature" in caplog.text
    assert "PLEASE-DO-NOT-LOG-ME" not in caplog.text
    assert SECRET not in caplog.text


def test_a_verified_body_that_is_not_a_prediction_is_invalid() -> None:
    inbound, _ = service()
    for body in (b"[1, 2]", b"not json", json.dumps({"status": "succeeded"}).encode()):
        with pytest.raises(InvalidRequest):
            inbound.handle("replicate", signed(body), body)


def test_without_a_secret_replicate_webhooks_cannot_be_accepted() -> None:
    inbound, _ = service(replicate_secret=None)
    body = prediction()
    with pytest.raises(ProviderUnavailable) as caught:
        inbound.handle("replicate", signed(body), body)
    assert status_for(caught.value) == 503


def test_the_secret_may_come_from_a_lazy_source() -> None:
    calls: list[int] = []

    def fetch() -> str:
        calls.append(1)
        return SECRET

    inbound, _ = service(replicate_secret=fetch)
    body = prediction()
    inbound.handle("replicate", signed(body), body)
    assert calls == [1]


def test_providers_without_webhooks_are_not_found() -> None:
    inbound, _ = service()
    with pytest.raises(NotFound):
        inbound.handle("stable-audio", {}, b"{}")


def test_a_suno_callback_is_only_a_hint_to_poll() -> None:
    inbound, waiter = service()
    body = json.dumps(
        {
            "code": 200,
            "msg": "All generated successfully.",
            "data": {
                "callbackType": "complete",
                "task_id": "t1",
                "data": [{"id": "a", "audio_url": "https://evil.example.com/x.mp3"}],
            },
        }
    ).encode()
    event = inbound.handle("suno", {}, body)
    assert event.trusted is False and event.key == "t1" and event.status == "complete"
    hint = waiter.wait("suno", "t1", 0)
    assert hint is not None and hint.trusted is False and hint.payload is None


def test_a_suno_callback_without_a_task_id_is_invalid() -> None:
    inbound, _ = service()
    with pytest.raises(InvalidRequest):
        inbound.handle("suno", {}, json.dumps({"code": 200, "data": {}}).encode())


# --- replay stores ---------------------------------------------------------------------------


def test_memory_ids_are_forgotten_after_the_retention() -> None:
    now = [1000.0]
    seen = MemorySeenIds(retention_s=60, clock=lambda: now[0])
    assert seen.first_time("replicate", "a") is True
    assert seen.first_time("replicate", "a") is False
    assert seen.first_time("suno", "a") is True  # namespaces are separate
    now[0] += 61
    assert seen.first_time("replicate", "a") is True


def test_memory_ids_are_bounded() -> None:
    seen = MemorySeenIds(max_ids=3)
    for key in "abcd":
        assert seen.first_time("r", key)
    assert seen.first_time("r", "a") is True  # the oldest was dropped to stay bounded


def test_sqlite_ids_are_shared_by_every_process_using_the_file(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    first, second = SqliteSeenIds(path), SqliteSeenIds(path)
    assert first.first_time("replicate", "msg_1") is True
    assert second.first_time("replicate", "msg_1") is False
    assert second.first_time("replicate", "msg_2") is True


def test_sqlite_ids_expire_after_the_retention(tmp_path: Path) -> None:
    now = [1000.0]
    seen = SqliteSeenIds(tmp_path / "seen.db", retention_s=60, clock=lambda: now[0])
    assert seen.first_time("replicate", "m") is True
    now[0] += 61
    assert seen.first_time("replicate", "m") is True


def test_exactly_one_of_many_concurrent_deliveries_wins(tmp_path: Path) -> None:
    seen = SqliteSeenIds(tmp_path / "seen.db")
    results: list[bool] = []
    lock = threading.Lock()

    def deliver() -> None:
        won = seen.first_time("replicate", "msg_race")
        with lock:
            results.append(won)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_the_sqlite_store_replays_across_service_instances(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    body = prediction()
    headers = signed(body, message_id="msg_once")
    service(seen=SqliteSeenIds(path))[0].handle("replicate", headers, body)
    with pytest.raises(WebhookReplayed):
        service(seen=SqliteSeenIds(path))[0].handle("replicate", headers, body)


# --- the waiter ------------------------------------------------------------------------------


def test_an_event_that_arrives_before_the_wait_is_kept() -> None:
    waiter = EventWaiter()
    waiter.notify(WebhookEvent("replicate", "p", {"status": "succeeded"}, trusted=True))
    event = waiter.wait("replicate", "p", 0)
    assert event is not None and event.payload == {"status": "succeeded"}
    assert waiter.wait("replicate", "p", 0) is None  # delivered once


def test_a_trusted_event_wins_over_a_later_hint() -> None:
    waiter = EventWaiter()
    waiter.notify(WebhookEvent("replicate", "p", {"status": "succeeded"}, trusted=True))
    waiter.notify(WebhookEvent("replicate", "p", None, trusted=False))
    event = waiter.wait("replicate", "p", 0)
    assert event is not None and event.trusted


def test_a_wait_ends_when_the_event_arrives_from_another_thread() -> None:
    waiter = EventWaiter()
    timer = threading.Timer(0.02, waiter.notify, [WebhookEvent("suno", "t", None, trusted=False)])
    timer.start()
    event = waiter.wait("suno", "t", 10)
    timer.join()
    assert event is not None and event.key == "t"


def test_a_wait_without_events_times_out() -> None:
    assert EventWaiter().wait("suno", "nothing", 0.01) is None


def test_forgotten_and_old_jobs_do_not_pile_up() -> None:
    waiter = EventWaiter(keep_s=900, max_keys=2)
    for key in "abc":
        waiter.notify(WebhookEvent("suno", key, None, trusted=False))
    assert waiter.wait("suno", "a", 0) is None  # evicted to stay bounded
    waiter.forget("suno", "c")
    assert waiter.wait("suno", "c", 0) is None
    assert waiter.wait("suno", "b", 0) is not None


def test_the_sqlite_waiter_hands_events_to_another_process(tmp_path: Path) -> None:
    route_side = SqliteEventWaiter(tmp_path / "inbox.db")
    worker_side = SqliteEventWaiter(tmp_path / "inbox.db", check_s=0.01)
    worker_side.forget("replicate", "never-seen")  # a fresh file is fine to forget in
    route_side.notify(WebhookEvent("replicate", "p", {"status": "processing"}, trusted=True))
    route_side.notify(WebhookEvent("replicate", "p", None, trusted=False))
    route_side.notify(WebhookEvent("replicate", "other", None, trusted=False))
    event = worker_side.wait("replicate", "p", 0)
    assert event is not None and event.trusted and event.payload == {"status": "processing"}
    assert worker_side.wait("replicate", "p", 0) is None  # taken once
    worker_side.forget("replicate", "other")
    assert worker_side.wait("replicate", "other", 0) is None


def test_the_sqlite_waiter_wakes_when_an_event_lands(tmp_path: Path) -> None:
    route_side = SqliteEventWaiter(tmp_path / "inbox.db")
    worker_side = SqliteEventWaiter(tmp_path / "inbox.db", check_s=0.01)
    timer = threading.Timer(
        0.05, route_side.notify, [WebhookEvent("suno", "t", None, trusted=False)]
    )
    timer.start()
    event = worker_side.wait("suno", "t", 10)
    timer.join()
    assert event is not None and event.key == "t"
    assert worker_side.wait("suno", "t", 0.02) is None


def test_old_events_are_dropped_from_the_sqlite_inbox(tmp_path: Path) -> None:
    now = [1000.0]
    inbox = SqliteEventWaiter(tmp_path / "inbox.db", keep_s=60, clock=lambda: now[0])
    inbox.notify(WebhookEvent("suno", "old", None, trusted=False))
    now[0] += 61
    inbox.notify(WebhookEvent("suno", "new", None, trusted=False))
    assert inbox.wait("suno", "old", 0) is None
    assert inbox.wait("suno", "new", 0) is not None


def test_the_waiter_follows_the_store_backend(tmp_path: Path) -> None:
    inbox = waiter_for(Settings(data_dir=tmp_path / "data"))
    assert isinstance(inbox, SqliteEventWaiter)
    assert not (tmp_path / "data").exists()  # nothing is written until an event comes
    memory = waiter_for(Settings(data_dir=tmp_path, store_backend="memory"))
    assert isinstance(memory, EventWaiter)


def test_the_service_from_settings_keeps_replay_ids_beside_the_job_database(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, replicate_webhook_secret=SECRET)
    inbound = inbound_from_settings(settings, waiter=EventWaiter())
    body = prediction()
    inbound.handle("replicate", signed(body), body)
    assert (tmp_path / "inbound-webhooks.db").is_file()
    memory = inbound_from_settings(
        Settings(data_dir=tmp_path, store_backend="memory", replicate_webhook_secret=SECRET)
    )
    assert isinstance(memory.seen, MemorySeenIds)
