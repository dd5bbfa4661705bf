"""Signed webhooks to a receiver on 127.0.0.1 (allow-listed), retries with every attempt
recorded, and the SSRF guard on callback URLs."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_rig import Rig, make_rig
from standardwebhooks.webhooks import Webhook

from songforge.errors import InvalidRequest, UnsafeCallbackUrl
from songforge.jobs.fakes import FlakyGenerator
from songforge.service.runtime import build_dispatcher, build_worker
from songforge.service.webhooks import WebhookDispatcher, check_callback_url
from webhook_receiver import Receiver

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[Rig]:
    rig = make_rig(
        tmp_path, webhook_secret=SECRET, webhook_allow=["127.0.0.1"], webhook_retry_s=[0.0, 0.0]
    )
    yield rig
    rig.backends.close()


def dispatcher(rig: Rig) -> WebhookDispatcher:
    made = build_dispatcher(rig.settings, rig.backends)
    assert made is not None
    return made


def submit_with_callback(rig: Rig, url: str, **fields: Any) -> dict[str, Any]:
    response = rig.client.post(
        "/v1/songs",
        json={"prompt": "synthwave night drive", "seed": 1, **fields},
        headers={**rig.auth(), "Songforge-Callback-Url": url},
    )
    assert response.status_code == 202, response.text
    return response.json()


def test_a_finished_job_posts_a_signed_event(hooked: Rig, receiver: Receiver) -> None:
    job = submit_with_callback(hooked, receiver.url)
    hooked.run_jobs()
    assert dispatcher(hooked).run_once() == 1
    [(headers, body)] = receiver.requests
    event = Webhook(SECRET).verify(body, headers)  # the reference implementation agrees
    assert event["type"] == "song.succeeded" and event["data"]["id"] == job["id"]
    assert headers["webhook-id"] == f"msg_{job['id']}_succeeded"
    attempts = hooked.client.get(f"/v1/songs/{job['id']}/webhooks", headers=hooked.auth())
    [attempt] = attempts.json()["items"]
    assert attempt["ok"] and attempt["status_code"] == 200 and attempt["number"] == 1
    view = hooked.client.get(f"/v1/songs/{job['id']}", headers=hooked.auth()).json()
    assert view["webhook"]["state"] == "delivered"
    assert dispatcher(hooked).run_once() == 0


def test_failed_deliveries_are_retried_with_the_same_id(hooked: Rig, receiver: Receiver) -> None:
    receiver.statuses = [500, 503, 204]
    job = submit_with_callback(hooked, receiver.url)
    hooked.run_jobs()
    sender = dispatcher(hooked)
    for _ in range(4):
        sender.run_once()
    assert len(receiver.requests) == 3
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1
    items = hooked.client.get(f"/v1/songs/{job['id']}/webhooks", headers=hooked.auth()).json()
    assert [(a["status_code"], a["ok"]) for a in items["items"]] == [
        (500, False),
        (503, False),
        (204, True),
    ]


def test_delivery_gives_up_after_the_retry_schedule(hooked: Rig, receiver: Receiver) -> None:
    receiver.statuses = [500]
    job = submit_with_callback(hooked, receiver.url)
    hooked.run_jobs()
    sender = dispatcher(hooked)
    for _ in range(5):
        sender.run_once()
    assert len(receiver.requests) == 3  # first try + two retries
    view = hooked.client.get(f"/v1/songs/{job['id']}", headers=hooked.auth()).json()
    assert view["webhook"] == {"url": receiver.url, "state": "failed", "attempts": 3}


def test_410_disables_the_endpoint_at_once(hooked: Rig, receiver: Receiver) -> None:
    receiver.statuses = [410]
    submit_with_callback(hooked, receiver.url)
    hooked.run_jobs()
    sender = dispatcher(hooked)
    sender.run_once()
    sender.run_once()
    assert len(receiver.requests) == 1


def test_a_failed_job_sends_song_failed(hooked: Rig, receiver: Receiver) -> None:
    job = submit_with_callback(hooked, receiver.url)
    failing = FlakyGenerator(9, lambda: InvalidRequest("genre", "nope"))
    build_worker(hooked.settings, hooked.backends, failing).drain()
    dispatcher(hooked).run_once()
    [(_, body)] = receiver.requests
    event = json.loads(body)
    assert event["type"] == "song.failed" and event["data"]["error"]["code"] == "invalid_request"
    assert event["data"]["id"] == job["id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
        "not a url",
    ],
)
def test_unsafe_callback_urls_are_refused(rig_with_secret: Rig, url: str) -> None:
    response = rig_with_secret.client.post(
        "/v1/songs",
        json={"prompt": "x"},
        headers={**rig_with_secret.auth(), "Songforge-Callback-Url": url},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "callback_url" and error["code"] == "unsafe_callback_url"


@pytest.fixture
def rig_with_secret(tmp_path: Path) -> Iterator[Rig]:
    rig = make_rig(tmp_path, webhook_secret=SECRET)
    yield rig
    rig.backends.close()


def test_every_resolved_address_must_be_public() -> None:
    def resolver(addresses: list[str]):  # type: ignore[no-untyped-def]
        return lambda host, port: addresses

    check_callback_url("https://hooks.example/x", resolver=resolver(["93.184.216.34"]))
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(
            "https://rebind.example/x", resolver=resolver(["93.184.216.34", "10.0.0.5"])
        )
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url("https://v6.example/x", resolver=resolver(["::ffff:127.0.0.1"]))
    check_callback_url(
        "http://internal.example/x",
        allow=["10.0.0.0/8"],
        resolver=resolver(["10.0.0.5"]),
    )


def test_callbacks_need_a_webhook_secret(rig: Rig) -> None:
    response = rig.client.post(
        "/v1/songs",
        json={"prompt": "x"},
        headers={**rig.auth(), "Songforge-Callback-Url": "https://example.com/hook"},
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "callback_url"
