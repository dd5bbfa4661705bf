"""An ACE-Step 1.5 API server (``acestep.api_server``) as its API document describes it:
``POST /release_task`` (JSON or multipart with ``src_audio``) → ``{data: {task_id, status,
queue_position}, code, error, timestamp, extra}``; ``POST /query_result`` with
``task_id_list`` → items with integer status 0/1/2 and ``result`` as a JSON string of
``[{file: "/v1/audio?path=...", metas, seed_value, ...}]``; ``GET /v1/audio?path=``; optional
API key (Bearer or ``ai_token``); 429 when the queue is full; errors ``{"detail": ...}``.
A failed task's item carries its error inside the result entries (the document shows no
failure example; this follows the adapter's reading)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .audio import decode, encoded, media_type, tone

SAMPLE_RATE_HZ = 48000
TASK_TYPES = ("text2music", "cover", "repaint", "lego", "extract", "complete")


def wrapped(data: Any, code: int = 200, error: str | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "data": data,
            "code": code,
            "error": error,
            "timestamp": int(time.time() * 1000),
            "extra": None,
        }
    )


@dataclass
class AceStepEmulator:
    api_key: str | None = None  # ACESTEP_API_KEY: empty disables auth
    base_url: str = ""
    steps_to_finish: int = 2
    queue_full: bool = False
    fail_with: str | None = None
    file_override: str | None = None  # a result "file" pointing elsewhere
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        fresh = AceStepEmulator(api_key=self.api_key, base_url=self.base_url)
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/release_task", self._release, methods=["POST"]),
                Route("/query_result", self._query, methods=["POST"]),
                Route("/v1/audio", self._audio),
                Route("/health", self._health),
            ]
        )

    def _denied(self, request: Request, body: dict[str, Any] | None = None) -> Response | None:
        self.requests.append((request.method, request.url.path))
        if not self.api_key:
            return None
        header = request.headers.get("authorization", "")
        token = (body or {}).get("ai_token")
        if header == f"Bearer {self.api_key}" or token == self.api_key:
            return None
        return JSONResponse({"detail": "Invalid or missing API key"}, status_code=401)

    async def _health(self, request: Request) -> Response:
        return wrapped({"status": "ok", "service": "ACE-Step API", "version": "1.0"})

    async def _release(self, request: Request) -> Response:
        kind = request.headers.get("content-type", "")
        source: bytes | None = None
        if kind.startswith("application/json"):
            body: dict[str, Any] = await request.json()
        elif kind.startswith("multipart/form-data"):
            form = await request.form()
            body = {}
            for name, value in form.items():
                if isinstance(value, UploadFile):
                    if name in ("src_audio", "ctx_audio"):
                        source = await value.read()
                else:
                    body[name] = _from_form(value)
        else:
            self.requests.append((request.method, request.url.path))
            return JSONResponse({"detail": "Unsupported Content-Type"}, status_code=415)
        if denied := self._denied(request, body):
            return denied
        if self.queue_full:
            return JSONResponse({"detail": "Server busy: queue is full"}, status_code=429)
        invalid = _invalid(body, source)
        if invalid:
            return JSONResponse({"detail": invalid}, status_code=400)
        self.releases.append({**body, "src_audio": source is not None})
        task_id = secrets.token_hex(16)
        self.tasks[task_id] = {"body": body, "source": source, "reads": 0}
        return wrapped({"task_id": task_id, "status": "queued", "queue_position": 1})

    async def _query(self, request: Request) -> Response:
        body = await request.json()
        if denied := self._denied(request, body):
            return denied
        ids = body.get("task_id_list", [])
        if isinstance(ids, str):
            ids = json.loads(ids)
        items = []
        for task_id in ids:
            task = self.tasks.get(task_id)
            if task is None:
                continue
            task["reads"] += 1
            items.append(self._item(task_id, task))
        return wrapped(items)

    def _item(self, task_id: str, task: dict[str, Any]) -> dict[str, Any]:
        if task["reads"] < self.steps_to_finish:
            return {"task_id": task_id, "status": 0, "result": ""}
        if self.fail_with is not None:
            result = [{"file": "", "status": 2, "error": self.fail_with}]
            return {"task_id": task_id, "status": 2, "result": json.dumps(result)}
        body = task["body"]
        fmt = body.get("audio_format", "mp3")
        path = f"/tmp/api_audio/{task_id}.{fmt}"
        if path not in self.files:
            self.files[path] = self._render(body, task["source"], fmt)
        result = [
            {
                "file": self.file_override or f"/v1/audio?path={quote(path, safe='')}",
                "wave": "",
                "status": 1,
                "create_time": int(time.time()),
                "env": "development",
                "prompt": body.get("prompt", ""),
                "lyrics": body.get("lyrics", ""),
                "metas": {
                    "bpm": body.get("bpm", 120),
                    "duration": body.get("audio_duration"),
                    "genres": "",
                    "keyscale": body.get("key_scale", ""),
                    "timesignature": body.get("time_signature", ""),
                },
                "generation_info": "emulated",
                "seed_value": str(body.get("seed", 12345)),
                "lm_model": "acestep-5Hz-lm-0.6B",
                "dit_model": body.get("model", "acestep-v15-turbo"),
            }
        ]
        return {"task_id": task_id, "status": 1, "result": json.dumps(result)}

    def _render(self, body: dict[str, Any], source: bytes | None, fmt: str) -> bytes:
        seconds = float(body.get("audio_duration") or 30)
        audio = tone(seconds, SAMPLE_RATE_HZ)
        if source is not None and body.get("task_type") == "repaint":
            prompt, rate = decode(source)
            assert rate == SAMPLE_RATE_HZ, "the emulator keeps to 48 kHz prompts"
            keep = round(float(body.get("repainting_start", 0)) * rate)
            channels = np.repeat(prompt, 2, axis=0) if prompt.shape[0] == 1 else prompt
            audio[:, :keep] = channels[:2, :keep]
        return encoded(audio, SAMPLE_RATE_HZ, fmt)

    async def _audio(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        path = request.query_params.get("path", "")
        data = self.files.get(path)
        if data is None:
            return JSONResponse({"detail": "File not found"}, status_code=404)
        return Response(data, media_type=media_type(path.rsplit(".", 1)[1]))


def _from_form(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _invalid(body: dict[str, Any], source: bytes | None) -> str:
    duration = body.get("audio_duration")
    if duration is not None and not 10 <= float(duration) <= 600:
        return "audio_duration must be between 10 and 600"
    bpm = body.get("bpm")
    if bpm is not None and not 30 <= int(bpm) <= 300:
        return "bpm must be between 30 and 300"
    if int(body.get("batch_size", 2)) > 8:
        return "batch_size must be at most 8"
    if body.get("audio_format", "mp3") not in ("mp3", "wav", "flac"):
        return "audio_format must be mp3, wav or flac"
    if body.get("task_type", "text2music") not in TASK_TYPES:
        return "unknown task_type"
    if str(body.get("time_signature", "4")) not in ("", "2", "3", "4", "6"):
        return "time_signature must be 2, 3, 4 or 6"
    if body.get("task_type") == "repaint" and source is None and not body.get("src_audio_path"):
        return "repaint needs src_audio"
    return ""
