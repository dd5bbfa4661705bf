"""The service commands: keys, jobs, and `serve` as a real process that survives restarts."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from service_rig import free_port, make_rig, running
from typer.testing import CliRunner

from songforge.cli_service import register
from songforge.service.logs import UVICORN_LOGGERS, configure_logging

app = typer.Typer()
register(app)
runner = CliRunner()


def cli(*args: str, data_dir: Path) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_keys_create_prints_the_key_once_alone_on_the_last_line(tmp_path: Path) -> None:
    out = cli("keys", "create", "--name", "alice", data_dir=tmp_path)
    token = out.strip().splitlines()[-1]
    assert token.startswith("sfk_") and " " not in token and len(token) > 40
    listing = cli("keys", "list", data_dir=tmp_path)
    assert "alice" in listing and token.split("_")[1] in listing and token not in listing
    cli("keys", "revoke", "_".join(token.split("_")[:2]), data_dir=tmp_path)
    assert cli("keys", "list", data_dir=tmp_path).split("alice")[1].split("│")[-2].strip() != "no"


def test_no_auth_is_refused_on_a_public_host(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--no-auth", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "loopback" in result.output


def serve(data_dir: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SONGFORGE_DATA_DIR": str(data_dir), "SONGFORGE_GENERATOR": "tone"}
    return subprocess.Popen(
        [sys.executable, "-m", "songforge.cli_service", "serve", "--port", str(port),
         "--no-access-log", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("server did not become ready")


def stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return output.decode()


def test_serve_runs_jobs_and_a_restart_loses_nothing(tmp_path: Path) -> None:
    token = cli("keys", "create", "--name", "alice", data_dir=tmp_path).strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port, "--workers", "0")  # API only: the job stays queued
    try:
        wait_ready(url, server)
        job = httpx.post(f"{url}/v1/songs", json={"prompt": "lofi rain", "seed": 3}, headers=auth)
        assert job.status_code == 202
        job_id = job.json()["id"]
    finally:
        stop(server)
    [queued] = [
        json.loads(line) for line in cli("jobs", "list", "--json", data_dir=tmp_path).splitlines()
    ]
    assert (queued["id"], queued["status"]) == (job_id, "queued")
    server = serve(tmp_path, port, "--workers", "1")
    try:
        wait_ready(url, server)
        deadline = time.monotonic() + 60
        while (status := httpx.get(f"{url}/v1/songs/{job_id}", headers=auth).json())[
            "status"
        ] != "succeeded":
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        audio = httpx.get(f"{url}/v1/songs/{job_id}/audio", headers={**auth, "Range": "bytes=0-3"})
        assert audio.status_code == 206 and audio.content == b"RIFF"
    finally:
        output = stop(server)
    assert token not in output  # keys never reach the logs
    shown = cli("jobs", "show", job_id, data_dir=tmp_path)
    assert '"succeeded"' in shown and '"attempts"' in shown


def _processes_under(root: int) -> dict[int, str]:
    """pid → name of ``root`` and every process below it (Linux /proc)."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            parents[int(entry.name)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), name)
    tree = {root}
    while grown := {pid for pid, (parent, _) in parents.items() if parent in tree} - tree:
        tree |= grown
    return {pid: parents[pid][1] for pid in tree if pid in parents}


def _thread_nice_values(pid: int) -> set[int]:
    values = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        values.add(int(stat[stat.rindex(")") + 2 :].split()[16]))
    return values


@pytest.mark.skipif(sys.platform != "linux", reason="process names and thread priorities: /proc")
def test_serve_with_two_api_processes_renders_at_a_lower_priority(tmp_path: Path) -> None:
    token = cli("keys", "create", "--name", "alice", data_dir=tmp_path).strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port, "--workers", "1", "--api-workers", "2")
    try:
        wait_ready(url, server)
        job = httpx.post(f"{url}/v1/songs", json={"prompt": "lofi rain", "seed": 3}, headers=auth)
        assert job.status_code == 202
        deadline = time.monotonic() + 60
        status_url = f"{url}{job.headers['location']}"
        while httpx.get(status_url, headers=auth).json()["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        names = _processes_under(server.pid)
        assert sorted(n for n in names.values() if n.startswith("songforge-")) == [
            "songforge-api",
            "songforge-api",
            "songforge-jobs",
        ]
        [worker] = [pid for pid, name in names.items() if name == "songforge-jobs"]
        api = [pid for pid, name in names.items() if name == "songforge-api"]
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        # every thread of the worker, by the default worker_nice; the API as it was started
        assert _thread_nice_values(worker) == {min(19, ours + 10)}
        assert all(_thread_nice_values(pid) == {ours} for pid in api)
    finally:
        stop(server)


def test_jobs_cancel_from_the_command_line(tmp_path: Path) -> None:
    from songforge.request import SongRequest
    from songforge.service.core import Principal
    from songforge.service.runtime import build_service, open_backends
    from songforge.settings import Settings

    settings = Settings(data_dir=tmp_path)
    service = build_service(settings, open_backends(settings))
    job = service.submit(Principal("local", "local"), SongRequest(prompt="x", seed=1)).job
    cli("jobs", "cancel", job.id, data_dir=tmp_path)
    listed = cli("jobs", "list", "--status", "cancelled", "--json", data_dir=tmp_path)
    assert json.loads(listed)["id"] == job.id


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide logging: put it back afterwards."""
    names = ("", *UVICORN_LOGGERS)
    saved = [
        (logger, list(logger.handlers), logger.propagate, logger.level)
        for logger in map(logging.getLogger, names)
    ]
    yield
    for logger, handlers, propagate, level in saved:
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


def test_server_logs_redact_secrets_and_the_access_log_carries_no_credentials(
    tmp_path: Path, restored_logging: None
) -> None:
    provider_token = "fake-Provider-Token-0123456789"
    rig = make_rig(tmp_path, fake_provider_token=provider_token)
    lines = io.StringIO()
    configure_logging(rig.settings, stream=lines)  # what `serve` and `worker` do
    with running(rig.app, log_config=None, log_level="info", access_log=True) as api:
        assert httpx.get(f"{api.url}/v1/songs", headers=rig.auth()).status_code == 200
    logging.getLogger("songforge.providers").warning("upstream echoed %s", provider_token)
    logged = lines.getvalue()
    assert '"GET /v1/songs HTTP/1.1" 200' in logged  # uvicorn's access log comes through
    assert "upstream echoed ****" in logged
    assert provider_token not in logged and rig.tokens["alice"] not in logged
    rig.backends.close()
