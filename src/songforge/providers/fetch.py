"""Safe download of provider output, and the checks every clip passes before we use it.

A provider answers with a URL; we fetch it only over https and only from the hosts the adapter
declares (plus, for local emulators in tests, hosts allowed over plain http by the
``provider_fetch_allow_http`` setting), with a size cap and a timeout, following redirects only
to hosts that pass the same rules — and the bytes must decode as audio."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import numpy as np

from songforge.errors import ProviderError, ProviderUnavailable
from songforge.providers.base import Clip, ClipRequest
from songforge.providers.redact import Redactor
from songforge.settings import Settings

if TYPE_CHECKING:
    import httpx

MIN_SAMPLE_RATE_HZ = 8000
MAX_SAMPLE_RATE_HZ = 192000
MIN_CLIP_FRACTION = 0.5  # a clip shorter than this share of what was asked for is a failure
_CHUNK_BYTES = 1 << 16
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Where provider audio may come from and how much of it."""

    allowed_hosts: tuple[str, ...]  # exact names, or "*.example.com" for any subdomain
    allow_http_hosts: tuple[str, ...] = ()  # test emulators, e.g. "127.0.0.1"
    max_bytes: int = 200_000_000
    timeout_s: float = 120.0
    max_redirects: int = 3

    @classmethod
    def from_settings(cls, settings: Settings, allowed_hosts: Iterable[str]) -> FetchPolicy:
        return cls(
            allowed_hosts=tuple(allowed_hosts),
            allow_http_hosts=tuple(settings.provider_fetch_allow_http),
            max_bytes=settings.provider_fetch_max_bytes,
            timeout_s=settings.provider_fetch_timeout_s,
        )

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for allowed in (*self.allowed_hosts, *self.allow_http_hosts):
            allowed = allowed.lower().rstrip(".")
            if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
                return True
        return False

    def check(self, url: str, provider: str = "") -> None:
        """Raise a (non-retryable) ProviderError unless ``url`` may be fetched."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        shown = _shown(url)
        if parts.username or parts.password:
            raise _refused(f"refusing to download {shown}: credentials in the URL", provider)
        if not host or not self.host_allowed(host):
            raise _refused(
                f"refusing to download {shown}: {host or 'no host'} is not one of the "
                f"provider's hosts ({', '.join(self.allowed_hosts) or 'none declared'})",
                provider,
            )
        if parts.scheme == "https":
            return
        if parts.scheme == "http" and host in {h.lower() for h in self.allow_http_hosts}:
            return
        raise _refused(f"refusing to download {shown}: only https is allowed", provider)


@dataclass(frozen=True, slots=True)
class FetchedAudio:
    data: bytes
    content_type: str
    audio: np.ndarray  # float32 (channels, n)
    sample_rate_hz: int

    @property
    def duration_s(self) -> float:
        return self.audio.shape[-1] / self.sample_rate_hz


def _shown(url: str) -> str:
    """The URL as it may appear in an error: no query string (signed URLs carry credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:200]


def _refused(message: str, provider: str) -> ProviderError:
    return ProviderError(message, provider=provider, retryable=False)


def fetch_audio(
    url: str,
    policy: FetchPolicy,
    *,
    provider: str = "",
    client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
    redactor: Redactor | None = None,
) -> FetchedAudio:
    """Download provider audio under ``policy`` and check it decodes. ``client`` lets adapters
    share a connection pool (and tests pass an ``httpx.MockTransport``)."""
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx ships with the service and remote extras
        raise ProviderUnavailable(
            "downloading provider audio needs httpx: pip install 'songforge[remote]'",
            provider=provider,
        ) from None
    redactor = redactor or Redactor()
    own = client is None
    session = client or httpx.Client(timeout=policy.timeout_s)
    deadline = time.monotonic() + policy.timeout_s
    try:
        current = url
        for _ in range(policy.max_redirects + 1):
            policy.check(current, provider)
            try:
                with session.stream(
                    "GET",
                    current,
                    headers=headers or {},
                    follow_redirects=False,
                    timeout=httpx.Timeout(policy.timeout_s),
                ) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    _raise_for_status(response.status_code, current, provider)
                    data = _read_capped(response, policy, deadline, provider)
                    content_type = response.headers.get("content-type", "")
                    break
            except httpx.TimeoutException:
                raise ProviderError(
                    f"download of {_shown(current)} timed out after {policy.timeout_s:g} s",
                    provider=provider,
                    retryable=True,
                ) from None
            except httpx.HTTPError as exc:
                raise ProviderError(
                    f"download of {_shown(current)} failed: {redactor.error(exc)}",
                    provider=provider,
                    retryable=True,
                ) from None
        else:
            raise _refused(f"too many redirects fetching {_shown(url)}", provider)
    finally:
        if own:
            session.close()
    audio, rate = decode_audio(data, provider=provider)
    return FetchedAudio(data, content_type, audio, rate)


def _raise_for_status(status: int, url: str, provider: str) -> None:
    if status < 400:
        return
    retryable = status in (408, 425, 429) or status >= 500
    gone = " (the provider may have deleted it)" if status in (404, 410) else ""
    raise ProviderError(
        f"download of {_shown(url)} answered {status}{gone}",
        provider=provider,
        retryable=retryable,
        status=status,
    )


def _read_capped(
    response: httpx.Response, policy: FetchPolicy, deadline: float, provider: str
) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise _refused(
            f"provider audio is {int(declared):,} bytes, over the {policy.max_bytes:,} byte cap",
            provider,
        )
    buffer = bytearray()
    for chunk in response.iter_bytes(_CHUNK_BYTES):
        buffer.extend(chunk)
        if len(buffer) > policy.max_bytes:
            raise _refused(f"provider audio is over the {policy.max_bytes:,} byte cap", provider)
        if time.monotonic() > deadline:
            raise ProviderError(
                f"download took longer than {policy.timeout_s:g} s",
                provider=provider,
                retryable=True,
            )
    return bytes(buffer)


def decode_audio(data: bytes, *, provider: str = "") -> tuple[np.ndarray, int]:
    """File bytes (WAV, FLAC, OGG, MP3) → float32 (channels, n) and the sample rate, or a
    non-retryable ProviderError saying the provider did not send audio."""
    import soundfile

    if not data:
        raise _refused("the provider sent an empty file instead of audio", provider)
    try:
        frames, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        head = data[:16].hex()
        raise _refused(
            f"the provider's file is not audio we can decode ({len(data):,} bytes starting "
            f"{head}): {type(exc).__name__}",
            provider,
        ) from None
    audio = np.ascontiguousarray(frames.T)
    check_audio(audio, int(rate), provider=provider)
    return audio, int(rate)


def check_audio(audio: np.ndarray, sample_rate_hz: int, *, provider: str = "") -> None:
    """Raise a ProviderError unless this is non-empty, finite (channels, n) audio."""
    if not MIN_SAMPLE_RATE_HZ <= sample_rate_hz <= MAX_SAMPLE_RATE_HZ:
        raise _refused(f"the provider's audio has an odd sample rate: {sample_rate_hz}", provider)
    if audio.ndim != 2 or audio.shape[0] < 1 or audio.shape[1] == 0:
        raise _refused(f"the provider's audio is empty or misshapen: {audio.shape}", provider)
    if not np.all(np.isfinite(audio)):
        raise _refused("the provider's audio contains NaN or infinite samples", provider)


def validate_clip(clip: Clip, request: ClipRequest, provider: str) -> Clip:
    """A clip made safe to stitch: float32 (1|2, n), finite, peak ≤ 1, long enough."""
    audio = np.asarray(clip.audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[np.newaxis, :]
    elif audio.ndim == 2 and audio.shape[0] > audio.shape[1]:  # (n, channels) by mistake
        audio = np.ascontiguousarray(audio.T)
    check_audio(audio, clip.sample_rate_hz, provider=provider)
    if audio.shape[0] > 2:
        audio = audio[:2]
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        audio = audio / np.float32(peak)
    got_s = audio.shape[1] / clip.sample_rate_hz
    if got_s < MIN_CLIP_FRACTION * request.duration_s:
        raise ProviderError(
            f"{provider} returned {got_s:.1f} s of audio for a {request.duration_s:.1f} s request",
            provider=provider,
            retryable=True,
        )
    if not math.isfinite(clip.cost_usd) or clip.cost_usd < 0:
        raise ProviderError(f"{provider} reported an impossible cost", provider=provider)
    clip.audio = audio
    return clip


__all__ = [
    "FetchPolicy",
    "FetchedAudio",
    "check_audio",
    "decode_audio",
    "fetch_audio",
    "validate_clip",
]
