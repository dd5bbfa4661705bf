"""``stable-audio`` — Stability AI's hosted Stable Audio API (stable-audio-2.5 by default).

``POST /v2beta/audio/stable-audio-2/text-to-audio`` as multipart/form-data (always, even with
text only) and ``Accept: audio/*``, so the answer is the raw WAV/MP3 bytes, read under the size
cap and checked to be audio. Synchronous: one call, one clip. ``duration`` is clamped to the
API's integer 1–190 s, ``seed`` folded into 0–4294967294, ``steps`` and ``cfg_scale`` sent only
when configured (the Stability docs leave cfg_scale's range to "verify"; we read it as 1–25,
the range Stability's own Replicate listing of stable-audio-2.5 shows).

Errors: 403 is the content moderation (``name: content_moderation``) → ``ContentRefused``,
never retried; a 200 whose ``finish-reason`` header says ``CONTENT_FILTERED`` likewise;
402 is "out of credits" → not retryable, with a hint to top up; 429 (about 150 requests per
10 s) and 5xx are retryable, 429 with the Retry-After or else 10 s (the window).
Price: 20 credits ($0.20) per generation whatever the duration (stable-audio-2.5; the docs
say "verify": we read it from Stability's pricing page as a flat per-request price)."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

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
from songforge.providers.fetch import decode_audio, validate_clip
from songforge.providers.http import (
    ceil_seconds,
    check_api_url,
    describe_body,
    error_for,
    json_of,
    make_client,
    read_capped,
    redactor_for,
    secret_value,
    send,
    timeout,
)

if TYPE_CHECKING:
    from songforge.settings import Settings

log = logging.getLogger("songforge.providers.stable_audio")

NAME = "stable-audio"
DEFAULT_BASE_URL = "https://api.stability.ai"
TEXT_TO_AUDIO = "/v2beta/audio/stable-audio-2/text-to-audio"
MIN_DURATION_S = 1
MAX_DURATION_S = 190
MAX_SEED = 4294967294
RATE_WINDOW_S = 10.0  # "about 150 requests per 10 s"
SAMPLE_RATE_HZ = 44100


class StableAudioProvider:
    """Stability AI's Stable Audio (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        api_key: str | SecretStr | None,
        *,
        model: str = "stable-audio-2.5",
        base_url: str = DEFAULT_BASE_URL,
        steps: int | None = None,
        cfg_scale: float | None = None,
        output_format: str = "wav",
        usd_per_generation: float = 0.20,
        timeout_s: float = 180.0,
        max_download_bytes: int = 200_000_000,
        http_hosts: tuple[str, ...] = (),
        client: httpx.Client | None = None,
    ) -> None:
        self._key = secret_value(api_key)
        self._redact = redactor_for(self._key)
        self.base_url = check_api_url(base_url, provider=NAME, http_hosts=http_hosts)
        self.model = model
        self.steps = steps
        self.cfg_scale = cfg_scale
        self.output_format = output_format
        self.usd_per_generation = usd_per_generation
        self.timeout_s = timeout_s
        self.max_download_bytes = max_download_bytes
        self.client = client or make_client(read_timeout_s=timeout_s)
        self.capabilities = Capabilities(
            max_clip_s=float(MAX_DURATION_S),
            min_clip_s=float(MIN_DURATION_S),
            continuation=False,
            vocals=False,
            lyrics=False,
            stereo=True,
            sample_rate_hz=SAMPLE_RATE_HZ,
            mode="sync",
            webhooks=False,
            local=False,
            price=PriceModel(
                kind=PriceKind.PER_REQUEST,
                usd=usd_per_generation,
                notes="estimate: 20 credits ($0.20) per stable-audio-2.5 generation whatever "
                "the duration; the clip reports the configured price (SONGFORGE_STABILITY_USD)",
            ),
        )

    def configured(self) -> bool:
        return bool(self._key)

    def health(self) -> Health:
        if not self.configured():
            return Health(False, "no Stability API key (STABILITY_API_KEY)")
        try:
            response = self._call(
                "GET", f"{self.base_url}/v1/user/balance", accept="application/json"
            )
            balance = json_of(response, provider=NAME)
        except ProviderError as exc:
            return Health(False, exc.message)
        credits = balance.get("credits") if isinstance(balance, dict) else None
        return Health(True, f"{credits} credits left" if credits is not None else "reachable")

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        if not self.configured():
            raise ProviderUnavailable(
                "stable-audio: no API key (set STABILITY_API_KEY)", provider=NAME
            )
        duration = min(MAX_DURATION_S, max(MIN_DURATION_S, ceil_seconds(request.duration_s)))
        fields: dict[str, Any] = {
            "prompt": request.prompt,
            "model": self.model,
            "duration": str(duration),
            "output_format": self.output_format,
        }
        if request.seed is not None:
            fields["seed"] = str(int(request.seed) % (MAX_SEED + 1))
        if self.steps is not None:
            fields["steps"] = str(self.steps)
        if self.cfg_scale is not None:
            fields["cfg_scale"] = str(self.cfg_scale)
        progress(Progress("stable-audio:generate", 0, 100))
        # (None, value) parts make httpx send multipart/form-data with no file attached
        multipart = {name: (None, value) for name, value in fields.items()}
        url = f"{self.base_url}{TEXT_TO_AUDIO}"
        try:
            with self.client.stream(
                "POST",
                url,
                files=multipart,
                headers=self._headers("audio/*"),
                timeout=timeout(self.timeout_s),
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response)
                data = read_capped(response, provider=NAME, max_bytes=self.max_download_bytes)
                finish = response.headers.get("finish-reason", "SUCCESS").upper()
                seed = response.headers.get("seed")
                kind = response.headers.get("content-type", "")
        except httpx.TimeoutException:
            raise ProviderError(
                f"stable-audio: no answer within {self.timeout_s:.0f} s",
                provider=NAME,
                retryable=True,
            ) from None
        except httpx.TransportError as exc:
            raise ProviderError(
                f"stable-audio: request failed: {self._redact.text(str(exc))}",
                provider=NAME,
                retryable=True,
            ) from None
        if finish == "CONTENT_FILTERED":
            raise ContentRefused(
                "stable-audio: the output was filtered by moderation", provider=NAME
            )
        if not kind.startswith(("audio/", "application/octet-stream")):
            raise ProviderError(
                f"stable-audio: expected audio, got {kind or 'no content type'}",
                provider=NAME,
                retryable=True,
            )
        progress(Progress("stable-audio:decode", 90, 100))
        audio, sample_rate_hz = decode_audio(data, provider=NAME)
        progress(Progress("stable-audio:done", 100, 100))
        clip = Clip(
            audio=audio,
            sample_rate_hz=sample_rate_hz,
            provider=NAME,
            cost_usd=self.usd_per_generation,
            info={
                "model": self.model,
                "duration_s": duration,
                "seed": int(seed) if seed and seed.isdigit() else request.seed,
                "finish_reason": finish,
            },
        )
        return validate_clip(clip, dataclasses.replace(request, duration_s=duration), NAME)

    def _error(self, response: httpx.Response) -> ProviderError:
        error = error_for(response, provider=NAME, redactor=self._redact)
        detail = describe_body(response, redactor=self._redact)
        if response.status_code == 403:
            return ContentRefused(
                f"stable-audio: refused by content moderation ({detail or 'no detail'})",
                provider=NAME,
                status=403,
            )
        if response.status_code == 402:
            return ProviderError(
                "stable-audio: out of credits (HTTP 402); top up at platform.stability.ai",
                provider=NAME,
                status=402,
            )
        if response.status_code == 429 and error.retry_after_s is None:
            error.retry_after_s = RATE_WINDOW_S
        return error

    def _headers(self, accept: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", "Accept": accept}

    def _call(self, method: str, url: str, *, accept: str) -> httpx.Response:
        return send(
            self.client,
            method,
            url,
            provider=NAME,
            redactor=self._redact,
            headers=self._headers(accept),
        )

    def close(self) -> None:
        self.client.close()


def from_settings(settings: Settings) -> StableAudioProvider:
    """The adapter as the registry builds it from ``Settings``."""
    return StableAudioProvider(
        settings.stability_api_key,
        model=settings.stability_model,
        base_url=settings.stability_base_url,
        steps=settings.stability_steps,
        cfg_scale=settings.stability_cfg_scale,
        output_format=settings.stability_format,
        usd_per_generation=settings.stability_usd,
        timeout_s=settings.provider_timeouts.get(NAME, min(settings.provider_timeout_s, 300.0)),
        max_download_bytes=settings.provider_fetch_max_bytes,
        http_hosts=tuple(settings.provider_fetch_allow_http),
    )


__all__ = ["NAME", "StableAudioProvider", "from_settings"]
