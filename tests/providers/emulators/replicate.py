"""Replicate's predictions API as our adapter reads it (see providers.md and the adapter's
docstring): Bearer auth, problem+json errors, 201 creates, ``Prefer: wait``, ``Cancel-After``,
a starting → processing → succeeded lifecycle that advances one step per read, cancel, model
lookup (community models have a ``latest_version``, official ones none), the files API,
429 with Retry-After and a "resets in ~Ns" detail, and Standard Webhooks signed with the
``standardwebhooks`` package (an implementation independent of ours), delivered when a
test asks."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import standardwebhooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .audio import decode, encoded, tone

MUSICGEN_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
OTHER_VERSION = "b" * 64
MODEL_VERSIONS = ("stereo-melody-large", "stereo-large", "melody-large", "large")
SAMPLE_RATE_HZ = 32000
SENDER = httpx.Client()  # one connection pool for every webhook delivery
_CANCEL_AFTER = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


def problem(status: int, title: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


@dataclass
class ReplicateEmulator:
    token: str = field(default_factory=lambda: "r8_" + secrets.token_hex(18))
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    base_url: str = ""  # set once served: http://127.0.0.1:<port>
    steps_to_finish: int = 2  # reads until a prediction succeeds (when it advances by reads)
    advance_on_read: bool = True
    finish_on_create: bool = False  # Prefer: wait sees it finish
    webhook_before_answer: bool = False  # the completed webhook beats the create's answer
    rate_limit_next: int = 0  # creates answered 429
    retry_after: str | None = "1"
    fail_with: str | None = None  # the model's error text: the prediction fails
    output_url: str | None = None  # override (a foreign host)
    echo_auth_in_errors: bool = False  # a careless provider echoing the Authorization header
    predict_time_s: float = 4.2
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    audio: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    deleted_files: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    creates: list[dict[str, Any]] = field(default_factory=list)
    create_headers: list[dict[str, str]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def secret(self) -> str:
        return "whsec_" + base64.b64encode(self.key).decode()

    @property
    def api(self) -> str:
        return f"{self.base_url}/v1"

    def reset(self) -> None:
        fresh = ReplicateEmulator(token=self.token, key=self.key, base_url=self.base_url)
        for name in self.__dataclass_fields__:
            if name not in ("lock",):
                setattr(self, name, getattr(fresh, name))

    def reads_of(self, prediction_id: str) -> int:
        return self.requests.count(("GET", f"/v1/predictions/{prediction_id}"))

    # --- the app -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/account", self._account),
                Route("/v1/models/{owner}/{name}", self._model),
                Route("/v1/models/{owner}/{name}/predictions", self._create, methods=["POST"]),
                Route("/v1/predictions", self._create, methods=["POST"]),
                Route("/v1/predictions/{pid}", self._get),
                Route("/v1/predictions/{pid}/cancel", self._cancel, methods=["POST"]),
                Route("/v1/webhooks/default/secret", self._secret),
                Route("/v1/files", self._upload, methods=["POST"]),
                Route("/v1/files/{fid}", self._file, methods=["GET", "DELETE"]),
                Route("/delivery/{pid}/output.wav", self._delivery),
            ]
        )

    def _unauthorized(self, request: Request) -> JSONResponse | None:
        self.requests.append((request.method, request.url.path))
        header = request.headers.get("authorization", "")
        if header == f"Bearer {self.token}":
            return None
        detail = "You did not pass a valid authentication token"
        if self.echo_auth_in_errors:
            detail += f" (got {header!r})"
        return problem(401, "Unauthenticated", detail)

    async def _account(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        return JSONResponse({"type": "user", "username": "songforge-tests", "name": "Tests"})

    async def _secret(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        return JSONResponse({"key": self.secret})

    async def _model(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        owner, name = request.path_params["owner"], request.path_params["name"]
        if (owner, name) == ("meta", "musicgen"):
            latest: dict[str, Any] | None = {"id": MUSICGEN_VERSION}
        elif owner == "official":
            latest = None  # official models run through their own predictions route
        elif owner == "acme":
            latest = {"id": OTHER_VERSION}
        else:
            return problem(404, "Not found", "The requested resource could not be found.")
        return JSONResponse({"owner": owner, "name": name, "latest_version": latest})

    async def _create(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            headers = {"ratelimit-remaining": "0", "ratelimit-reset": "1"}
            if self.retry_after is not None:
                headers["Retry-After"] = self.retry_after
            return problem(
                429,
                "Request was throttled",
                "Request was throttled. Your rate limit resets in ~1s.",
                **headers,
            )
        body = await request.json()
        cancel_after = request.headers.get("cancel-after")
        if cancel_after is not None and not _CANCEL_AFTER.match(cancel_after):
            return problem(400, "Invalid Cancel-After", f"cannot parse {cancel_after!r}")
        owner = request.path_params.get("owner")
        if owner is not None:
            model, version = f"{owner}/{request.path_params['name']}", None
        else:
            version = str(body.get("version", "")).rpartition(":")[2]
            if version == MUSICGEN_VERSION:
                model = "meta/musicgen"
            elif version == OTHER_VERSION:
                model = "acme/other"
            else:
                return problem(422, "Invalid version or not permitted", "unknown version")
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            return problem(422, "Input validation failed", "- input: Invalid type.")
        if model == "meta/musicgen":
            invalid = _musicgen_schema(inputs)
            if invalid:
                return problem(422, "Input validation failed", invalid)
        self.creates.append(body)
        self.create_headers.append(dict(request.headers))
        pid = secrets.token_hex(13)
        now = datetime.now(UTC).isoformat()
        prediction: dict[str, Any] = {
            "id": pid,
            "model": model,
            "version": version,
            "input": inputs,
            "output": None,
            "error": None,
            "logs": "",
            "status": "starting",
            "created_at": now,
            "started_at": None,
            "completed_at": None,
            "data_removed": False,
            "metrics": {},
            "urls": {
                "get": f"{self.api}/predictions/{pid}",
                "cancel": f"{self.api}/predictions/{pid}/cancel",
                "stream": f"{self.base_url}/stream/{pid}",
            },
            "webhook": body.get("webhook"),
            "webhook_events_filter": body.get("webhook_events_filter"),
            "reads": 0,
        }
        with self.lock:
            self.predictions[pid] = prediction
        if self.finish_on_create and request.headers.get("prefer", "").startswith("wait"):
            self.finish(pid, deliver=False)
        answer = self.view(pid)
        if self.webhook_before_answer:
            self.finish(pid)  # blocks this emulator's loop only; the receiver is elsewhere
        return JSONResponse(answer, status_code=201)

    async def _get(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        pid = request.path_params["pid"]
        if pid not in self.predictions:
            return problem(404, "Not found", "The requested resource could not be found.")
        if self.advance_on_read:
            with self.lock:
                prediction = self.predictions[pid]
                if prediction["status"] in ("starting", "processing"):
                    prediction["reads"] += 1
                    prediction["status"] = "processing"
                    prediction["logs"] = f"generating {min(99, prediction['reads'] * 40)}%|###"
            if prediction["status"] == "processing" and prediction["reads"] >= self.steps_to_finish:
                self.finish(pid, deliver=False)
        return JSONResponse(self.view(pid))

    async def _cancel(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        pid = request.path_params["pid"]
        with self.lock:
            prediction = self.predictions.get(pid)
            if prediction is None:
                return problem(404, "Not found", "The requested resource could not be found.")
            self.cancelled.append(pid)
            if prediction["status"] in ("starting", "processing"):
                prediction["status"] = "canceled"
                prediction["completed_at"] = datetime.now(UTC).isoformat()
        return JSONResponse(self.view(pid))

    async def _upload(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        form = await request.form()
        content = form.get("content")
        if content is None or isinstance(content, str):
            return problem(400, "Bad request", "content: a file is required")
        data = await content.read()
        fid = secrets.token_hex(8)
        self.files[fid] = data
        return JSONResponse(
            {
                "id": fid,
                "name": content.filename,
                "content_type": content.content_type,
                "size": len(data),
                "checksums": {"sha256": hashlib.sha256(data).hexdigest()},
                "urls": {"get": f"{self.api}/files/{fid}"},
            },
            status_code=201,
        )

    async def _file(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        fid = request.path_params["fid"]
        if fid not in self.files:
            return problem(404, "Not found", "The requested resource could not be found.")
        if request.method == "DELETE":
            self.deleted_files.append(fid)
            return Response(status_code=204)
        return Response(self.files[fid], media_type="audio/wav")

    async def _delivery(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        data = self.audio.get(request.path_params["pid"])
        if data is None:
            return Response("not found", status_code=404)
        return Response(data, media_type="audio/wav")

    # --- lifecycle ---------------------------------------------------------------------------

    def view(self, pid: str) -> dict[str, Any]:
        with self.lock:
            return {k: v for k, v in self.predictions[pid].items() if k != "reads"}

    def finish(self, pid: str, *, deliver: bool = True) -> None:
        """Complete a prediction (succeeded, or failed with ``fail_with``); with ``deliver``,
        POST the signed ``completed`` webhook to its webhook URL."""
        with self.lock:
            prediction = self.predictions[pid]
            prediction["started_at"] = prediction["started_at"] or prediction["created_at"]
            prediction["completed_at"] = datetime.now(UTC).isoformat()
            prediction["metrics"] = {"predict_time": self.predict_time_s}
            if self.fail_with is not None:
                prediction["status"] = "failed"
                prediction["error"] = self.fail_with
            else:
                self.audio[pid] = self._render(prediction["input"])
                prediction["status"] = "succeeded"
                prediction["output"] = (
                    self.output_url or f"{self.base_url}/delivery/{pid}/output.wav"
                )
        if deliver:
            self.deliver(pid)

    def deliver(
        self,
        pid: str,
        *,
        secret: str | None = None,
        timestamp: datetime | None = None,
        message_id: str | None = None,
    ) -> int:
        """Send the prediction as a Standard Webhook; returns the receiver's status."""
        prediction = self.view(pid)
        url = prediction.get("webhook")
        if not url:
            raise AssertionError("the prediction has no webhook URL")
        body = json.dumps(prediction)
        message_id = message_id or f"msg_{secrets.token_hex(8)}"
        when = timestamp or datetime.now(UTC)
        signer = standardwebhooks.Webhook(secret or self.secret)
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signer.sign(message_id, when, body),
            "content-type": "application/json",
        }
        response = SENDER.post(url, content=body.encode(), headers=headers, timeout=10)
        self.deliveries.append(response.status_code)
        return response.status_code

    @staticmethod
    def stale(seconds: float) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=seconds)

    def _render(self, inputs: dict[str, Any]) -> bytes:
        seconds = float(inputs.get("duration", 8))
        stereo = str(inputs.get("model_version", "stereo-melody-large")).startswith("stereo")
        channels = 2 if stereo else 1
        audio = tone(seconds, SAMPLE_RATE_HZ, channels=channels)
        prompt = inputs.get("input_audio")
        if inputs.get("continuation") and isinstance(prompt, str):
            head, _ = self._prompt_audio(prompt)
            head = head[:channels] if head.shape[0] >= channels else np.repeat(head, 2, axis=0)
            frames = min(head.shape[1], audio.shape[1])
            audio[:, :frames] = head[:, :frames]  # the output starts with the prompt
        return encoded(audio, SAMPLE_RATE_HZ, "wav")

    def _prompt_audio(self, uri: str) -> tuple[np.ndarray, int]:
        if uri.startswith("data:"):
            return decode(base64.b64decode(uri.split(",", 1)[1]))
        fid = uri.rstrip("/").rsplit("/", 1)[1]
        return decode(self.files[fid])


def _musicgen_schema(inputs: dict[str, Any]) -> str:
    """meta/musicgen's input schema checks (Replicate answers 422 before running)."""
    problems = []
    if "model_version" in inputs and inputs["model_version"] not in MODEL_VERSIONS:
        problems.append("- input.model_version: must be one of " + ", ".join(MODEL_VERSIONS))
    if not isinstance(inputs.get("duration", 8), int):
        problems.append("- input.duration: Invalid type. Expected: integer")
    if inputs.get("output_format", "wav") not in ("wav", "mp3"):
        problems.append("- input.output_format: must be one of wav, mp3")
    if not inputs.get("prompt") and not inputs.get("input_audio"):
        problems.append("- input: prompt or input_audio is required")
    if inputs.get("continuation") and not inputs.get("input_audio"):
        problems.append("- input: continuation needs input_audio")
    return "\n".join(problems)
