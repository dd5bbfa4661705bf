"""Vertex AI's ``lyria-002:predict`` as our adapter reads it: a Bearer access token,
``{"instances": [{"prompt", "negative_prompt", "seed"}], "parameters": {"sample_count"}}``
(seed and sample_count refuse each other), answers ``{"predictions": [{"bytesBase64Encoded",
"mimeType": "audio/wav"}]}`` of 48 kHz stereo WAV, and Google's error shape
``{"error": {"code", "message", "status"}}`` for 400 (including safety blocks), 401 and 429."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .audio import tone_file

SAMPLE_RATE_HZ = 48000


def google_error(code: int, status: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "status": status}}, status_code=code
    )


@dataclass
class LyriaEmulator:
    token: str = field(default_factory=lambda: "ya29." + secrets.token_urlsafe(40))
    project: str = "songforge-tests"
    location: str = "us-central1"
    base_url: str = ""
    clip_s: float = 4.0  # the real model makes ~32.8 s; tests keep it short
    forbidden: tuple[str, ...] = ("forbidden-word",)
    quota_next: int = 0
    empty_next: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def reset(self) -> None:
        fresh = LyriaEmulator(token=self.token, base_url=self.base_url)
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/v1/projects/{project}/locations/{location}/publishers/google/models/{call}",
                    self._predict,
                    methods=["POST"],
                )
            ]
        )

    async def _predict(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        model, _, method = request.path_params["call"].partition(":")
        if method != "predict" or model != "lyria-002":
            return google_error(404, "NOT_FOUND", f"Publisher model {model} not found.")
        if request.path_params["project"] != self.project:
            return google_error(403, "PERMISSION_DENIED", "Permission denied on the project.")
        body = await request.json()
        self.bodies.append(body)
        instances = body.get("instances")
        if not isinstance(instances, list) or len(instances) != 1:
            return google_error(400, "INVALID_ARGUMENT", "exactly one instance is supported")
        instance = instances[0]
        if not instance.get("prompt"):
            return google_error(400, "INVALID_ARGUMENT", "prompt is required")
        if "seed" in instance and "sample_count" in body.get("parameters", {}):
            return google_error(
                400, "INVALID_ARGUMENT", "seed and sample_count cannot be used together"
            )
        if self.quota_next > 0:
            self.quota_next -= 1
            return google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for lyria-002.")
        if any(word in instance["prompt"].lower() for word in self.forbidden):
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "The prompt could not be processed: it was blocked by our safety filters.",
            )
        if self.empty_next > 0:
            self.empty_next -= 1
            return JSONResponse({"predictions": []})
        audio = tone_file(self.clip_s, SAMPLE_RATE_HZ, "wav")
        return JSONResponse(
            {
                "predictions": [
                    {
                        "bytesBase64Encoded": base64.b64encode(audio).decode(),
                        "mimeType": "audio/wav",
                    }
                ],
                "deployedModelId": "",
                "model": f"projects/{self.project}/locations/{self.location}"
                "/publishers/google/models/lyria-002",
            }
        )
