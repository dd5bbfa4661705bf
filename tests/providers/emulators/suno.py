"""Suno-compatible gateways in both common shapes, as our adapter reads them.

``suno-api`` (the open-source Node gateway): ``/api/generate``, ``/api/custom_generate`` and
``/api/extend_audio`` answer two clips; ``/api/get?ids=`` moves each clip one step per read
through submitted → queued → streaming (a live stream URL) → complete (an MP3 on the CDN);
errors are ``{"error": ...}`` with 402 (credits) and 503 (upstream).

``hosted`` (a reseller): Bearer keys, every answer ``{code, msg, data}`` with HTTP 200, codes
400/401/413/429 (credits)/430 (rate)/455/500; ``/api/v1/generate`` → ``taskId``;
``record-info`` moves PENDING → TEXT_SUCCESS → FIRST_SUCCESS → SUCCESS one step per read (or
stays put with ``advance_on_read`` off until ``finish``); prompts with a forbidden word end in
SENSITIVE_WORD_ERROR; ``callback`` POSTs the unsigned callback to ``callBackUrl``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .audio import tone_file

SAMPLE_RATE_HZ = 44100
API_STEPS = ("submitted", "queued", "streaming", "complete")
HOSTED_STEPS = ("PENDING", "TEXT_SUCCESS", "FIRST_SUCCESS", "SUCCESS")
HOSTED_MODELS = ("V3_5", "V4", "V4_5", "V4_5PLUS", "V4_5ALL", "V5")
SENDER = httpx.Client()


@dataclass
class SunoEmulator:
    shape: Literal["suno-api", "hosted"] = "suno-api"
    key: str = field(default_factory=lambda: "sk-suno-" + secrets.token_hex(16))
    base_url: str = ""
    cdn_url: str = ""  # where audio lives ("" → this emulator under /cdn)
    credits: int = 100
    forbidden: tuple[str, ...] = ("forbidden-word",)
    advance_on_read: bool = True
    upstream_down: bool = False
    envelope_code_next: int | None = None  # hosted: answer the next generate with this code
    clip_seconds: float = 3.0
    clips: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        fresh = SunoEmulator(shape=self.shape, key=self.key, base_url=self.base_url)
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def app(self) -> Starlette:
        routes = [
            Route("/cdn/{name}", self._cdn),
            Route("/stream/{name}", self._stream),
        ]
        if self.shape == "suno-api":
            routes += [
                Route("/api/generate", self._api_generate, methods=["POST"]),
                Route("/api/custom_generate", self._api_generate, methods=["POST"]),
                Route("/api/extend_audio", self._api_generate, methods=["POST"]),
                Route("/api/get", self._api_get),
                Route("/api/get_limit", self._api_limit),
            ]
        else:
            routes += [
                Route("/api/v1/generate", self._hosted_generate, methods=["POST"]),
                Route("/api/v1/generate/extend", self._hosted_generate, methods=["POST"]),
                Route("/api/v1/generate/record-info", self._hosted_record),
                Route("/api/v1/generate/credit", self._hosted_credit),
            ]
        return Starlette(routes=routes)

    def audio_url(self, clip_id: str) -> str:
        return f"{self.cdn_url or self.base_url + '/cdn'}/{clip_id}.mp3"

    def fetched(self) -> list[str]:
        return [path for _, path in self.requests if path.startswith(("/cdn", "/stream"))]

    # --- shared ------------------------------------------------------------------------------

    async def _cdn(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        return Response(
            tone_file(self.clip_seconds, SAMPLE_RATE_HZ, "mp3"), media_type="audio/mpeg"
        )

    async def _stream(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        return Response(b"partial", media_type="audio/mpeg")  # a live stream: not a whole file

    def _refused(self, *texts: Any) -> bool:
        joined = " ".join(str(t or "") for t in texts).lower()
        return any(word in joined for word in self.forbidden)

    # --- suno-api ----------------------------------------------------------------------------

    async def _api_generate(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        body = await request.json()
        self.bodies.append((request.url.path, body))
        if self.upstream_down:
            return JSONResponse({"error": "Suno is unreachable"}, status_code=503)
        if self.credits < 10:
            return JSONResponse({"error": "Insufficient credits."}, status_code=402)
        if request.url.path.endswith("extend_audio") and body.get("audio_id") not in self.clips:
            return JSONResponse({"error": "audio_id not found"}, status_code=500)
        self.credits -= 10
        refused = self._refused(body.get("prompt"), body.get("tags"))
        made = []
        for _ in range(2):
            clip_id = secrets.token_hex(8)
            clip = {
                "id": clip_id,
                "title": body.get("title", ""),
                "tags": body.get("tags", ""),
                "lyric": body.get("prompt", "") if "custom" in request.url.path else "",
                "audio_url": "",
                "image_url": f"https://cdn2.suno.ai/image_{clip_id}.jpeg",
                "video_url": "",
                "status": "submitted",
                "duration": None,
                "model_name": body.get("model", "chirp-v3-5"),
                "created_at": "2025-01-01T00:00:00.000Z",
                "error_message": None,
                "reads": 0,
                "refused": refused,
            }
            self.clips[clip_id] = clip
            made.append(_public(clip))
        return JSONResponse(made)

    async def _api_get(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        found = []
        for clip_id in ids:
            clip = self.clips.get(clip_id)
            if clip is None:
                continue
            if self.advance_on_read and clip["status"] not in ("complete", "error"):
                self._api_step(clip)
            found.append(_public(clip))
        return JSONResponse(found)

    def _api_step(self, clip: dict[str, Any]) -> None:
        clip["reads"] += 1
        if clip["refused"] and clip["reads"] >= 2:
            clip["status"] = "error"
            clip["error_message"] = "Unable to generate: your lyrics contain sensitive words"
            return
        clip["status"] = API_STEPS[min(clip["reads"], len(API_STEPS) - 1)]
        if clip["status"] == "streaming":
            clip["audio_url"] = f"{self.base_url}/stream/{clip['id']}"
        if clip["status"] == "complete":
            clip["audio_url"] = self.audio_url(clip["id"])
            clip["duration"] = self.clip_seconds

    async def _api_limit(self, request: Request) -> Response:
        return JSONResponse(
            {
                "credits_left": self.credits,
                "period": "month",
                "monthly_limit": 500,
                "monthly_usage": 500 - self.credits,
            }
        )

    # --- hosted ------------------------------------------------------------------------------

    def _envelope(self, code: int, msg: str, data: Any = None) -> JSONResponse:
        return JSONResponse({"code": code, "msg": msg, "data": data})

    def _denied(self, request: Request) -> JSONResponse | None:
        self.requests.append((request.method, request.url.path))
        if request.headers.get("authorization") == f"Bearer {self.key}":
            return None
        return self._envelope(401, "You do not have access permissions")

    async def _hosted_generate(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        body = await request.json()
        self.bodies.append((request.url.path, body))
        if self.envelope_code_next is not None:
            code, self.envelope_code_next = self.envelope_code_next, None
            return self._envelope(
                code,
                {
                    429: "insufficient credits",
                    430: "Your call frequency is too high. Please try again later.",
                }.get(code, "error"),
            )
        problem = _hosted_invalid(request.url.path, body)
        if problem:
            return self._envelope(*problem)
        if self.credits < 12:
            return self._envelope(429, "insufficient credits")
        self.credits -= 12
        task_id = secrets.token_hex(16)
        self.tasks[task_id] = {
            "body": body,
            "step": 0,
            "refused": self._refused(body.get("prompt"), body.get("style")),
            "tracks": [secrets.token_hex(8), secrets.token_hex(8)],
        }
        return self._envelope(200, "success", {"taskId": task_id})

    async def _hosted_record(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        task_id = request.query_params.get("taskId", "")
        task = self.tasks.get(task_id)
        if task is None:
            return self._envelope(404, "task not found")
        if self.advance_on_read and task["step"] < len(HOSTED_STEPS) - 1:
            task["step"] += 1
        return self._envelope(200, "success", self.record(task_id))

    def record(self, task_id: str) -> dict[str, Any]:
        task = self.tasks[task_id]
        status = HOSTED_STEPS[task["step"]]
        if task["refused"] and task["step"] >= 1:
            status = "SENSITIVE_WORD_ERROR"
        tracks = []
        for index, track_id in enumerate(task["tracks"]):
            done = status == "SUCCESS" or (status == "FIRST_SUCCESS" and index == 0)
            tracks.append(
                {
                    "id": track_id,
                    "audioUrl": self.audio_url(track_id) if done else "",
                    "streamAudioUrl": f"{self.base_url}/stream/{track_id}",
                    "imageUrl": "",
                    "prompt": task["body"].get("prompt", ""),
                    "modelName": "chirp-v4-5",
                    "title": task["body"].get("title", ""),
                    "tags": task["body"].get("style", ""),
                    "createTime": "2025-01-01 00:00:00",
                    "duration": self.clip_seconds if done else None,
                }
            )
        return {
            "taskId": task_id,
            "parentMusicId": "",
            "param": "{}",
            "response": {"taskId": task_id, "sunoData": tracks} if task["step"] >= 1 else None,
            "status": status,
            "type": "GENERATE",
            "errorCode": 400 if status == "SENSITIVE_WORD_ERROR" else None,
            "errorMessage": "prompt contains sensitive words"
            if status == "SENSITIVE_WORD_ERROR"
            else None,
        }

    def finish(self, task_id: str) -> None:
        self.tasks[task_id]["step"] = len(HOSTED_STEPS) - 1

    def callback(
        self, task_id: str, kind: str = "complete", *, audio_url: str | None = None
    ) -> int:
        """POST the hosted gateway's (unsigned) callback to the task's callBackUrl."""
        task = self.tasks[task_id]
        url = task["body"]["callBackUrl"]
        tracks = [
            {"id": t, "audio_url": audio_url or self.audio_url(t), "title": "", "duration": 3.0}
            for t in task["tracks"]
        ]
        payload = {
            "code": 200,
            "msg": "All generated successfully.",
            "data": {"callbackType": kind, "task_id": task_id, "data": tracks},
        }
        return SENDER.post(url, json=payload, timeout=10).status_code

    async def _hosted_credit(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        return self._envelope(200, "success", self.credits)


def _public(clip: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in clip.items() if k not in ("reads", "refused")}


def _hosted_invalid(path: str, body: dict[str, Any]) -> tuple[int, str] | None:
    if body.get("model") not in HOSTED_MODELS:
        return 400, f"model must be one of {', '.join(HOSTED_MODELS)}"
    if path.endswith("/extend"):
        if not body.get("audioId"):
            return 400, "audioId is required"
        return None
    if not isinstance(body.get("customMode"), bool) or not isinstance(
        body.get("instrumental"), bool
    ):
        return 400, "customMode and instrumental are required"
    if body["customMode"]:
        if not body.get("style") or not body.get("title"):
            return 400, "style and title are required in custom mode"
        if not body["instrumental"] and not body.get("prompt"):
            return 400, "prompt (lyrics) is required in custom mode with vocals"
        if len(body.get("title", "")) > 80:
            return 413, "title is too long"
    elif len(body.get("prompt", "")) > 500:
        return 413, "prompt is too long"
    elif not body.get("prompt"):
        return 400, "prompt is required"
    return None
