"""Helpers for the web page's browser test: the real server in a subprocess, and headless
Chromium driven by Playwright (the system Chromium; no browser is ever downloaded)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("SONGFORGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SERVER_START_TIMEOUT_S = 60.0


def require_browser() -> None:
    """Skip when there is no Chromium or no Playwright, unless SONGFORGE_REQUIRE_BROWSER says
    the run must have them (CI installs both), in which case fail loudly instead."""
    flag = os.environ.get("SONGFORGE_REQUIRE_BROWSER", "").strip().lower()
    required = flag not in ("", "0", "false", "no")
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is absent (scripts/system-deps.sh --test installs chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is not installed (pip install playwright)")
    if problems:
        reason = "web page browser test needs Chromium: " + "; ".join(problems)
        if required:
            pytest.fail(reason + " — and SONGFORGE_REQUIRE_BROWSER is set", pytrace=False)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, timeout_s: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read())


def _songforge_command() -> list[str]:
    script = Path(sys.executable).with_name("songforge")
    if script.exists():
        return [str(script)]
    found = shutil.which("songforge")
    if found:
        return [found]
    launcher = "import sys; from songforge.cli import main; sys.argv[0] = 'songforge'; main()"
    return [sys.executable, "-c", launcher]


@contextmanager
def running_server(data_dir: Path, log_path: Path) -> Iterator[str]:
    """`songforge serve` on a free loopback port with auth off and its own data dir; yields the
    base URL once the API answers, and stops the server (and its workers) afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SONGFORGE_CONFIG"}
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    args += ["--no-auth", "--generator", "engine", "--workers", "1"]
    base = f"http://127.0.0.1:{port}/"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*_songforge_command(), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"songforge serve exited with {proc.returncode}:\n{tail(log_path)}"
                    )
                try:
                    http_json(base + "v1/styles", timeout_s=2.0)
                    break
                except (OSError, urllib.error.URLError, ValueError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"songforge serve did not answer within {SERVER_START_TIMEOUT_S:g} s:\n"
                            f"{tail(log_path)}"
                        ) from None
                    time.sleep(0.2)
            yield base
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless system Chromium with a fresh profile; yields the Playwright Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            browser.close()


def audio_format_of(head: bytes) -> str | None:
    """wav, flac, ogg or mp3 from a file's first bytes (None when it is none of them)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None
