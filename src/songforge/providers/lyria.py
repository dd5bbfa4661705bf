"""``lyria`` (optional) — Google's Lyria (lyria-002) on Vertex AI.

``POST https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}
/publishers/google/models/lyria-002:predict`` with ``{"instances": [{"prompt",
"negative_prompt", "seed"}], "parameters": {...}}`` (``seed`` and ``sample_count`` exclude each
other: we send ``sample_count: 1`` only without a seed) answers ``{"predictions":
[{"bytesBase64Encoded", "mimeType": "audio/wav"}]}``: instrumental, 48 kHz stereo, about
30 s, whatever was asked — so the clip is cut (with a short fade) to ``duration_s`` when shorter.
Synchronous. A prompt blocked by Google's safety or recitation checks comes back as a 400
naming it, or as no predictions at all: both are ``ContentRefused``.

Credentials come from google-auth's application default credentials (``pip install
google-auth requests``); without it the provider is unavailable with that hint. Tests inject
``token_provider`` instead and point ``base_url`` at an emulator."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import importlib.util
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

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
    check_api_url,
    json_of,
    make_client,
    redactor_for,
    send,
    timeout,
    trim_to,
)

if TYPE_CHECKING:
    from songforge.settings import Settings

log = logging.getLogger("songforge.providers.lyria")

NAME = "lyria"
CLIP_S = 30.0  # lyria-002 makes about 30 s (32.8 s) per clip
SAMPLE_RATE_HZ = 48000
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
INSTALL_HINT = "pip install google-auth requests"
_REFUSAL = re.compile(r"safety|blocked|recitation|responsible ai|prohibited|policy", re.I)

TokenProvider = Callable[[], str]


class LyriaProvider:
    """Lyria on Vertex AI (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        project: str | None,
        *,
        location: str = "us-central1",
        model: str = "lyria-002",
        base_url: str | None = None,
        usd_per_clip: float = 0.06,
        timeout_s: float = 120.0,
        token_provider: TokenProvider | None = None,
        max_response_bytes: int = 200_000_000,
        http_hosts: tuple[str, ...] = (),
        client: httpx.Client | None = None,
    ) -> None:
        self.project = project
        self.location = location
        self.model = model
        self.base_url = check_api_url(
            base_url or f"https://{location}-aiplatform.googleapis.com",
            provider=NAME,
            http_hosts=http_hosts,
        )
        self.usd_per_clip = usd_per_clip
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self._token_provider = token_provider
        self.client = client or make_client(read_timeout_s=timeout_s)
        self.capabilities = Capabilities(
            max_clip_s=CLIP_S,
            min_clip_s=1.0,
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
                usd=usd_per_clip,
                notes="estimate: about $0.06 per ~30 s clip on Vertex AI "
                "(SONGFORGE_LYRIA_USD); the whole clip is billed even when we cut it shorter",
            ),
        )

    # --- the Provider protocol ---------------------------------------------------------------

    def configured(self) -> bool:
        if not self.project:
            return False
        return self._token_provider is not None or _google_auth_installed()

    def health(self) -> Health:
        if not self.project:
            return Health(False, "no Google Cloud project (SONGFORGE_LYRIA_PROJECT)")
        try:
            self._token()
        except ProviderError as exc:
            return Health(False, exc.message)
        return Health(True, "credentials ok")

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        if not self.project:
            raise ProviderUnavailable(
                "lyria: no Google Cloud project (set SONGFORGE_LYRIA_PROJECT)", provider=NAME
            )
        token = self._token()
        redactor = redactor_for(token)
        instance: dict[str, Any] = {"prompt": request.prompt}
        if request.negative_prompt:
            instance["negative_prompt"] = request.negative_prompt
        parameters: dict[str, Any] = {}
        if request.seed is not None:
            instance["seed"] = int(request.seed) % 2**32
        else:
            parameters["sample_count"] = 1
        url = (
            f"{self.base_url}/v1/projects/{quote(self.project, safe='')}/locations/"
            f"{quote(self.location, safe='')}/publishers/google/models/"
            f"{quote(self.model, safe='')}:predict"
        )
        progress(Progress("lyria:generate", 0, 100))
        try:
            response = send(
                self.client,
                "POST",
                url,
                provider=NAME,
                redactor=redactor,
                json={"instances": [instance], "parameters": parameters},
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout(self.timeout_s),
            )
        except ProviderError as exc:
            if exc.status == 400 and _REFUSAL.search(exc.message):
                raise ContentRefused(exc.message, provider=NAME, status=400) from None
            raise
        body = json_of(response, provider=NAME)
        predictions = body.get("predictions") if isinstance(body, dict) else None
        if not predictions:
            raise ContentRefused(
                "lyria: no audio came back (the prompt was probably filtered)", provider=NAME
            )
        first = predictions[0] if isinstance(predictions[0], dict) else {}
        encoded = first.get("bytesBase64Encoded") or first.get("audioContent")
        if not isinstance(encoded, str) or not encoded:
            raise ProviderError("lyria: the prediction holds no audio", provider=NAME)
        if len(encoded) * 3 // 4 > self.max_response_bytes:
            raise ProviderError("lyria: the audio is larger than the download cap", provider=NAME)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderError("lyria: the audio is not valid base64", provider=NAME) from None
        progress(Progress("lyria:decode", 90, 100))
        audio, sample_rate_hz = decode_audio(data, provider=NAME)
        full_s = audio.shape[1] / sample_rate_hz
        expected_s = min(request.duration_s, full_s)
        audio = trim_to(audio, sample_rate_hz, request.duration_s)
        progress(Progress("lyria:done", 100, 100))
        clip = Clip(
            audio=audio,
            sample_rate_hz=sample_rate_hz,
            provider=NAME,
            cost_usd=self.usd_per_clip,
            info={
                "model": self.model,
                "location": self.location,
                "mime_type": first.get("mimeType"),
                "generated_s": round(full_s, 3),
                "seed": request.seed,
            },
        )
        return validate_clip(clip, dataclasses.replace(request, duration_s=expected_s), NAME)

    # --- credentials -------------------------------------------------------------------------

    def _token(self) -> str:
        try:
            if self._token_provider is None:
                self._token_provider = google_token_provider()
            token = self._token_provider()
        except ProviderError:
            raise
        except Exception as exc:  # google-auth raises its own tree (DefaultCredentialsError...)
            raise ProviderUnavailable(
                f"lyria: no Google credentials ({type(exc).__name__}); run "
                "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS",
                provider=NAME,
            ) from None
        if not token:
            raise ProviderUnavailable("lyria: Google credentials gave no token", provider=NAME)
        return token

    def close(self) -> None:
        self.client.close()


def _google_auth_installed() -> bool:
    try:
        return importlib.util.find_spec("google.auth") is not None
    except (ImportError, ValueError):
        return False


def google_token_provider() -> TokenProvider:
    """Access tokens from application default credentials, refreshed when they expire."""
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        raise ProviderUnavailable(
            f"lyria needs google-auth: {INSTALL_HINT}", provider=NAME
        ) from None
    credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM])

    def token() -> str:
        if not credentials.valid:
            credentials.refresh(google.auth.transport.requests.Request())
        return str(credentials.token or "")

    return token


def from_settings(settings: Settings) -> LyriaProvider:
    """The adapter as the registry builds it from ``Settings``."""
    return LyriaProvider(
        settings.lyria_project,
        location=settings.lyria_location,
        model=settings.lyria_model,
        base_url=settings.lyria_base_url,
        usd_per_clip=settings.lyria_usd,
        timeout_s=settings.provider_timeouts.get(NAME, min(settings.provider_timeout_s, 300.0)),
        max_response_bytes=settings.provider_fetch_max_bytes,
        http_hosts=tuple(settings.provider_fetch_allow_http),
    )


__all__ = ["INSTALL_HINT", "NAME", "LyriaProvider", "from_settings", "google_token_provider"]
