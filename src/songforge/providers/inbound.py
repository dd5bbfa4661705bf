"""Inbound provider webhooks: verify, record, hand over to whoever waits.

``POST /v1/providers/{name}/webhook`` calls ``InboundWebhooks.handle(name, headers, raw_body)``.

* Replicate signs with Standard Webhooks: HMAC-SHA256 over the exact bytes
  ``{webhook-id}.{webhook-timestamp}.{body}`` keyed with the base64 after ``whsec_``; any ``v1``
  entry of ``webhook-signature`` may match (key rotation); the timestamp must lie within five
  minutes of now either way; a ``webhook-id`` seen before is a replay. A verified event is
  trusted: its body is the prediction, and the waiting adapter uses it without polling.
* Suno's hosted callback carries no signature, so it is only a hint: the waiting adapter polls
  the gateway at once to confirm, and nothing from the body is believed.

Accepted events go to a ``Waiter``: ``SqliteEventWaiter`` (a file beside the job database,
read by adapters in any worker process) or ``EventWaiter`` (one process, in memory).

Forged and stale calls raise ``WebhookRejected`` (an ``Unauthorized``: 401), replays raise
``WebhookReplayed`` (a ``Conflict``: 409). Neither reaches a waiter or changes a job, and the
log line names the provider, the webhook id and the reason — never the body."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from songforge.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    Unauthorized,
)

if TYPE_CHECKING:
    from songforge.settings import Settings

log = logging.getLogger("songforge.providers.inbound")

TOLERANCE_S = 300.0  # Standard Webhooks: refuse timestamps more than 5 minutes off, either way
SEEN_RETENTION_S = 4 * 24 * 3600.0  # senders retry for about 3 days with the same webhook-id
MAX_ID_CHARS = 256
INBOX_FILE = "inbound-webhooks.db"  # beside the job database: replay ids and events


class WebhookRejected(Unauthorized):
    """An inbound webhook is unsigned, forged or stale (HTTP 401)."""

    code = "webhook_rejected"


class WebhookReplayed(Conflict):
    """An inbound webhook id was already accepted once (HTTP 409)."""

    code = "webhook_replayed"


# --- Standard Webhooks verification ----------------------------------------------------------


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (a bare base64 secret is accepted too)."""
    body = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderUnavailable("the webhook secret is not whsec_ followed by base64") from None
    if not key:
        raise ProviderUnavailable("the webhook secret is empty")
    return key


def verify_standard_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> str:
    """Check a Standard Webhooks signature over the raw ``body``; returns the webhook id.
    Raises ``WebhookRejected`` naming what was wrong (missing header, stale or future
    timestamp, no matching v1 signature)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not message_id or not stamp or not signatures:
        raise WebhookRejected("missing webhook-id, webhook-timestamp or webhook-signature header")
    if len(message_id) > MAX_ID_CHARS:
        raise WebhookRejected("webhook-id is too long")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookRejected("webhook-timestamp is not Unix seconds") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance_s:
        raise WebhookRejected("webhook-timestamp is too old")
    if timestamp > current + tolerance_s:
        raise WebhookRejected("webhook-timestamp is too far in the future")
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = hmac.new(webhook_key(secret), signed, hashlib.sha256).digest()
    matched = False
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        matched |= hmac.compare_digest(expected, candidate)  # no early exit: constant time
    if not matched:
        raise WebhookRejected("no v1 signature matches")
    return message_id


# --- replay protection -----------------------------------------------------------------------


class SeenIds(Protocol):
    """Remembers accepted webhook ids for ``SEEN_RETENTION_S`` seconds."""

    def first_time(self, namespace: str, key: str) -> bool:
        """Record ``key``; True when it was not seen before (atomic: one caller wins)."""
        ...


class MemorySeenIds:
    """In-process ids (one process; tests and the memory store backend)."""

    def __init__(
        self,
        retention_s: float = SEEN_RETENTION_S,
        max_ids: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention_s = retention_s
        self.max_ids = max_ids
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, namespace: str, key: str) -> bool:
        now = self.clock()
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if seen_at >= now - self.retention_s and len(self._seen) < self.max_ids:
                    break
                del self._seen[oldest]
            if (namespace, key) in self._seen:
                return False
            self._seen[(namespace, key)] = now
            return True


class SqliteSeenIds:
    """Ids in a SQLite file, shared by every process of one deployment."""

    def __init__(
        self,
        path: Path,
        retention_s: float = SEEN_RETENTION_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.retention_s = retention_s
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(_connect(self.path)) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS seen_webhooks (namespace TEXT NOT NULL, "
                "key TEXT NOT NULL, seen_at REAL NOT NULL, PRIMARY KEY (namespace, key))"
            )
            db.execute("CREATE INDEX IF NOT EXISTS seen_webhooks_at ON seen_webhooks (seen_at)")

    def first_time(self, namespace: str, key: str) -> bool:
        now = self.clock()
        with closing(_connect(self.path)) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM seen_webhooks WHERE seen_at < ?", (now - self.retention_s,))
                cursor = db.execute(
                    "INSERT OR IGNORE INTO seen_webhooks (namespace, key, seen_at) "
                    "VALUES (?, ?, ?)",
                    (namespace, key, now),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return cursor.rowcount == 1


# --- handing events to waiting adapters ------------------------------------------------------


@dataclass(frozen=True)
class WebhookEvent:
    """What arrived for one remote job: ``payload`` is trusted (signature verified) or a mere
    hint (``trusted=False``, payload None) that says "poll now"."""

    provider: str
    key: str  # the prediction id / task id
    payload: Mapping[str, Any] | None
    trusted: bool


class Waiter(Protocol):
    """Where the inbound route leaves events and adapters wait for them."""

    def notify(self, event: WebhookEvent) -> None: ...

    def wait(self, provider: str, key: str, timeout_s: float) -> WebhookEvent | None:
        """The newest event for the job since the last call (trusted ones win over hints),
        or None after ``timeout_s``."""
        ...

    def forget(self, provider: str, key: str) -> None: ...


class EventWaiter:
    """In-process rendezvous between the inbound webhook route and adapters waiting on a
    remote job. Events that arrive before anyone waits (a fast prediction) are kept for
    ``keep_s`` seconds; at most ``max_keys`` jobs are remembered."""

    def __init__(self, keep_s: float = 900.0, max_keys: int = 10_000) -> None:
        self.keep_s = keep_s
        self.max_keys = max_keys
        self._events: OrderedDict[tuple[str, str], tuple[float, list[WebhookEvent]]] = OrderedDict()
        self._changed = threading.Condition()

    def notify(self, event: WebhookEvent) -> None:
        now = time.monotonic()
        with self._changed:
            slot = (event.provider, event.key)
            _, queued = self._events.pop(slot, (now, []))
            queued.append(event)
            self._events[slot] = (now, queued)
            while self._events:
                oldest, (at, _) = next(iter(self._events.items()))
                if at >= now - self.keep_s and len(self._events) <= self.max_keys:
                    break
                del self._events[oldest]
            self._changed.notify_all()

    def wait(self, provider: str, key: str, timeout_s: float) -> WebhookEvent | None:
        """The newest event for the job that arrived since the last call (trusted ones win
        over hints), or None after ``timeout_s``."""
        slot = (provider, key)
        with self._changed:
            if not self._changed.wait_for(
                lambda: bool(self._events.get(slot, (0.0, []))[1]), timeout=max(0.0, timeout_s)
            ):
                return None
            at, queued = self._events[slot]
            self._events[slot] = (at, [])
        trusted = [event for event in queued if event.trusted]
        return trusted[-1] if trusted else queued[-1]

    def forget(self, provider: str, key: str) -> None:
        with self._changed:
            self._events.pop((provider, key), None)


class SqliteEventWaiter:
    """Events in a SQLite file, so job workers in other processes than the API's still get
    their webhooks: the route inserts, the waiting adapter reads the local file every
    ``check_s`` seconds (cheap) instead of polling the provider."""

    def __init__(
        self,
        path: Path,
        *,
        keep_s: float = 900.0,
        check_s: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.keep_s = keep_s
        self.check_s = check_s
        self.clock = clock
        self._ready = False  # the file is made on first use, not when an adapter is built

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(_connect(self.path)) as db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS inbound_events (seq INTEGER PRIMARY KEY "
                    "AUTOINCREMENT, provider TEXT NOT NULL, key TEXT NOT NULL, trusted INTEGER "
                    "NOT NULL, payload TEXT, at REAL NOT NULL)"
                )
                db.execute(
                    "CREATE INDEX IF NOT EXISTS inbound_events_job "
                    "ON inbound_events (provider, key)"
                )
            self._ready = True
        return _connect(self.path)

    def notify(self, event: WebhookEvent) -> None:
        payload = json.dumps(dict(event.payload)) if event.payload is not None else None
        now = self.clock()
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM inbound_events WHERE at < ?", (now - self.keep_s,))
            db.execute(
                "INSERT INTO inbound_events (provider, key, trusted, payload, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (event.provider, event.key, int(event.trusted), payload, now),
            )
            db.execute("COMMIT")

    def wait(self, provider: str, key: str, timeout_s: float) -> WebhookEvent | None:
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            events = self._take(provider, key)
            if events:
                trusted = [event for event in events if event.trusted]
                return trusted[-1] if trusted else events[-1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(self.check_s, remaining))

    def forget(self, provider: str, key: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM inbound_events WHERE provider = ? AND key = ?", (provider, key))

    def _take(self, provider: str, key: str) -> list[WebhookEvent]:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                "SELECT seq, trusted, payload FROM inbound_events WHERE provider = ? AND key = ? "
                "ORDER BY seq",
                (provider, key),
            ).fetchall()
            if rows:
                db.execute(
                    "DELETE FROM inbound_events WHERE provider = ? AND key = ? AND seq <= ?",
                    (provider, key, rows[-1][0]),
                )
            db.execute("COMMIT")
        return [
            WebhookEvent(provider, key, json.loads(payload) if payload else None, bool(trusted))
            for _, trusted, payload in rows
        ]


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    return db


_shared_waiter: EventWaiter | None = None
_shared_lock = threading.Lock()


def shared_waiter() -> EventWaiter:
    """The process's in-memory waiter (webhooks reach only adapters in this process)."""
    global _shared_waiter
    with _shared_lock:
        if _shared_waiter is None:
            _shared_waiter = EventWaiter()
        return _shared_waiter


def waiter_for(settings: Settings) -> Waiter:
    """The waiter the API route and the adapters share under these settings: a SQLite file
    beside the job database (so process workers get webhooks too), or the in-process one for
    the memory store backend."""
    if settings.store_backend == "memory":
        return shared_waiter()
    return SqliteEventWaiter(Path(settings.data_dir) / INBOX_FILE)


# --- the service the API route calls ---------------------------------------------------------


@dataclass(frozen=True)
class InboundEvent:
    """An accepted inbound call, as the route may log or return it."""

    provider: str
    webhook_id: str
    key: str
    status: str
    trusted: bool


SecretSource = Callable[[], str]


class InboundWebhooks:
    """Verify → record → notify, for ``POST /v1/providers/{name}/webhook``."""

    def __init__(
        self,
        *,
        seen: SeenIds,
        waiter: Waiter,
        replicate_secret: str | SecretSource | None = None,
        tolerance_s: float = TOLERANCE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seen = seen
        self.waiter = waiter
        self._replicate_secret = replicate_secret
        self.tolerance_s = tolerance_s
        self.clock = clock

    def handle(self, provider: str, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        """Accept one inbound call or raise ``WebhookRejected`` (401), ``WebhookReplayed``
        (409), ``InvalidRequest`` (422, a verified but malformed body), ``NotFound`` (404, a
        provider without webhooks) or ``ProviderUnavailable`` (503, no secret configured)."""
        if provider == "replicate":
            return self._replicate(headers, body)
        if provider == "suno":
            return self._suno(body)
        raise NotFound(f"provider {provider!r} sends no webhooks")

    def _replicate(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        source = self._replicate_secret
        if source is None:
            raise ProviderUnavailable(
                "replicate webhooks cannot be verified: no webhook secret configured",
                provider="replicate",
            )
        secret = source() if callable(source) else source
        lowered = {k.lower(): v for k, v in headers.items()}
        message_id = lowered.get("webhook-id", "")[:MAX_ID_CHARS]
        try:
            verify_standard_webhook(
                secret, headers, body, now=self.clock(), tolerance_s=self.tolerance_s
            )
        except WebhookRejected as exc:
            log.warning(
                "refused replicate webhook id=%r (%d bytes): %s", message_id, len(body), exc
            )
            raise
        payload = _json_object(body, "replicate")
        key = payload.get("id")
        if not isinstance(key, str) or not key or len(key) > MAX_ID_CHARS:
            raise InvalidRequest("body", "a replicate webhook must carry the prediction id")
        if not self.seen.first_time("replicate", message_id):
            log.warning("refused replicate webhook id=%r: replayed", message_id)
            raise WebhookReplayed(f"webhook {message_id} was already received")
        status = str(payload.get("status", ""))
        self.waiter.notify(WebhookEvent("replicate", key, payload, trusted=True))
        log.info("replicate webhook id=%r: prediction %s is %s", message_id, key, status)
        return InboundEvent("replicate", message_id, key, status, trusted=True)

    def _suno(self, body: bytes) -> InboundEvent:
        payload = _json_object(body, "suno")
        data = payload.get("data")
        data = data if isinstance(data, Mapping) else {}
        key = data.get("task_id") or data.get("taskId")
        if not isinstance(key, str) or not key or len(key) > MAX_ID_CHARS:
            raise InvalidRequest("body", "a suno callback must carry data.task_id")
        kind = str(data.get("callbackType") or data.get("callback_type") or "")[:32]
        self.waiter.notify(WebhookEvent("suno", key, None, trusted=False))
        log.info("suno callback for task %s (%s): polling to confirm", key, kind or "?")
        return InboundEvent("suno", "", key, kind, trusted=False)


def _json_object(body: bytes, provider: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("body", f"a {provider} webhook body must be JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("body", f"a {provider} webhook body must be a JSON object")
    return payload


def inbound_from_settings(
    settings: Settings,
    *,
    seen: SeenIds | None = None,
    waiter: Waiter | None = None,
) -> InboundWebhooks:
    """The service the API builds once: replay ids and events in SQLite beside the job
    database (in memory for the memory store backend), and Replicate's secret from the
    settings or fetched once from ``GET /webhooks/default/secret``."""
    if seen is None:
        if settings.store_backend == "memory":
            seen = MemorySeenIds()
        else:
            seen = SqliteSeenIds(Path(settings.data_dir) / INBOX_FILE)
    secret: str | SecretSource | None = None
    if settings.replicate_webhook_secret is not None:
        secret = settings.replicate_webhook_secret.get_secret_value()
    elif settings.replicate_api_token is not None:
        from songforge.providers.replicate import from_settings as replicate_from_settings

        secret = replicate_from_settings(settings).webhook_secret
    return InboundWebhooks(
        seen=seen, waiter=waiter or waiter_for(settings), replicate_secret=secret
    )


__all__ = [
    "TOLERANCE_S",
    "EventWaiter",
    "InboundEvent",
    "InboundWebhooks",
    "MemorySeenIds",
    "SecretSource",
    "SeenIds",
    "SqliteEventWaiter",
    "SqliteSeenIds",
    "Waiter",
    "WebhookEvent",
    "WebhookRejected",
    "WebhookReplayed",
    "inbound_from_settings",
    "shared_waiter",
    "verify_standard_webhook",
    "waiter_for",
    "webhook_key",
]
