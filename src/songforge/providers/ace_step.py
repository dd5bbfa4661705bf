"""``ace-step`` — a self-hosted ACE-Step 1.5 API server (``python -m acestep.api_server``).

Read against the project's API document (docs/en/API.md): ``POST /release_task`` (JSON, or
multipart when a source audio file goes along) answers ``{data: {task_id, status,
queue_position}, code: 200, error}``; ``POST /query_result {"task_id_list": [id]}`` answers
``data: [{task_id, status, result}]`` with status 0 (queued or running), 1 (succeeded) or
2 (failed), and ``result`` a JSON *string* holding a list of ``{file, metas, seed_value, ...}``
where ``file`` is ``/v1/audio?path=...`` on the same server, which we download (with the
same Authorization) under the size cap. Errors are ``{"detail": ...}``; 429 means the queue
is full (retryable).

We pass ``prompt`` (the caption), ``lyrics`` (``[Instrumental]`` for instrumentals),
``audio_duration`` (10–600 s), ``bpm`` (30–300), ``key_scale`` ("E Minor"),
``time_signature`` (the beats per bar, 2/3/4/6), ``seed`` with ``use_random_seed: false``,
``batch_size: 1``, ``audio_format`` and, when configured, ``model``, ``inference_steps`` and
``thinking``. Continuation uses the ``repaint`` task: the prompt audio, padded with silence
to the full length, is uploaded as ``src_audio`` and repainted from its end
(``repainting_start`` = prompt seconds, ``repainting_end`` = -1), so the result starts with
the prompt. The server is the user's own: its URL may be plain http."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
import numpy as np
from pydantic import SecretStr

from songforge.errors import ProviderError, ProviderUnavailable
from songforge.progress import Progress, ProgressCallback
from songforge.providers.base import (
    AudioPrompt,
    Capabilities,
    Clip,
    ClipRequest,
    Health,
    PriceKind,
    PriceModel,
)
from songforge.providers.fetch import FetchPolicy, fetch_audio, validate_clip
from songforge.providers.http import (
    host_of,
    json_of,
    make_client,
    redactor_for,
    secret_value,
    send,
)

if TYPE_CHECKING:
    from songforge.settings import Settings

log = logging.getLogger("songforge.providers.ace_step")

NAME = "ace-step"
MIN_DURATION_S = 10.0
MAX_DURATION_S = 600.0
MIN_BPM, MAX_BPM = 30, 300
SAMPLE_RATE_HZ = 48000
TIME_SIGNATURE_BEATS = frozenset({2, 3, 4, 6})
INSTRUMENTAL = "[Instrumental]"
_KEY = re.compile(r"^\s*([A-Ga-g])([#b♯♭]?)\s*(m|min|minor|maj|major)?\s*$", re.I)


class AceStepProvider:
    """An ACE-Step 1.5 API server (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        base_url: str | None,
        *,
        api_key: str | SecretStr | None = None,
        model: str | None = None,
        inference_steps: int | None = None,
        thinking: bool = False,
        audio_format: str = "flac",
        poll_s: float = 2.0,
        timeout_s: float = 900.0,
        max_download_bytes: int = 200_000_000,
        download_timeout_s: float = 120.0,
        http_hosts: tuple[str, ...] = (),
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or "").rstrip("/")
        scheme = urlsplit(self.base_url).scheme
        if self.base_url and scheme not in ("http", "https"):
            raise ProviderError(f"ace-step: {self.base_url!r} is not an http(s) URL", provider=NAME)
        host = host_of(self.base_url)
        own_http = (host,) if scheme == "http" and host else ()
        self.fetch_policy = FetchPolicy(
            (host,) if host else (),
            allow_http_hosts=tuple(http_hosts) + own_http,
            max_bytes=max_download_bytes,
            timeout_s=download_timeout_s,
        )
        self._key = secret_value(api_key)
        self._redact = redactor_for(self._key)
        self.model = model
        self.inference_steps = inference_steps
        self.thinking = thinking
        self.audio_format = audio_format
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.client = client or make_client(read_timeout_s=120.0)
        self.sleep = sleep
        self.capabilities = Capabilities(
            max_clip_s=MAX_DURATION_S,
            min_clip_s=MIN_DURATION_S,
            continuation=True,
            vocals=True,
            lyrics=True,
            stereo=True,
            sample_rate_hz=SAMPLE_RATE_HZ,
            mode="async",
            webhooks=False,
            local=False,
            price=PriceModel(
                kind=PriceKind.FREE, notes="self-hosted: the cost is your own GPU's time"
            ),
        )

    # --- the Provider protocol ---------------------------------------------------------------

    def configured(self) -> bool:
        return bool(self.base_url)

    def health(self) -> Health:
        if not self.configured():
            return Health(False, "no server URL (SONGFORGE_ACE_STEP_BASE_URL)")
        try:
            data = self._data(self._call("GET", "/health"))
        except ProviderError as exc:
            return Health(False, exc.message)
        status = data.get("status") if isinstance(data, dict) else None
        return Health(status == "ok", f"server status {status}")

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        if not self.configured():
            raise ProviderUnavailable(
                "ace-step: no server URL (set SONGFORGE_ACE_STEP_BASE_URL)", provider=NAME
            )
        deadline = time.monotonic() + self.timeout_s
        progress(Progress("ace-step:submit", 0, 100))
        fields, total_s = self._fields(request)
        if request.continuation is not None:
            source = _padded_wav(request.continuation, total_s)
            form: dict[str, tuple[str | None, str | bytes, str | None]] = {
                name: (None, _form_value(value), None) for name, value in fields.items()
            }
            form["src_audio"] = ("prompt.wav", source, "audio/wav")
            released = self._data(self._call("POST", "/release_task", files=form))
        else:
            released = self._data(self._call("POST", "/release_task", json=fields))
        task_id = released.get("task_id") if isinstance(released, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError("ace-step: release_task answered no task_id", provider=NAME)
        result = self._wait(task_id, deadline, progress)
        return self._clip(task_id, result, request, progress)

    # --- request -----------------------------------------------------------------------------

    def _fields(self, request: ClipRequest) -> tuple[dict[str, Any], float]:
        total_s = float(request.duration_s)
        if request.continuation is not None:
            cont = request.continuation
            total_s += cont.audio.shape[-1] / cont.sample_rate_hz
        total_s = min(MAX_DURATION_S, max(MIN_DURATION_S, total_s))
        fields: dict[str, Any] = {
            "prompt": request.prompt,
            "lyrics": request.lyrics or (INSTRUMENTAL if request.instrumental else ""),
            "audio_duration": round(total_s, 2),
            "batch_size": 1,
            "audio_format": self.audio_format,
            "task_type": "text2music",
            "thinking": self.thinking,
        }
        if request.tempo_bpm is not None:
            fields["bpm"] = int(min(MAX_BPM, max(MIN_BPM, round(request.tempo_bpm))))
        key = _key_scale(request.key)
        if key:
            fields["key_scale"] = key
        beats = _beats(request.time_signature)
        if beats:
            fields["time_signature"] = beats
        if request.seed is not None:
            fields["seed"] = int(request.seed)
            fields["use_random_seed"] = False
        if self.model:
            fields["model"] = self.model
        if self.inference_steps is not None:
            fields["inference_steps"] = self.inference_steps
        if request.continuation is not None:
            cont = request.continuation
            fields["task_type"] = "repaint"
            fields["repainting_start"] = round(cont.audio.shape[-1] / cont.sample_rate_hz, 3)
            fields["repainting_end"] = -1
        return fields, total_s

    # --- wait and fetch ----------------------------------------------------------------------

    def _wait(self, task_id: str, deadline: float, progress: ProgressCallback) -> dict[str, Any]:
        polls = 0
        while True:
            found = self._data(
                self._call("POST", "/query_result", json={"task_id_list": [task_id]})
            )
            items = found if isinstance(found, list) else []
            item = next(
                (i for i in items if isinstance(i, dict) and i.get("task_id") == task_id), None
            )
            status = item.get("status") if item else None
            if item is not None and status == 1:
                return item
            if item is not None and status == 2:
                raise ProviderError(
                    f"ace-step: task {task_id} failed: {self._failure(item)}", provider=NAME
                )
            polls += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(
                    f"ace-step: task {task_id} did not finish within {self.timeout_s:.0f} s",
                    provider=NAME,
                    retryable=True,
                )
            progress(Progress("ace-step:generate", min(90, 5 + 3 * polls), 100))
            self.sleep(min(self.poll_s, remaining))

    def _clip(
        self,
        task_id: str,
        item: Mapping[str, Any],
        request: ClipRequest,
        progress: ProgressCallback,
    ) -> Clip:
        results = _results(item.get("result"))
        first = results[0] if results else {}
        file = first.get("file")
        if not isinstance(file, str) or not file:
            raise ProviderError(f"ace-step: task {task_id} has no result file", provider=NAME)
        progress(Progress("ace-step:download", 92, 100))
        fetched = fetch_audio(
            urljoin(self.base_url + "/", file),
            self.fetch_policy,
            provider=NAME,
            client=self.client,
            headers=self._headers(),
            redactor=self._redact,
        )
        progress(Progress("ace-step:done", 100, 100))
        metas = first.get("metas")
        clip = Clip(
            audio=fetched.audio,
            sample_rate_hz=fetched.sample_rate_hz,
            provider=NAME,
            cost_usd=0.0,
            info={
                "task_id": task_id,
                "clip_id": task_id,
                "model": first.get("dit_model") or self.model,
                "seed": first.get("seed_value"),
                "metas": dict(metas) if isinstance(metas, Mapping) else None,
            },
            includes_prompt_audio=request.continuation is not None,
        )
        return validate_clip(clip, request, NAME)

    def _failure(self, item: Mapping[str, Any]) -> str:
        for result in _results(item.get("result")):
            if result.get("error"):
                return self._redact.text(str(result["error"]))[:300]
        return self._redact.text(str(item.get("error") or "no detail"))[:300]

    # --- plumbing ----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return send(
            self.client,
            method,
            f"{self.base_url}{path}",
            provider=NAME,
            redactor=self._redact,
            headers=self._headers(),
            **kwargs,
        )

    def _data(self, response: httpx.Response) -> Any:
        """The ``data`` of the server's ``{data, code, error}`` wrapper."""
        body = json_of(response, provider=NAME)
        if not isinstance(body, dict):
            raise ProviderError("ace-step: the server answered no wrapper object", provider=NAME)
        code = body.get("code", 200)
        if code != 200 or body.get("error"):
            message = self._redact.text(str(body.get("error") or f"code {code}"))[:300]
            raise ProviderError(
                f"ace-step: {message}", provider=NAME, retryable=code == 429 or code >= 500
            )
        return body.get("data")

    def close(self) -> None:
        self.client.close()


def _results(raw: Any) -> list[dict[str, Any]]:
    """``result`` is a JSON string of a list (as documented); accept the decoded list too."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw else []
        except ValueError:
            return []
    if isinstance(raw, dict):
        raw = [raw]
    return [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []


def _key_scale(key: str | None) -> str | None:
    """ "E minor" / "Em" / "F# major" → "E Minor" / "F# Major" (ACE-Step's spelling)."""
    if not key:
        return None
    found = _KEY.match(key)
    if not found:
        return None
    tonic = found.group(1).upper() + found.group(2).replace("♯", "#").replace("♭", "b")
    mode = (found.group(3) or "major").lower()
    return f"{tonic} {'Minor' if mode in ('m', 'min', 'minor') else 'Major'}"


def _beats(time_signature: str | None) -> str | None:
    if not time_signature:
        return None
    head = time_signature.split("/", 1)[0].strip()
    return head if head.isdigit() and int(head) in TIME_SIGNATURE_BEATS else None


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _padded_wav(prompt: AudioPrompt, total_s: float) -> bytes:
    """The prompt audio followed by silence up to ``total_s``, as WAV bytes."""
    from songforge.render.codec import encode
    from songforge.request import AudioFormat

    audio = np.asarray(prompt.audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[np.newaxis, :]
    frames = round(total_s * prompt.sample_rate_hz)
    padded = np.zeros((audio.shape[0], max(frames, audio.shape[1])), dtype=np.float32)
    padded[:, : audio.shape[1]] = audio
    return encode(padded, prompt.sample_rate_hz, AudioFormat.WAV)


def from_settings(settings: Settings) -> AceStepProvider:
    """The adapter as the registry builds it from ``Settings``."""
    return AceStepProvider(
        settings.ace_step_base_url,
        api_key=settings.ace_step_api_key,
        model=settings.ace_step_model,
        inference_steps=settings.ace_step_steps,
        thinking=settings.ace_step_thinking,
        audio_format=settings.ace_step_format,
        poll_s=settings.ace_step_poll_s,
        timeout_s=settings.provider_timeouts.get(NAME, settings.provider_timeout_s),
        max_download_bytes=settings.provider_fetch_max_bytes,
        download_timeout_s=settings.provider_fetch_timeout_s,
        http_hosts=tuple(settings.provider_fetch_allow_http),
    )


__all__ = ["NAME", "AceStepProvider", "from_settings"]
