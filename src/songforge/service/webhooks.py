"""Outbound webhooks: Standard Webhooks signing, the SSRF guard for callback URLs, and the
dispatcher that delivers due events from the job store's outbox with retries and records
every attempt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from songforge.errors import InvalidRequest, UnresolvableCallbackHost, UnsafeCallbackUrl
from songforge.jobs.model import Job, WebhookAttempt, WebhookState
from songforge.jobs.store import JobStore
from songforge.service.views import job_view

log = logging.getLogger("songforge.webhooks")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def parse_secret(secret: str) -> bytes:
    """The HMAC key from a ``whsec_<base64>`` secret."""
    body = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(body, validate=True)
    except ValueError:
        raise InvalidRequest("webhook_secret", "must be whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise InvalidRequest("webhook_secret", "must hold 24 to 64 random bytes")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, message_id, timestamp, body),
        "content-type": "application/json",
    }


# --- SSRF guard ----------------------------------------------------------------------------


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _unsafe(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _allowed(host: str, addresses: Iterable[IpAddress], allow: Iterable[str]) -> bool:
    rules = list(allow)
    if host.lower() in (r.lower() for r in rules):
        return True
    networks = []
    for rule in rules:
        try:
            networks.append(ipaddress.ip_network(rule, strict=False))
        except ValueError:
            continue  # a host name rule
    return bool(networks) and all(any(a in n for n in networks) for a in addresses)


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """A callback URL after the SSRF check: the addresses its host resolved to, every one of
    them validated. Deliveries connect to these, never resolving the host again, so a DNS
    answer that changes after the check (rebinding) cannot redirect them."""

    url: str
    host: str
    port: int
    addresses: tuple[IpAddress, ...]


def check_callback_url(
    url: str, allow: Iterable[str] = (), resolver: Resolver = _resolve, field: str = "callback_url"
) -> str:
    """Refuse URLs that are not http(s) or whose host resolves to any non-public address
    (loopback, private, link-local, …) unless the host or all its addresses are allow-listed."""
    return resolve_callback(url, allow, resolver, field).url


def resolve_callback(
    url: str, allow: Iterable[str] = (), resolver: Resolver = _resolve, field: str = "callback_url"
) -> CallbackTarget:
    """Resolve the callback's host once and validate every address (see check_callback_url);
    raises UnsafeCallbackUrl. The URL is parsed by httpx, which also sends the request: one
    parser, so the host checked is the host named in the request."""
    if len(url) > 2048:
        raise UnsafeCallbackUrl(field, "callback URL longer than 2048 characters")
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL:
        raise UnsafeCallbackUrl(field, "not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeCallbackUrl(field, "callback URL must be http or https")
    host = parts.raw_host.decode("ascii")  # IDNA-encoded
    if not host:
        raise UnsafeCallbackUrl(field, "callback URL has no host")
    if parts.userinfo:
        raise UnsafeCallbackUrl(field, "callback URL must not carry credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise UnsafeCallbackUrl(field, "not a valid URL")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise UnresolvableCallbackHost(
                field, f"cannot resolve callback host {host!r}"
            ) from None
    if not addresses:
        raise UnresolvableCallbackHost(field, f"cannot resolve callback host {host!r}")
    target = CallbackTarget(url, host, port, tuple(dict.fromkeys(addresses)))
    if _allowed(host, addresses, allow):
        return target
    bad = [str(a) for a in addresses if _unsafe(a)]
    if bad:
        raise UnsafeCallbackUrl(
            field, f"callback host {host!r} resolves to a non-public address ({', '.join(bad)})"
        )
    return target


def post_pinned(
    client: httpx.Client, target: CallbackTarget, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST to the validated addresses of ``target`` in turn until one connects. The URL
    names the address, so httpx never resolves the host; the Host header and TLS (SNI and
    certificate verification, via httpcore's ``sni_hostname``) keep the host name."""
    url = httpx.URL(target.url)
    headers = {**headers, "host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    failure: httpx.ConnectError | None = None
    for address in target.addresses:
        try:
            return client.post(
                url.copy_with(host=str(address)),
                content=content,
                headers=headers,
                extensions=extensions,
            )
        except httpx.ConnectError as exc:
            failure = exc
    assert failure is not None  # a target has at least one address
    raise failure


# --- delivery ------------------------------------------------------------------------------


def event_type(job: Job) -> str:
    return f"song.{job.status.value}"


def event_body(job: Job, now: float) -> bytes:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    payload = {
        "type": event_type(job),
        "timestamp": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        "data": job_view(job),
    }
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


@dataclass
class WebhookDispatcher:
    """Delivers due webhook events; safe to run in several processes (claims are leased)."""

    store: JobStore
    key: bytes
    retry_s: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0)
    timeout_s: float = 15.0
    allow: tuple[str, ...] = ()
    resolver: Resolver = _resolve
    clock: Callable[[], float] = time.time
    transport: httpx.BaseTransport | None = None
    verify: ssl.SSLContext | str | bool = True  # a CA bundle path or context, for private CAs

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            timeout=self.timeout_s,
            follow_redirects=False,  # a redirect could lead past the SSRF guard
            transport=self.transport,
            verify=self.verify,
            trust_env=False,  # no proxy from the environment: it would do its own DNS lookup
            # No kept-alive connections: the pool is keyed by address, and one opened (and
            # TLS-verified) for one host must not carry another host's event.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"user-agent": "songforge-webhooks/1"},
        )

    def close(self) -> None:
        self._client.close()

    def run_once(self, limit: int = 10) -> int:
        jobs = self.store.due_webhooks(lease_s=self.timeout_s + 10.0, limit=limit)
        for job in jobs:
            self.deliver(job)
        return len(jobs)

    def deliver(self, job: Job) -> WebhookAttempt:
        assert job.callback_url is not None
        number = job.webhook_attempts + 1
        message_id = f"msg_{job.id}_{job.status.value}"  # the same on every retry
        now = self.clock()
        body = event_body(job, now)
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        permanent = False
        started = time.monotonic()
        try:
            target = resolve_callback(job.callback_url, self.allow, self.resolver)
            response = post_pinned(
                self._client, target, body, signed_headers(self.key, message_id, int(now), body)
            )
            status = response.status_code
            if status == 410:
                permanent, error = True, "endpoint gone (410): not retried"
            elif response.is_redirect:
                error = f"HTTP {status}: redirects are not followed (they would skip the check)"
            elif not 200 <= status < 300:
                error = f"HTTP {status}"
                retry_after = _retry_after(response.headers.get("retry-after"))
        except UnresolvableCallbackHost as exc:  # DNS may be back by the next attempt
            error = exc.detail
        except UnsafeCallbackUrl as exc:
            permanent, error = True, exc.detail
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = error is None
        attempt = WebhookAttempt(
            job_id=job.id,
            number=number,
            message_id=message_id,
            event=event_type(job),
            url=job.callback_url,
            at=now,
            status_code=status,
            ok=ok,
            error=error,
            duration_s=round(time.monotonic() - started, 4),
        )
        if ok:
            state, next_at = WebhookState.DELIVERED, None
        elif permanent or number > len(self.retry_s):
            state, next_at = WebhookState.FAILED, None
        else:
            delay = self.retry_s[number - 1]
            if retry_after is not None:
                delay = max(delay, min(retry_after, 86400.0))
            state, next_at = WebhookState.PENDING, now + delay
        self.store.record_webhook(attempt, state, next_at)
        log.info("webhook %s for job %s attempt %d: %s", attempt.event, job.id, number,
                 "delivered" if ok else error)  # fmt: skip
        return attempt


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
