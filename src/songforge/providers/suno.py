"""``suno`` — a Suno-compatible gateway (Suno has no official public API), in either shape:

* ``suno-api`` — the open-source self-hosted gateway: ``POST /api/generate`` (a description)
  or ``/api/custom_generate`` (our lyrics, sung, with the prompt as tags) with
  ``wait_audio: false``; both answer a list of clips (usually two; we keep the first). We poll
  ``GET /api/get?ids=`` until that clip is ``complete``: submitted, queued and ``streaming``
  are not final (a streaming clip's URL is a live stream, not the file). ``error`` fails.
  Errors are ``{"error": ...}``: 402 out of credits (not retryable), 503 upstream unreachable
  and 500 retryable.
* ``hosted`` — a reseller wrapping every answer in ``{code, msg, data}``:
  ``POST /api/v1/generate`` (custom mode when lyrics are given: ``style`` + ``title`` +
  ``prompt`` = lyrics; otherwise a description of at most 500 characters) → ``data.taskId``;
  we poll ``GET /api/v1/generate/record-info?taskId=`` until ``SUCCESS`` (or
  ``FIRST_SUCCESS`` with the first track's ``audioUrl`` present: that track is complete).
  ``SENSITIVE_WORD_ERROR`` is a moderation refusal → ``ContentRefused``. The envelope's
  ``code`` is checked even on HTTP 200 and read as the resellers document it: 429 is *out of
  credits* (not retryable), 430 is the rate limit and 455 maintenance (both retryable).
  When ``public_base_url`` is set we pass ``callBackUrl`` = our
  ``/v1/providers/suno/webhook``; its unsigned call only wakes the poll loop early (a hint),
  and we confirm by polling. Some gateways insist on ``callBackUrl``: set the public URL.

Lyrics imply vocals (custom mode, sung). ``ClipRequest.extend_clip_id`` continues a clip this
gateway made before (``/api/extend_audio`` or ``/api/v1/generate/extend`` at
``extend_at_s``); Suno cannot continue arbitrary audio, so ``continuation`` stays False.
Suno decides a song's length itself (up to 4 min for v4, 8 min for v4.5+/v5): clips are not
trimmed to ``duration_s``. Audio is downloaded only from Suno's CDN hosts or the gateway's own;
resellers often serve files from a CDN of theirs: list its host in SONGFORGE_SUNO_AUDIO_HOSTS."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from songforge.errors import ContentRefused, ProviderError, ProviderUnavailable
from songforge.progress import Progress, ProgressCallback
from songforge.providers.base import (
    Capabilities,
    Clip,
    ClipRequest,
    Health,
    PriceKind,
    PriceModel,
)
from songforge.providers.fetch import FetchPolicy, fetch_audio, validate_clip
from songforge.providers.http import (
    check_api_url,
    host_of,
    json_of,
    make_client,
    redactor_for,
    secret_value,
    send,
)
from songforge.providers.inbound import Waiter, shared_waiter, waiter_for

if TYPE_CHECKING:
    from songforge.settings import Settings

log = logging.getLogger("songforge.providers.suno")

NAME = "suno"
Shape = Literal["suno-api", "hosted"]
DEFAULT_MODELS: dict[str, str] = {"suno-api": "chirp-v3-5", "hosted": "V4_5"}
SUNO_CDN_HOSTS = ("cdn1.suno.ai", "cdn2.suno.ai")
MAX_DESCRIPTION_CHARS = 500  # hosted non-custom prompt
MAX_TITLE_CHARS = 80
MIN_POLL_GAP_S = 1.0  # callback hints never make us poll faster than this
_LONG_MODELS = re.compile(r"v4[_-]?5|v5|auk|bluejay|crow", re.I)
_REFUSAL = re.compile(
    r"sensitive|moderat|inappropriate|not allowed|banned|copyright|artist name", re.I
)
_PENDING_API = frozenset({"submitted", "queued", "streaming", ""})
_FAILED_HOSTED = frozenset({"CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED"})
_HOSTED_ERRORS: dict[int, tuple[str, bool]] = {
    400: ("bad parameters", False),
    401: ("the API key was rejected", False),
    404: ("wrong method or path", False),
    405: ("call limit exceeded", True),
    413: ("prompt or style too long", False),
    429: ("out of credits", False),
    430: ("calling too often", True),
    455: ("the gateway is under maintenance", True),
    500: ("gateway error", True),
}


class SunoProvider:
    """A Suno-compatible gateway in the ``suno-api`` or ``hosted`` shape."""

    name = NAME

    def __init__(
        self,
        base_url: str | None,
        *,
        shape: Shape = "suno-api",
        api_key: str | SecretStr | None = None,
        model: str | None = None,
        public_base_url: str | None = None,
        audio_hosts: tuple[str, ...] = SUNO_CDN_HOSTS,
        usd_per_generation: float = 0.06,
        poll_s: float = 5.0,
        min_poll_gap_s: float = MIN_POLL_GAP_S,
        timeout_s: float = 600.0,
        max_download_bytes: int = 200_000_000,
        download_timeout_s: float = 120.0,
        http_hosts: tuple[str, ...] = (),
        client: httpx.Client | None = None,
        waiter: Waiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if shape not in DEFAULT_MODELS:
            raise ValueError(f"suno shape must be suno-api or hosted, not {shape!r}")
        self.shape: Shape = shape
        self._key = secret_value(api_key)
        self._redact = redactor_for(self._key)
        self.base_url = (base_url or "").rstrip("/")
        gateway_host = host_of(self.base_url)
        self.fetch_policy = FetchPolicy(
            tuple(audio_hosts) + ((gateway_host,) if gateway_host else ()),
            allow_http_hosts=tuple(http_hosts),
            max_bytes=max_download_bytes,
            timeout_s=download_timeout_s,
        )
        if self.base_url and self._key:
            self.base_url = check_api_url(self.base_url, provider=NAME, http_hosts=http_hosts)
        elif self.base_url and urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ProviderError(f"suno: {self.base_url!r} is not an http(s) URL", provider=NAME)
        self.model = model or DEFAULT_MODELS[shape]
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.usd_per_generation = usd_per_generation
        self.poll_s = poll_s
        self.min_poll_gap_s = min_poll_gap_s
        self.timeout_s = timeout_s
        self.client = client or make_client(read_timeout_s=60.0)
        self.waiter = waiter if waiter is not None else shared_waiter()
        self.sleep = sleep
        self.capabilities = Capabilities(
            max_clip_s=480.0 if _LONG_MODELS.search(self.model) else 240.0,
            min_clip_s=30.0,
            continuation=False,
            vocals=True,
            lyrics=True,
            stereo=True,
            sample_rate_hz=44100,  # nominal: each clip reports the rate of its file
            mode="async",
            webhooks=shape == "hosted" and self.public_base_url is not None,
            local=False,
            price=PriceModel(
                kind=PriceKind.PER_REQUEST,
                usd=usd_per_generation,
                notes="estimate: gateways price generations differently (a request makes two "
                "songs); set SONGFORGE_SUNO_USD to your gateway's price",
            ),
        )

    # --- the Provider protocol ---------------------------------------------------------------

    def configured(self) -> bool:
        if not self.base_url:
            return False
        return self.shape == "suno-api" or bool(self._key)

    def health(self) -> Health:
        if not self.configured():
            return Health(False, "no gateway URL (SONGFORGE_SUNO_BASE_URL) or key")
        try:
            if self.shape == "suno-api":
                limit = json_of(self._call("GET", "/api/get_limit"), provider=NAME)
                left = limit.get("credits_left") if isinstance(limit, dict) else None
            else:
                left = self._hosted("GET", "/api/v1/generate/credit")
        except ProviderError as exc:
            return Health(False, exc.message)
        return Health(True, f"{left} credits left")

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        if not self.configured():
            raise ProviderUnavailable(
                "suno: no gateway configured (SONGFORGE_SUNO_BASE_URL, and "
                "SONGFORGE_SUNO_API_KEY for a hosted gateway)",
                provider=NAME,
            )
        deadline = time.monotonic() + self.timeout_s
        progress(Progress("suno:submit", 0, 100))
        if self.shape == "suno-api":
            key = self._submit_api(request)
            track = self._wait(key, deadline, progress, self._poll_api)
        else:
            key = self._submit_hosted(request)
            try:
                track = self._wait(key, deadline, progress, self._poll_hosted)
            finally:
                self.waiter.forget(NAME, key)
        return self._clip(key, track, request, progress)

    # --- the open-source suno-api shape ------------------------------------------------------

    def _submit_api(self, request: ClipRequest) -> str:
        if request.extend_clip_id:
            body: dict[str, Any] = {
                "audio_id": request.extend_clip_id,
                "prompt": request.lyrics or "",
                "tags": request.prompt,
                "title": _title(request),
                "model": self.model,
            }
            if request.extend_at_s is not None:
                body["continue_at"] = round(float(request.extend_at_s), 2)
            path = "/api/extend_audio"
        elif request.lyrics:
            body = {
                "prompt": request.lyrics,
                "tags": request.prompt,
                "title": _title(request),
                "make_instrumental": False,
                "model": self.model,
                "wait_audio": False,
            }
            if request.negative_prompt:
                body["negative_tags"] = request.negative_prompt
            path = "/api/custom_generate"
        else:
            body = {
                "prompt": request.prompt,
                "make_instrumental": request.instrumental,
                "model": self.model,
                "wait_audio": False,
            }
            path = "/api/generate"
        clips = json_of(self._call("POST", path, json=body), provider=NAME)
        if isinstance(clips, dict):
            clips = clips.get("clips") or clips.get("data") or [clips]
        if not isinstance(clips, list) or not clips or not isinstance(clips[0], dict):
            raise ProviderError("suno: the gateway answered no clips", provider=NAME)
        first = clips[0]
        if not first.get("id"):
            raise ProviderError("suno: the gateway answered a clip without an id", provider=NAME)
        return str(first["id"])

    def _poll_api(self, clip_id: str) -> dict[str, Any] | None:
        found = json_of(self._call("GET", "/api/get", params={"ids": clip_id}), provider=NAME)
        clips = found if isinstance(found, list) else [found]
        clip = next((c for c in clips if isinstance(c, dict) and c.get("id") == clip_id), None)
        if clip is None:
            raise ProviderError(f"suno: clip {clip_id} is unknown to the gateway", provider=NAME)
        status = str(clip.get("status") or "")
        if status in _PENDING_API:
            return None
        if status == "complete":
            return {
                "id": clip_id,
                "audio_url": clip.get("audio_url"),
                "title": clip.get("title"),
                "tags": clip.get("tags"),
                "lyrics": clip.get("lyric"),
                "duration_s": clip.get("duration"),
                "model": clip.get("model_name"),
            }
        message = self._redact.text(str(clip.get("error_message") or status))[:300]
        if _REFUSAL.search(message):
            raise ContentRefused(f"suno: refused: {message}", provider=NAME)
        raise ProviderError(f"suno: clip {clip_id} failed: {message}", provider=NAME)

    # --- the hosted shape --------------------------------------------------------------------

    def _submit_hosted(self, request: ClipRequest) -> str:
        body: dict[str, Any] = {"model": self.model}
        if self.public_base_url:
            body["callBackUrl"] = f"{self.public_base_url}/v1/providers/{NAME}/webhook"
        if request.extend_clip_id:
            body.update(
                defaultParamFlag=True,
                audioId=request.extend_clip_id,
                prompt=request.lyrics or request.prompt,
                style=request.prompt,
                title=_title(request),
            )
            if request.extend_at_s is not None:
                body["continueAt"] = round(float(request.extend_at_s), 2)
            path = "/api/v1/generate/extend"
        elif request.lyrics:
            body.update(
                customMode=True,
                instrumental=False,
                prompt=request.lyrics,
                style=request.prompt,
                title=_title(request),
            )
            path = "/api/v1/generate"
        else:
            body.update(
                customMode=False,
                instrumental=request.instrumental,
                prompt=_shorten(request.prompt, MAX_DESCRIPTION_CHARS),
            )
            path = "/api/v1/generate"
        if request.negative_prompt:
            body["negativeTags"] = request.negative_prompt
        data = self._hosted("POST", path, json=body)
        task = data.get("taskId") if isinstance(data, dict) else None
        if not isinstance(task, str) or not task:
            raise ProviderError("suno: the gateway answered no taskId", provider=NAME)
        return task

    def _poll_hosted(self, task_id: str) -> dict[str, Any] | None:
        data = self._hosted("GET", "/api/v1/generate/record-info", params={"taskId": task_id})
        if not isinstance(data, dict):
            raise ProviderError("suno: record-info answered no data", provider=NAME)
        status = str(data.get("status") or "")
        response = data.get("response")
        tracks = response.get("sunoData") if isinstance(response, dict) else None
        first = tracks[0] if isinstance(tracks, list) and tracks else None
        ready = isinstance(first, dict) and bool(first.get("audioUrl"))
        if status == "SENSITIVE_WORD_ERROR":
            raise ContentRefused(
                f"suno: refused by the gateway's moderation ({self._error_text(data)})",
                provider=NAME,
            )
        if status in _FAILED_HOSTED or (status == "CALLBACK_EXCEPTION" and not ready):
            raise ProviderError(
                f"suno: task {task_id} {status}: {self._error_text(data)}", provider=NAME
            )
        if not isinstance(first, dict) or not ready:
            return None
        if status not in ("SUCCESS", "FIRST_SUCCESS", "CALLBACK_EXCEPTION"):
            return None
        return {
            "id": first.get("id"),
            "audio_url": first.get("audioUrl"),
            "title": first.get("title"),
            "tags": first.get("tags"),
            "lyrics": first.get("prompt"),
            "duration_s": first.get("duration"),
            "model": first.get("modelName"),
        }

    def _hosted(self, method: str, path: str, **kwargs: Any) -> Any:
        """A hosted-shape call: the HTTP status, then the envelope's own ``code``."""
        envelope = json_of(self._call(method, path, **kwargs), provider=NAME)
        if not isinstance(envelope, dict):
            raise ProviderError("suno: the gateway answered no envelope", provider=NAME)
        code = envelope.get("code", 200)
        if code == 200:
            return envelope.get("data")
        code = int(code) if isinstance(code, int | str) and str(code).isdigit() else 500
        what, retryable = _HOSTED_ERRORS.get(code, ("gateway error", code >= 500))
        message = self._redact.text(str(envelope.get("msg") or ""))[:300]
        text = f"suno: {what} (code {code})" + (f": {message}" if message else "")
        if _REFUSAL.search(message) and code in (400, 500):
            raise ContentRefused(text, provider=NAME, status=code)
        raise ProviderError(
            text,
            provider=NAME,
            retryable=retryable,
            retry_after_s=5.0 if code == 430 else None,
            status=code,
        )

    def _error_text(self, data: Mapping[str, Any]) -> str:
        return self._redact.text(str(data.get("errorMessage") or "no detail"))[:300]

    # --- shared ------------------------------------------------------------------------------

    def _wait(
        self,
        key: str,
        deadline: float,
        progress: ProgressCallback,
        poll: Callable[[str], dict[str, Any] | None],
    ) -> dict[str, Any]:
        hints = self.shape == "hosted" and self.public_base_url is not None
        polls = 0
        while True:
            track = poll(key)
            if track is not None:
                return track
            polls += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(
                    f"suno: {key} did not finish within {self.timeout_s:.0f} s",
                    provider=NAME,
                    retryable=True,
                )
            progress(Progress("suno:generate", min(90, 5 + 5 * polls), 100))
            if hints:
                woke = time.monotonic()
                if self.waiter.wait(NAME, key, min(self.poll_s, remaining)) is not None:
                    gap = min(self.min_poll_gap_s, self.poll_s) - (time.monotonic() - woke)
                    if gap > 0:
                        self.sleep(gap)
            else:
                self.sleep(min(self.poll_s, remaining))

    def _clip(
        self, key: str, track: dict[str, Any], request: ClipRequest, progress: ProgressCallback
    ) -> Clip:
        url = track.get("audio_url")
        if not isinstance(url, str) or not url:
            raise ProviderError(f"suno: {key} finished without audio", provider=NAME)
        progress(Progress("suno:download", 92, 100))
        fetched = fetch_audio(
            url, self.fetch_policy, provider=NAME, client=self.client, redactor=self._redact
        )
        audio, sample_rate_hz = fetched.audio, fetched.sample_rate_hz
        progress(Progress("suno:done", 100, 100))
        clip = Clip(
            audio=audio,
            sample_rate_hz=sample_rate_hz,
            provider=NAME,
            cost_usd=self.usd_per_generation,
            info={
                "shape": self.shape,
                "model": track.get("model") or self.model,
                "clip_id": track.get("id"),
                "task_id": key if self.shape == "hosted" else None,
                "title": track.get("title"),
                "tags": track.get("tags"),
                "lyrics": track.get("lyrics"),
                "duration_s": round(audio.shape[1] / sample_rate_hz, 3),
            },
        )
        return validate_clip(clip, request, NAME)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        try:
            return send(
                self.client,
                method,
                f"{self.base_url}{path}",
                provider=NAME,
                redactor=self._redact,
                headers=headers,
                **kwargs,
            )
        except ProviderError as exc:
            if exc.status in (400, 422, 500) and _REFUSAL.search(exc.message):
                raise ContentRefused(exc.message, provider=NAME, status=exc.status) from None
            raise

    def close(self) -> None:
        self.client.close()


def _title(request: ClipRequest) -> str:
    words = request.section or request.genre or "songforge"
    return _shorten(str(words).strip().title(), MAX_TITLE_CHARS)


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut or text[:limit]


def from_settings(settings: Settings, *, waiter: Waiter | None = None) -> SunoProvider:
    """The adapter as the registry builds it from ``Settings``."""
    return SunoProvider(
        settings.suno_base_url,
        shape=settings.suno_shape,
        api_key=settings.suno_api_key,
        model=settings.suno_model,
        public_base_url=settings.public_base_url,
        audio_hosts=tuple(settings.suno_audio_hosts),
        usd_per_generation=settings.suno_usd,
        poll_s=settings.suno_poll_s,
        timeout_s=settings.provider_timeouts.get(NAME, settings.provider_timeout_s),
        max_download_bytes=settings.provider_fetch_max_bytes,
        download_timeout_s=settings.provider_fetch_timeout_s,
        http_hosts=tuple(settings.provider_fetch_allow_http),
        waiter=waiter if waiter is not None else waiter_for(settings),
    )


__all__ = ["NAME", "SUNO_CDN_HOSTS", "SunoProvider", "from_settings"]
