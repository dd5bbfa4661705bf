"""HTTP plumbing the remote adapters share: a client factory with per-call timeouts, the rule
for where a token may be sent, and the translation of network failures and HTTP statuses into
``ProviderError`` (retryable for network errors, 408/425/429 and 5xx, with the provider's
Retry-After; not retryable for other 4xx). Output downloads and decoding live in
``songforge.providers.fetch``.

Error messages are built from the provider's body (problem+json, Stability's ``errors[]``,
``{"error": ...}``, Google's ``{"error": {"message"}}``) and always pass through the redactor,
so a provider that echoes a token never puts it into our errors or logs."""

from __future__ import annotations

import email.utils
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from songforge.errors import ProviderError
from songforge.providers.redact import Redactor

log = logging.getLogger("songforge.providers.http")

USER_AGENT = "songforge/0.1 (+https://github.com/songforge/songforge)"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
MAX_MESSAGE_CHARS = 400
_RETRYABLE_4XX = frozenset({408, 425, 429})
_NOT_RETRYABLE_5XX = frozenset({501, 505})
_RESETS_IN = re.compile(r"resets? in\s*~?\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?)?", re.I)


# --- clients ---------------------------------------------------------------------------------


def timeout(read_s: float, *, connect_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> httpx.Timeout:
    """A per-call timeout: ``read_s`` for reading and writing, ``connect_s`` to connect."""
    return httpx.Timeout(read_s, connect=min(connect_s, read_s), pool=connect_s)


def make_client(
    *,
    read_timeout_s: float = 60.0,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` with our User-Agent and timeouts; redirects are never followed
    implicitly (downloads follow them one checked hop at a time)."""
    return httpx.Client(
        timeout=timeout(read_timeout_s, connect_s=connect_timeout_s),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        follow_redirects=False,
        transport=transport,
    )


# --- where a provider may be reached ---------------------------------------------------------


def check_api_url(url: str, *, provider: str, http_hosts: Iterable[str] = ()) -> str:
    """An API URL we send a token to must be https, unless its host is one of ``http_hosts``
    (``SONGFORGE_PROVIDER_FETCH_ALLOW_HTTP``: test emulators). Returns it without a trailing /."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host and (
        parts.scheme == "https"
        or (parts.scheme == "http" and host in {h.lower() for h in http_hosts})
    ):
        return url.rstrip("/")
    raise ProviderError(
        f"{provider}: refusing to send credentials to {parts.scheme}://{host or '?'}: the API "
        "URL must be https (plain http only for hosts in SONGFORGE_PROVIDER_FETCH_ALLOW_HTTP)",
        provider=provider,
    )


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# --- requests and errors ---------------------------------------------------------------------


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    redactor: Redactor,
    **kwargs: Any,
) -> httpx.Response:
    """One request; network failures become retryable ``ProviderError``s and statuses ≥ 400
    become errors through ``error_for``. The response is returned read."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderError(
            f"{provider}: {method} {_path(url)} timed out ({type(exc).__name__})",
            provider=provider,
            retryable=True,
        ) from None
    except httpx.TransportError as exc:
        raise ProviderError(
            f"{provider}: {method} {_path(url)} failed: "
            f"{redactor.text(str(exc)) or type(exc).__name__}",
            provider=provider,
            retryable=True,
        ) from None
    log.debug("%s %s %s -> %s", provider, method, _path(url), response.status_code)
    if response.status_code >= 400:
        raise error_for(response, provider=provider, redactor=redactor)
    return response


def error_for(response: httpx.Response, *, provider: str, redactor: Redactor) -> ProviderError:
    """The ``ProviderError`` an HTTP error status stands for: retryable for 408/425/429 and
    5xx (with the provider's Retry-After), not retryable for other 4xx."""
    status = response.status_code
    detail = describe_body(response, redactor=redactor)
    retryable = status in _RETRYABLE_4XX or (status >= 500 and status not in _NOT_RETRYABLE_5XX)
    hint = {
        401: "the API token was rejected; check it",
        402: "payment required: the account is out of credits",
        403: "forbidden",
        404: "not found",
        429: "rate limited",
    }.get(status, "")
    parts = [p for p in (hint, detail) if p]
    message = f"{provider}: HTTP {status}" + (f": {'; '.join(parts)}" if parts else "")
    return ProviderError(
        message,
        provider=provider,
        retryable=retryable,
        retry_after_s=retry_after_s(response, detail) if retryable else None,
        status=status,
    )


def describe_body(response: httpx.Response, *, redactor: Redactor) -> str:
    """A short, redacted description of an error body in any of the shapes providers use."""
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip() if _is_text(response) else ""
        return _clip(redactor.text(" ".join(text.split())))
    return _clip(redactor.text(_message_from(body)))


def _message_from(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(_message_from(item) for item in body[:3])
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):  # Google: {"error": {"code", "message", "status"}}
        return str(error.get("message") or error.get("status") or "")
    if isinstance(error, str) and error:  # suno-api, ACE-Step: {"error": "..."}
        return error
    if isinstance(body.get("errors"), list):  # Stability: {"id", "name", "errors": [...]}
        name = body.get("name")
        listed = "; ".join(str(e) for e in body["errors"][:5])
        return f"{name}: {listed}" if name else listed
    if "title" in body or "detail" in body:  # problem+json: {type, title, status, detail}
        title, detail = body.get("title"), body.get("detail")
        if title and detail and str(detail).startswith(str(title)):
            return str(detail)
        return ": ".join(str(v) for v in (title, detail) if v)
    for key in ("msg", "message", "detail"):  # {code, msg, data}; FastAPI {"detail": ...}
        if body.get(key):
            return _message_from(body[key])
    return ""


def retry_after_s(response: httpx.Response, detail: str = "") -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), ``ratelimit-reset``, or
    a "resets in ~Ns" detail; None when the provider did not say."""
    header = response.headers.get("retry-after", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(header) if "," in header else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    reset = response.headers.get("ratelimit-reset", "").strip()
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    found = _RESETS_IN.search(detail)
    if found:
        value = float(found.group(1))
        return value / 1000.0 if (found.group(2) or "").lower() == "ms" else value
    return None


def json_of(response: httpx.Response, *, provider: str) -> Any:
    """The JSON body, or a retryable error when a provider answers something else."""
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            f"{provider}: expected JSON from {_path(str(response.request.url))}, got "
            f"{response.headers.get('content-type', 'no content type')}",
            provider=provider,
            retryable=True,
            status=response.status_code,
        ) from None


def _is_text(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    return kind.startswith("text/") or "json" in kind or "xml" in kind or not kind


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path or "/"


# --- bodies and audio ----------------------------------------------------------------------


def read_capped(response: httpx.Response, *, provider: str, max_bytes: int) -> bytes:
    """A streamed response's body, refusing more than ``max_bytes``."""
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise _too_big(provider, max_bytes)
    data = bytearray()
    for chunk in response.iter_bytes():
        data.extend(chunk)
        if len(data) > max_bytes:
            raise _too_big(provider, max_bytes)
    return bytes(data)


def _too_big(provider: str, max_bytes: int) -> ProviderError:
    return ProviderError(
        f"{provider}: the answer is over the {max_bytes:,} byte download cap",
        provider=provider,
    )


def trim_to(
    audio: np.ndarray, sample_rate_hz: int, seconds: float, fade_s: float = 0.05
) -> np.ndarray:
    """Cut a clip to ``seconds`` with a short fade-out (for fixed-length providers)."""
    frames = round(seconds * sample_rate_hz)
    if audio.shape[1] <= frames:
        return audio
    out = np.array(audio[:, :frames], dtype=np.float32)
    fade = min(frames, int(fade_s * sample_rate_hz))
    if fade > 0:
        out[:, -fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


# --- small helpers the adapters share --------------------------------------------------------


def secret_value(secret: Any) -> str:
    """A SecretStr's value (or a plain string); '' for None."""
    if secret is None:
        return ""
    getter = getattr(secret, "get_secret_value", None)
    return str(getter()) if callable(getter) else str(secret)


def redactor_for(*secrets: str, extra: Iterable[str] = ()) -> Redactor:
    return Redactor([s for s in (*secrets, *extra) if s])


def ceil_seconds(seconds: float) -> int:
    return math.ceil(seconds - 1e-9)


__all__ = [
    "USER_AGENT",
    "ceil_seconds",
    "check_api_url",
    "describe_body",
    "error_for",
    "host_of",
    "json_of",
    "make_client",
    "read_capped",
    "redactor_for",
    "retry_after_s",
    "secret_value",
    "send",
    "timeout",
    "trim_to",
]
