"""Stability AI's Stable Audio text-to-audio endpoint as our adapter reads it: multipart/form-data
only, Bearer keys, ``Accept: audio/*`` (raw bytes with ``finish-reason`` and ``seed`` headers) or
``application/json`` (base64), field ranges (duration 1–190, seed 0–4294967294, steps 4–8 for
2.5, cfg_scale 1–25), 20 credits per generation, and errors as ``{id, name, errors[]}``:
400, 401, 402, 403 content moderation, 429 (150 requests per 10 s), 500."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .audio import media_type, tone_file

SAMPLE_RATE_HZ = 44100
CREDITS_PER_GENERATION = 20
MODELS = ("stable-audio-2", "stable-audio-2.5")


def error(status: int, name: str, *messages: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"id": secrets.token_hex(16), "name": name, "errors": list(messages)},
        status_code=status,
        headers=headers,
    )


@dataclass
class StabilityEmulator:
    key: str = field(default_factory=lambda: "sk-" + secrets.token_urlsafe(30))
    base_url: str = ""
    credits: float = 1000.0
    forbidden: tuple[str, ...] = ("forbidden-word",)
    rate_limit_next: int = 0
    retry_after: str | None = None  # Stability's 429 need not carry one
    fail_next: int = 0  # 500s
    filter_next: int = 0  # 200 with finish-reason CONTENT_FILTERED
    echo_key_in_errors: bool = False
    render_s: float | None = None  # make this much audio whatever was asked (fast tests)
    forms: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        fresh = StabilityEmulator(key=self.key, base_url=self.base_url)
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/v2beta/audio/stable-audio-2/text-to-audio", self._generate, methods=["POST"]
                ),
                Route("/v1/user/balance", self._balance),
            ]
        )

    def _denied(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {self.key}":
            return None
        detail = "authorization: invalid or missing API key"
        if self.echo_key_in_errors:
            detail += f" ({header})"
        return error(401, "unauthorized", detail)

    async def _balance(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        return JSONResponse({"credits": self.credits})

    async def _generate(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        if denied := self._denied(request):
            return denied
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error(400, "bad_request", "content-type: must be multipart/form-data")
        form = await request.form()
        fields = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
        self.forms.append(fields)
        invalid = _invalid(fields)
        if invalid:
            return error(400, "bad_request", *invalid)
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return error(
                429,
                "rate_limit_exceeded",
                "You have exceeded the rate limit of 150 requests within a 10 second period",
                **extra,
            )
        if self.fail_next > 0:
            self.fail_next -= 1
            return error(500, "internal_error", "An unexpected server error occurred")
        prompt = str(fields["prompt"]).lower()
        if any(word in prompt for word in self.forbidden):
            return error(
                403,
                "content_moderation",
                "Your request was flagged by our content moderation system, as a result your "
                "request was denied and you were not charged.",
            )
        if self.credits < CREDITS_PER_GENERATION:
            return error(402, "payment_required", "lack of credits: please buy more")
        self.credits -= CREDITS_PER_GENERATION
        seconds = self.render_s or int(fields.get("duration", 190))
        fmt = str(fields.get("output_format", "mp3"))
        seed = int(fields.get("seed", 0)) or secrets.randbelow(4294967294)
        data = tone_file(seconds, SAMPLE_RATE_HZ, fmt)
        finish = "SUCCESS"
        if self.filter_next > 0:
            self.filter_next -= 1
            finish = "CONTENT_FILTERED"
        accept = request.headers.get("accept", "audio/*")
        if accept.startswith("application/json"):
            return JSONResponse(
                {"audio": base64.b64encode(data).decode(), "finish_reason": finish, "seed": seed}
            )
        if not accept.startswith("audio/"):
            return error(400, "bad_request", "accept: must be audio/* or application/json")
        return Response(
            data,
            media_type=media_type(fmt),
            headers={"finish-reason": finish, "seed": str(seed)},
        )


def _invalid(fields: dict[str, Any]) -> list[str]:
    problems = []
    prompt = str(fields.get("prompt", ""))
    if not 1 <= len(prompt) <= 10000:
        problems.append("prompt: must be 1 to 10000 characters")
    model = fields.get("model", "stable-audio-2")
    if model not in MODELS:
        problems.append(f"model: must be one of {', '.join(MODELS)}")
    checks: list[tuple[str, type, float, float]] = [
        ("duration", int, 1, 190),
        ("seed", int, 0, 4294967294),
        ("cfg_scale", float, 1, 25),
    ]
    if model == "stable-audio-2.5":
        checks.append(("steps", int, 4, 8))
    for name, kind, low, high in checks:
        if name not in fields:
            continue
        try:
            value = kind(fields[name])
        except ValueError:
            problems.append(f"{name}: must be {'an integer' if kind is int else 'a number'}")
            continue
        if not low <= value <= high:
            problems.append(f"{name}: must be between {low:g} and {high:g}")
    if fields.get("output_format", "mp3") not in ("mp3", "wav"):
        problems.append("output_format: must be mp3 or wav")
    return problems
