"""Test helpers: an API on real SQLite files in a temp dir, with keys for alice, bob and an
admin, and a worker that runs queued jobs on demand with the ToneGenerator (or, when the
settings choose another generator, with that one: ``make_rig(tmp, generator="providers")``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from songforge.api import create_app
from songforge.jobs.fakes import ToneGenerator
from songforge.jobs.worker import Worker
from songforge.service.core import SongService
from songforge.service.keys import new_key
from songforge.service.runtime import Backends, build_service, build_worker, open_backends
from songforge.settings import Settings


@dataclass
class Rig:
    settings: Settings
    backends: Backends
    service: SongService
    app: FastAPI
    client: TestClient
    worker: Worker
    tokens: dict[str, str]

    def auth(self, who: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def submit(self, who: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"prompt": "synthwave night drive", "seed": 7, **fields}
        response = self.client.post("/v1/songs", json=body, headers=self.auth(who))
        assert response.status_code in (200, 202), response.text
        return response.json()

    def run_jobs(self) -> int:
        return self.worker.drain()


def make_rig(tmp_path: Path, **overrides: Any) -> Rig:
    options: dict[str, Any] = {
        "data_dir": tmp_path,
        "generator": "tone",
        "rate_limit_per_s": 0,
        "submit_rate_per_s": 0,
        "max_active_jobs": 0,
        "retry_backoff_s": [0.0],
        "progress_interval_s": 0.0,
    }
    options.update(overrides)
    settings = Settings(**options)
    backends = open_backends(settings)
    service = build_service(settings, backends)
    tokens = {}
    for name in ("alice", "bob", "admin"):
        token, record = new_key(name, admin=name == "admin")
        backends.keys.add(record)
        tokens[name] = token
    app = create_app(service, max_body_bytes=settings.max_body_bytes, events_interval_s=0.05)
    worker = build_worker(
        settings, backends, ToneGenerator() if settings.generator == "tone" else None
    )
    return Rig(settings, backends, service, app, TestClient(app), worker, tokens)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = make_rig(tmp_path)
    yield made
    made.backends.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def running(app: FastAPI, port: int | None = None, **config: Any) -> Iterator[LiveServer]:
    """``app`` under a real uvicorn on 127.0.0.1 (``port``: chosen beforehand, when the
    settings must name the server's URL) until the block ends."""
    port = port or free_port()
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live(rig: Rig) -> Iterator[LiveServer]:
    """The rig's app under a real uvicorn on 127.0.0.1 (for ranges, streaming and SSE)."""
    with running(rig.app) as server:
        yield server
