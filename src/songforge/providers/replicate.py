"""``replicate`` — Replicate's predictions API: meta/musicgen by default, any model by name.

One clip is one prediction. Community models (meta/musicgen) run by version, resolved once
through ``GET /models/{owner}/{name}`` → ``latest_version.id``; a model without versions
(an official model) runs through ``POST /models/{owner}/{name}/predictions``. The create asks
``Prefer: wait=N`` and sets ``Cancel-After`` to our timeout (a Go-style duration such as
``900s``, our reading of "<duration>"), and answers 201; only succeeded, failed, canceled and
aborted are final.

Waiting: when ``public_base_url`` is set the create passes ``webhook`` (our
``/v1/providers/replicate/webhook``) with ``webhook_events_filter`` start+completed, and the
adapter waits on the ``Waiter`` the inbound route leaves the verified prediction in (a SQLite
inbox beside the job database, so process workers get it too; in memory for the memory
backend); it polls ``urls.get`` only if no webhook came for ``fallback_poll_s``. Without a
public URL it polls every ``poll_s``. At our deadline, or when the progress callback raises
(cancellation), the prediction is cancelled through ``urls.cancel``.

Rate limits: a create answered 429 rejected the request, so nothing was created and the
adapter itself retries it (up to ``create_retries`` times) after the Retry-After (or the
"resets in ~Ns" detail); when those run out, or the wait would exceed ``max_retry_wait_s``,
it raises a retryable ``ProviderError`` carrying ``retry_after_s`` for the core's retry layer.

Continuation (musicgen only): the prompt audio goes as a data URL when it is at most 256 KB
as WAV, otherwise through ``POST /files`` (deleted afterwards); the output then holds the
prompt followed by the continuation (``Clip.includes_prompt_audio``).

Outputs are fetched at once (Replicate deletes them after about an hour) from
``replicate.delivery`` hosts only. Cost: ``metrics.predict_time`` × the hardware price."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
    ceil_seconds,
    check_api_url,
    host_of,
    json_of,
    make_client,
    redactor_for,
    secret_value,
    send,
    timeout,
)
from songforge.providers.inbound import Waiter, shared_waiter, waiter_for

if TYPE_CHECKING:
    from songforge.settings import Settings

log = logging.getLogger("songforge.providers.replicate")

NAME = "replicate"
DEFAULT_BASE_URL = "https://api.replicate.com/v1"
MUSICGEN = "meta/musicgen"
MUSICGEN_SAMPLE_RATE_HZ = 32000
DELIVERY_HOSTS = ("replicate.delivery", "*.replicate.delivery")
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
DATA_URL_MAX_BYTES = 256 * 1024
WEBHOOK_EVENTS = ["start", "completed"]
MUSICGEN_COMPUTE_S_PER_AUDIO_S = 1.5  # estimate: stereo-melody-large on an L40S
_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_REFUSAL = re.compile(r"nsfw|flagged|safety checker|moderation|content policy", re.I)
_PERCENT = re.compile(r"(\d{1,3})%\|")


class ReplicateProvider:
    """Replicate predictions (see the module docstring for the protocol it follows)."""

    name = NAME

    def __init__(
        self,
        token: str | SecretStr | None,
        *,
        model: str = MUSICGEN,
        musicgen_model: str = "stereo-melody-large",
        base_url: str = DEFAULT_BASE_URL,
        usd_per_s: float = 0.000975,
        public_base_url: str | None = None,
        webhook_secret: str | SecretStr | None = None,
        wait_s: int = 60,
        poll_s: float = 2.0,
        fallback_poll_s: float = 30.0,
        timeout_s: float = 900.0,
        max_clip_s: float = 30.0,
        create_retries: int = 3,
        max_retry_wait_s: float = 60.0,
        extra_input: Mapping[str, Any] | None = None,
        max_download_bytes: int = 200_000_000,
        download_timeout_s: float = 120.0,
        http_hosts: tuple[str, ...] = (),
        client: httpx.Client | None = None,
        waiter: Waiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = secret_value(token)
        self._webhook_secret = secret_value(webhook_secret)
        self._redact = redactor_for(self._token, self._webhook_secret)
        self.fetch_policy = FetchPolicy(
            DELIVERY_HOSTS,
            allow_http_hosts=tuple(http_hosts),
            max_bytes=max_download_bytes,
            timeout_s=download_timeout_s,
        )
        self.base_url = check_api_url(base_url, provider=NAME, http_hosts=http_hosts)
        self.model = model.strip()
        self.musicgen_model = musicgen_model
        self.usd_per_s = usd_per_s
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.wait_s = max(1, min(60, int(wait_s)))
        self.poll_s = poll_s
        self.fallback_poll_s = fallback_poll_s
        self.timeout_s = timeout_s
        self.create_retries = create_retries
        self.max_retry_wait_s = max_retry_wait_s
        self.extra_input = dict(extra_input or {})
        self.client = client or make_client(read_timeout_s=self.wait_s + 30.0)
        self.waiter = waiter if waiter is not None else shared_waiter()
        self.sleep = sleep
        self._target: tuple[str | None, str] | None = None
        self.capabilities = self._capabilities(max_clip_s)

    # --- the Provider protocol ---------------------------------------------------------------

    def configured(self) -> bool:
        return bool(self._token)

    def health(self) -> Health:
        if not self.configured():
            return Health(False, "no Replicate API token (REPLICATE_API_TOKEN)")
        try:
            account = json_of(self._call("GET", f"{self.base_url}/account"), provider=NAME)
        except ProviderError as exc:
            return Health(False, exc.message)
        return Health(True, f"account {account.get('username', '?')}")

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        if not self.configured():
            raise ProviderUnavailable(
                "replicate: no API token (set REPLICATE_API_TOKEN)", provider=NAME
            )
        deadline = time.monotonic() + self.timeout_s
        progress(Progress("replicate:submit", 0, 100))
        version, model_path = self.resolve_model()
        inputs, upload_id = self._inputs(request)
        prediction: dict[str, Any] = {}
        try:
            prediction = self._create(version, model_path, inputs, deadline)
            prediction = self._wait(prediction, deadline, progress)
        finally:
            if upload_id:
                self._delete_file(upload_id)
            if prediction.get("id"):
                self.waiter.forget(NAME, str(prediction["id"]))
        return self._clip(prediction, request, progress)

    # --- model and inputs --------------------------------------------------------------------

    @property
    def is_musicgen(self) -> bool:
        return self.model.split(":", 1)[0] == MUSICGEN

    def resolve_model(self) -> tuple[str | None, str]:
        """(version id or None, owner/name): None runs the model's own predictions route."""
        if self._target is not None:
            return self._target
        path, _, version = self.model.partition(":")
        if version:
            self._target = (version, path)
        elif _VERSION_ID.match(path):
            self._target = (path, "")
        else:
            owner, _, name = path.partition("/")
            if not owner or not name:
                raise ProviderError(
                    f"replicate: model {self.model!r} is not owner/name[:version]", provider=NAME
                )
            url = f"{self.base_url}/models/{quote(owner, safe='')}/{quote(name, safe='')}"
            found = json_of(self._call("GET", url), provider=NAME)
            latest = found.get("latest_version") if isinstance(found, dict) else None
            latest_id = latest.get("id") if isinstance(latest, dict) else None
            self._target = (str(latest_id) if latest_id else None, path)
        return self._target

    def _inputs(self, request: ClipRequest) -> tuple[dict[str, Any], str | None]:
        """(model input, uploaded file id to delete afterwards)."""
        seconds = float(request.duration_s)
        inputs: dict[str, Any] = {"prompt": request.prompt}
        upload_id: str | None = None
        if self.is_musicgen:
            inputs["model_version"] = self.musicgen_model
            inputs["output_format"] = "wav"
            if request.continuation is not None:
                cont = request.continuation
                prompt_s = cont.audio.shape[-1] / cont.sample_rate_hz
                inputs["input_audio"], upload_id = self._upload_prompt(
                    cont.audio, cont.sample_rate_hz
                )
                inputs["continuation"] = True
                seconds += prompt_s  # musicgen's duration counts the prompt it continues
        inputs["duration"] = max(1, ceil_seconds(seconds))
        if request.seed is not None:
            inputs["seed"] = int(request.seed)
        inputs.update(self.extra_input)
        return inputs, upload_id

    def _upload_prompt(self, audio: Any, sample_rate_hz: int) -> tuple[str, str | None]:
        from songforge.render.codec import encode
        from songforge.request import AudioFormat

        data = encode(audio, sample_rate_hz, AudioFormat.WAV)
        if len(data) <= DATA_URL_MAX_BYTES:
            return "data:audio/wav;base64," + base64.b64encode(data).decode("ascii"), None
        response = self._call(
            "POST",
            f"{self.base_url}/files",
            files={"content": ("prompt.wav", data, "audio/wav")},
            data={"type": "audio/wav"},
        )
        uploaded = json_of(response, provider=NAME)
        url = (uploaded.get("urls") or {}).get("get") if isinstance(uploaded, dict) else None
        if not isinstance(url, str) or host_of(url) != host_of(self.base_url):
            raise ProviderError("replicate: the file upload returned no usable URL", provider=NAME)
        return url, str(uploaded.get("id") or "") or None

    def _delete_file(self, file_id: str) -> None:
        try:
            self._call("DELETE", f"{self.base_url}/files/{quote(file_id, safe='')}")
        except ProviderError as exc:
            log.info("replicate: could not delete uploaded prompt %s: %s", file_id, exc.message)

    # --- create, wait, cancel ----------------------------------------------------------------

    def webhook_url(self) -> str | None:
        if not self.public_base_url:
            return None
        return f"{self.public_base_url}/v1/providers/{NAME}/webhook"

    def _create(
        self, version: str | None, model_path: str, inputs: dict[str, Any], deadline: float
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"input": inputs}
        if version:
            url = f"{self.base_url}/predictions"
            body["version"] = version
        else:
            url = f"{self.base_url}/models/{model_path}/predictions"
        hook = self.webhook_url()
        if hook:
            body["webhook"] = hook
            body["webhook_events_filter"] = WEBHOOK_EVENTS
        headers = {
            "Prefer": f"wait={self.wait_s}",
            "Cancel-After": f"{max(1, int(self.timeout_s))}s",
        }
        for attempt in range(self.create_retries + 1):
            try:
                response = self._call(
                    "POST", url, json=body, headers=headers, timeout=timeout(self.wait_s + 30.0)
                )
            except ProviderError as exc:
                if exc.status != 429 or attempt == self.create_retries:
                    raise
                delay = exc.retry_after_s if exc.retry_after_s is not None else 2.0**attempt
                if delay > self.max_retry_wait_s or time.monotonic() + delay > deadline:
                    raise
                log.info("replicate: create rate limited; retrying in %.1f s", delay)
                self.sleep(delay)
                continue
            prediction = json_of(response, provider=NAME)
            if not isinstance(prediction, dict) or not prediction.get("id"):
                raise ProviderError("replicate: create answered without an id", provider=NAME)
            return prediction
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait(
        self, prediction: dict[str, Any], deadline: float, progress: ProgressCallback
    ) -> dict[str, Any]:
        pid = str(prediction["id"])
        webhooks = self.webhook_url() is not None
        try:
            while prediction.get("status") not in TERMINAL:
                progress(
                    Progress(f"replicate:{prediction.get('status')}", _percent(prediction), 100)
                )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._cancel(prediction)
                    prediction["status"] = "canceled"
                    raise ProviderError(
                        f"replicate: prediction {pid} did not finish within "
                        f"{self.timeout_s:.0f} s; it was cancelled",
                        provider=NAME,
                        retryable=True,
                    )
                if webhooks:
                    event = self.waiter.wait(NAME, pid, min(self.fallback_poll_s, remaining))
                    if event is not None and event.trusted and event.payload is not None:
                        prediction = {**prediction, **dict(event.payload)}
                        continue
                else:
                    self.sleep(min(self.poll_s, remaining))
                prediction = self._get(prediction)
        except BaseException:
            if prediction.get("status") not in TERMINAL:
                self._cancel(prediction)
            raise
        return prediction

    def _get(self, prediction: dict[str, Any]) -> dict[str, Any]:
        found = json_of(self._call("GET", self._own_url(prediction, "get")), provider=NAME)
        if not isinstance(found, dict):
            raise ProviderError("replicate: a prediction read was not an object", provider=NAME)
        return found

    def _cancel(self, prediction: dict[str, Any]) -> None:
        try:
            self._call("POST", self._own_url(prediction, "cancel"))
            log.info("replicate: cancelled prediction %s", prediction.get("id"))
        except ProviderError as exc:
            log.warning("replicate: cancelling %s failed: %s", prediction.get("id"), exc.message)

    def _own_url(self, prediction: Mapping[str, Any], which: str) -> str:
        """``urls.get``/``urls.cancel`` when they point at our API host (the token goes
        there), else the documented path."""
        urls = prediction.get("urls")
        url = urls.get(which) if isinstance(urls, Mapping) else None
        if isinstance(url, str) and url.startswith(self.base_url + "/"):
            return url
        suffix = "/cancel" if which == "cancel" else ""
        return f"{self.base_url}/predictions/{quote(str(prediction['id']), safe='')}{suffix}"

    # --- result ------------------------------------------------------------------------------

    def _clip(
        self,
        prediction: dict[str, Any],
        request: ClipRequest,
        progress: ProgressCallback,
    ) -> Clip:
        pid = str(prediction.get("id"))
        status = prediction.get("status")
        if status != "succeeded":
            error = self._redact.text(str(prediction.get("error") or "no error given"))[:400]
            if status == "failed" and _REFUSAL.search(error):
                raise ContentRefused(f"replicate: refused: {error}", provider=NAME)
            raise ProviderError(
                f"replicate: prediction {pid} {status}: {error}",
                provider=NAME,
                retryable=status in ("canceled", "aborted"),
            )
        url = _first_url(prediction.get("output"))
        if url is None:
            raise ProviderError(f"replicate: prediction {pid} has no audio output", provider=NAME)
        progress(Progress("replicate:download", 95, 100))
        fetched = fetch_audio(
            url, self.fetch_policy, provider=NAME, client=self.client, redactor=self._redact
        )
        metrics = prediction.get("metrics")
        predict_s = metrics.get("predict_time") if isinstance(metrics, Mapping) else None
        cost = float(predict_s) * self.usd_per_s if isinstance(predict_s, int | float) else 0.0
        version, _ = self._target or (None, "")
        progress(Progress("replicate:done", 100, 100))
        clip = Clip(
            audio=fetched.audio,
            sample_rate_hz=fetched.sample_rate_hz,
            provider=NAME,
            cost_usd=cost,
            info={
                "model": self.model.split(":", 1)[0],
                "version": prediction.get("version") or version,
                "prediction_id": pid,
                "clip_id": pid,
                "predict_time_s": predict_s,
                "cost_estimated": predict_s is None,
                "webhook": self.webhook_url() is not None,
            },
            includes_prompt_audio=self.is_musicgen and request.continuation is not None,
        )
        return validate_clip(clip, request, NAME)

    # --- webhooks ----------------------------------------------------------------------------

    def webhook_secret(self) -> str:
        """The ``whsec_`` key Replicate signs webhooks with: the configured one, else fetched
        once from ``GET /webhooks/default/secret``."""
        if not self._webhook_secret:
            found = json_of(
                self._call("GET", f"{self.base_url}/webhooks/default/secret"), provider=NAME
            )
            key = found.get("key") if isinstance(found, dict) else None
            if not isinstance(key, str) or not key:
                raise ProviderUnavailable(
                    "replicate: the webhook secret could not be fetched", provider=NAME
                )
            self._webhook_secret = key
            self._redact = redactor_for(self._token, key)
        return self._webhook_secret

    # --- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        return send(
            self.client,
            method,
            url,
            provider=NAME,
            redactor=self._redact,
            headers=headers,
            **kwargs,
        )

    def _capabilities(self, max_clip_s: float) -> Capabilities:
        musicgen = self.is_musicgen
        notes = (
            f"estimate: ${self.usd_per_s:.6f} per second of the model's hardware "
            f"(SONGFORGE_REPLICATE_USD_PER_S) × ~{MUSICGEN_COMPUTE_S_PER_AUDIO_S} s per audio "
            "second; the clip's cost is predict_time × that price"
        )
        return Capabilities(
            max_clip_s=max_clip_s,
            min_clip_s=1.0,
            continuation=musicgen,
            vocals=False,
            lyrics=False,
            stereo=(not musicgen) or self.musicgen_model.startswith("stereo"),
            sample_rate_hz=MUSICGEN_SAMPLE_RATE_HZ if musicgen else 44100,
            mode="async",
            webhooks=self.public_base_url is not None,
            local=False,
            price=PriceModel(
                kind=PriceKind.PER_COMPUTE_SECOND,
                usd=self.usd_per_s,
                compute_s_per_audio_s=MUSICGEN_COMPUTE_S_PER_AUDIO_S,
                notes=notes,
            ),
        )

    def close(self) -> None:
        self.client.close()


def _first_url(output: Any) -> str | None:
    if isinstance(output, str):
        return output if output.startswith(("https://", "http://")) else None
    if isinstance(output, list | tuple):
        for item in output:
            found = _first_url(item)
            if found:
                return found
    if isinstance(output, Mapping):
        for value in output.values():
            found = _first_url(value)
            if found:
                return found
    return None


def _percent(prediction: Mapping[str, Any]) -> int:
    """Progress from the tqdm bars in the logs (musicgen prints them), else a stage guess."""
    logs = prediction.get("logs")
    if isinstance(logs, str):
        found = _PERCENT.findall(logs[-2000:])
        if found:
            return 5 + min(100, int(found[-1])) * 85 // 100
    return 10 if prediction.get("status") == "processing" else 5


def from_settings(settings: Settings, *, waiter: Waiter | None = None) -> ReplicateProvider:
    """The adapter as the registry builds it from ``Settings``."""
    return ReplicateProvider(
        settings.replicate_api_token,
        model=settings.replicate_model,
        musicgen_model=settings.replicate_musicgen_model,
        base_url=settings.replicate_base_url,
        usd_per_s=settings.replicate_usd_per_s,
        public_base_url=settings.public_base_url,
        webhook_secret=settings.replicate_webhook_secret,
        wait_s=settings.replicate_wait_s,
        poll_s=settings.replicate_poll_s,
        fallback_poll_s=max(settings.replicate_poll_s, 30.0),
        timeout_s=settings.provider_timeouts.get(NAME, settings.provider_timeout_s),
        max_clip_s=settings.replicate_max_clip_s,
        create_retries=settings.replicate_create_retries,
        max_retry_wait_s=settings.provider_retry_max_s,
        max_download_bytes=settings.provider_fetch_max_bytes,
        download_timeout_s=settings.provider_fetch_timeout_s,
        http_hosts=tuple(settings.provider_fetch_allow_http),
        waiter=waiter if waiter is not None else waiter_for(settings),
    )


__all__ = ["DELIVERY_HOSTS", "NAME", "ReplicateProvider", "from_settings"]
