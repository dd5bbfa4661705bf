"""The shared HTTP plumbing: how failures become ProviderErrors, and where tokens may go."""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from emulators.server import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from songforge.errors import ProviderError
from songforge.providers.http import (
    USER_AGENT,
    check_api_url,
    error_for,
    json_of,
    make_client,
    read_capped,
    redactor_for,
    retry_after_s,
    send,
    trim_to,
)

TOKEN = "r8_" + "T" * 36
REDACT = redactor_for(TOKEN)


class Scripted:
    """A tiny server answering each path with a scripted status, headers and body."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[dict[str, str]] = []

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            self.seen.append(dict(request.headers))
            if request.url.path == "/slow":
                await asyncio.sleep(0.5)
            status, headers, body = self.answers.get(request.url.path, (200, {}, b"{}"))
            return Response(body, status_code=status, headers=headers)

        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, str]]:
    server = Scripted()
    with serve(server.app()) as url:
        yield server, url


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with make_client() as c:
        yield c


def answer(
    scripted: tuple[Scripted, str],
    client: httpx.Client,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> ProviderError:
    server, url = scripted
    path = f"/case{len(server.seen)}"
    server.answers[path] = (status, {"content-type": "application/json", **(headers or {})}, body)
    with pytest.raises(ProviderError) as caught:
        send(client, "GET", url + path, provider="demo", redactor=REDACT, **kwargs)
    return caught.value


def test_requests_carry_our_user_agent(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    server, url = scripted
    response = send(client, "GET", url + "/ok", provider="demo", redactor=REDACT)
    assert json_of(response, provider="demo") == {}
    assert server.seen[-1]["user-agent"] == USER_AGENT


def test_a_429_is_retryable_with_the_retry_after_seconds(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    error = answer(scripted, client, 429, b'{"detail": "slow down"}', {"Retry-After": "7"})
    assert error.retryable and error.status == 429 and error.retry_after_s == 7.0
    assert error.provider == "demo"
    assert "rate limited" in error.message and "slow down" in error.message


def test_retry_after_may_be_an_http_date(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    error = answer(scripted, client, 503, b"{}", {"Retry-After": later})
    assert error.retryable and error.retry_after_s is not None
    assert 25 <= error.retry_after_s <= 31


def test_replicates_resets_in_detail_stands_in_for_a_missing_retry_after(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    body = (
        b'{"title": "Request was throttled", "detail": "Your rate limit resets in ~4s.", '
        b'"status": 429}'
    )
    error = answer(scripted, client, 429, body)
    assert error.retry_after_s == 4.0
    assert "Request was throttled: Your rate limit resets in ~4s." in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_and_timeouts_answered_by_the_server_are_retryable(
    scripted: tuple[Scripted, str], client: httpx.Client, status: int
) -> None:
    assert answer(scripted, client, status, b"{}").retryable is True


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 413, 422, 501])
def test_client_errors_are_not_retryable(
    scripted: tuple[Scripted, str], client: httpx.Client, status: int
) -> None:
    error = answer(scripted, client, status, b"{}")
    assert error.retryable is False and error.retry_after_s is None and error.status == status


def test_a_rejected_token_says_to_check_it(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    error = answer(scripted, client, 401, b'{"title": "Unauthenticated"}')
    assert "token was rejected" in error.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"type": "x", "title": "Invalid input", "detail": "duration too long"}',
            "Invalid input: duration too long",
        ),
        (
            b'{"id": "1", "name": "bad_request", "errors": ["seed: too big", "steps: too many"]}',
            "bad_request: seed: too big; steps: too many",
        ),
        (b'{"error": "Suno is unreachable"}', "Suno is unreachable"),
        (
            b'{"error": {"code": 400, "message": "prompt blocked", "status": "INVALID_ARGUMENT"}}',
            "prompt blocked",
        ),
        (b'{"code": 413, "msg": "prompt is too long", "data": null}', "prompt is too long"),
        (b'{"detail": "queue is full"}', "queue is full"),
    ],
)
def test_provider_error_bodies_become_clear_messages(
    scripted: tuple[Scripted, str], client: httpx.Client, body: bytes, expected: str
) -> None:
    assert expected in answer(scripted, client, 400, body).message


def test_text_bodies_are_shortened_and_html_is_left_out(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    long = answer(scripted, client, 500, b"x" * 5000, {"content-type": "text/plain"})
    assert len(long.message) < 500
    page = answer(scripted, client, 502, b"<html>" + b"y" * 100, {"content-type": "image/png"})
    assert "yyy" not in page.message


def test_a_token_echoed_by_the_provider_is_redacted(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    body = b'{"detail": "bad header Authorization: Bearer ' + TOKEN.encode() + b'"}'
    error = answer(scripted, client, 401, body)
    assert TOKEN not in error.message and TOKEN not in str(error)
    other = b'{"detail": "key sk-abcdefghijklmnopqrstuvwxyz0123 is unknown"}'
    assert "sk-abcdefghijklmnop" not in answer(scripted, client, 401, other).message


def test_a_refused_connection_is_retryable(client: httpx.Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: nothing answers
        with pytest.raises(ProviderError) as caught:
            send(client, "GET", f"http://127.0.0.1:{port}/x", provider="demo", redactor=REDACT)
    assert caught.value.retryable is True and caught.value.status is None


def test_a_read_timeout_is_retryable(scripted: tuple[Scripted, str], client: httpx.Client) -> None:
    _, url = scripted
    with pytest.raises(ProviderError) as caught:
        send(client, "GET", url + "/slow", provider="demo", redactor=REDACT, timeout=0.05)
    assert caught.value.retryable is True and "timed out" in caught.value.message


def test_a_non_json_answer_where_json_was_expected_is_retryable(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    server, url = scripted
    server.answers["/html"] = (200, {"content-type": "text/html"}, b"<html>maintenance</html>")
    response = send(client, "GET", url + "/html", provider="demo", redactor=REDACT)
    with pytest.raises(ProviderError, match="expected JSON") as caught:
        json_of(response, provider="demo")
    assert caught.value.retryable is True


def test_the_body_reader_refuses_more_than_the_cap(
    scripted: tuple[Scripted, str], client: httpx.Client
) -> None:
    server, url = scripted
    server.answers["/big"] = (200, {"content-type": "audio/wav"}, b"\0" * 100_000)
    with (
        client.stream("GET", url + "/big") as response,
        pytest.raises(ProviderError, match="download cap"),
    ):
        read_capped(response, provider="demo", max_bytes=10_000)


def test_retry_after_is_none_when_the_provider_does_not_say() -> None:
    response = httpx.Response(429, request=httpx.Request("GET", "https://x.example/"))
    assert retry_after_s(response) is None
    assert error_for(response, provider="demo", redactor=REDACT).retry_after_s is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.replicate.com/v1/", True),
        ("http://api.replicate.com/v1", False),
        ("http://127.0.0.1:8000/v1", False),
        ("ftp://api.replicate.com", False),
        ("https://", False),
    ],
)
def test_tokens_only_go_to_https_api_urls(url: str, allowed: bool) -> None:
    if allowed:
        assert check_api_url(url, provider="demo") == url.rstrip("/")
    else:
        with pytest.raises(ProviderError, match="refusing to send credentials"):
            check_api_url(url, provider="demo")


def test_plain_http_is_allowed_only_for_listed_hosts() -> None:
    url = "http://127.0.0.1:8000/v1"
    assert check_api_url(url, provider="demo", http_hosts=["127.0.0.1"]) == url
    with pytest.raises(ProviderError):
        check_api_url("http://localhost:8000/v1", provider="demo", http_hosts=["127.0.0.1"])


def test_trim_cuts_with_a_fade_and_leaves_short_clips_alone() -> None:
    audio = np.full((2, 48000), 0.5, dtype=np.float32)
    cut = trim_to(audio, 48000, 0.5)
    assert cut.shape == (2, 24000)
    assert cut[0, 0] == pytest.approx(0.5) and cut[0, -1] == pytest.approx(0.0)
    assert trim_to(audio, 48000, 2.0) is audio


@pytest.mark.parametrize(
    "module", ["http", "inbound", "replicate", "stable_audio", "suno", "ace_step", "lyria"]
)
def test_every_name_in_all_exists(module: str) -> None:
    loaded = importlib.import_module(f"songforge.providers.{module}")
    assert loaded.__all__ and all(hasattr(loaded, name) for name in loaded.__all__)
