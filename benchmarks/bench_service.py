"""Service throughput on loopback: submits/s and status reads/s with p50/p99 latency, measured
with httpx clients against `songforge serve` (uvicorn on 127.0.0.1) while a worker generates.

    python -m benchmarks.bench_service [--submits 3000] [--reads 10000] [--concurrency 8]
        [--client-processes 2] [--api-processes 1] [--generator tone:stage_delay_s=0.05]

Targets (2 cores): >= 500 submits/s, >= 2000 status reads/s, p99 <= 50 ms. The load is bounded
(a fixed number of requests, each with a timeout) and only ever goes to 127.0.0.1."""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(
    url: str, token: str, kind: str, count: int, concurrency: int, ids: list[str], offset: int
) -> tuple[list[float], list[str], int]:
    """``count`` requests from ``concurrency`` threads, each with its own keep-alive
    httpx.Client (httpx's async client tops out near 250 requests/s here, below the server);
    returns latencies (s), new job ids and the error count."""
    latencies: list[float] = []
    made: list[str] = []
    errors = [0]
    counter = itertools.count()
    lock = threading.Lock()

    def one_thread(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
        ) as client:
            while (i := next(counter)) < count:
                started = time.perf_counter()
                if kind == "submit":
                    body = {"prompt": f"synthwave night drive {offset + i}", "seed": offset + i}
                    response = client.post("/v1/songs", json=body)
                else:
                    response = client.get(f"/v1/songs/{rng.choice(ids)}")
                mine.append(time.perf_counter() - started)
                if response.status_code >= 300:
                    with lock:
                        errors[0] += 1
                elif kind == "submit":
                    with lock:
                        made.append(response.json()["id"])
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=one_thread, args=(offset + t,)) for t in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, made, errors[0]


def _client(args: tuple[str, str, str, int, int, list[str], int]) -> tuple[Any, ...]:
    started = time.perf_counter()
    latencies, made, errors = _run(*args)
    return latencies, made, errors, started, time.perf_counter()


def _phase(
    pool: Any, url: str, token: str, kind: str, total: int, concurrency: int, ids: list[str]
) -> tuple[dict[str, float], list[str]]:
    processes = pool._processes if pool is not None else 1
    share = total // processes
    jobs = [
        (url, token, kind, share, concurrency, ids, 10_000_000 * p + 1) for p in range(processes)
    ]
    results = pool.map(_client, jobs) if pool is not None else [_client(jobs[0])]
    latencies = sorted(x for r in results for x in r[0])
    made = [x for r in results for x in r[1]]
    errors = sum(r[2] for r in results)
    wall = max(r[4] for r in results) - min(r[3] for r in results)
    figures = {
        "requests": len(latencies),
        "errors": errors,
        "per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
    }
    return figures, made


def _server_side_ms(metrics: str) -> dict[str, float]:
    """Mean handler latency per route from the API's own Prometheus histogram."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in metrics.splitlines():
        for suffix, into in (("_sum{", sums), ("_count{", counts)):
            if line.startswith("songforge_http_request_duration_seconds" + suffix):
                labels, value = line.rsplit(" ", 1)
                route = labels.split('route="')[1].split('"')[0]
                method = labels.split('method="')[1].split('"')[0]
                key = f"{method} {route}"
                into[key] = into.get(key, 0.0) + float(value)
    return {
        k: 1000 * sums[k] / counts[k]
        for k in ("POST /v1/songs", "GET /v1/songs/{job_id}")
        if counts.get(k)
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--submits", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads per process")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="job worker processes")
    parser.add_argument("--generator", default="tone:stage_delay_s=0.05,duration_s=5")
    args = parser.parse_args(argv)

    from songforge.service.keys import new_key
    from songforge.service.runtime import open_backends
    from songforge.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="songforge-bench-"))
    settings = Settings(data_dir=data_dir)
    token, record = new_key("bench")
    backends = open_backends(settings)
    backends.keys.add(record)
    backends.close()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SONGFORGE_DATA_DIR": str(data_dir),
        "SONGFORGE_RATE_LIMIT_PER_S": "0",
        "SONGFORGE_SUBMIT_RATE_PER_S": "0",
        "SONGFORGE_MAX_ACTIVE_JOBS": "0",
        "SONGFORGE_GENERATOR": args.generator,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "songforge.cli_service", "serve", "--port", str(port),
         "--workers", str(args.workers), "--api-processes", str(args.api_processes),
         "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    pool = (
        multiprocessing.get_context("spawn").Pool(args.client_processes)
        if args.client_processes > 1
        else None
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        _phase(pool, url, token, "submit", 200, 8, [])  # warm up
        submit, ids = _phase(pool, url, token, "submit", args.submits, args.concurrency, [])
        reads, _ = _phase(pool, url, token, "read", args.reads, args.concurrency, ids)
        with httpx.Client(base_url=url) as client:
            metrics = client.get("/metrics").text
        server_ms = _server_side_ms(metrics)
        succeeded = next(
            (line.split()[-1] for line in metrics.splitlines()
             if line.startswith('songforge_jobs{status="succeeded"}')),
            "?",
        )  # fmt: skip
    finally:
        if pool is not None:
            pool.close()
        server.terminate()
        server.wait(30)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"songforge service on loopback · {os.cpu_count()} cores (load average {load:.1f} at "
        f"the end: other processes share them) · api processes "
        f"{args.api_processes} · {args.workers} worker(s) generating with {args.generator!r} · "
        f"{args.client_processes} client process(es) × {args.concurrency} in flight"
    )
    for name, figures in (("submit", submit), ("status read", reads)):
        print(
            f"  {name:<12} {figures['per_s']:8.0f} req/s   p50 {figures['p50_ms']:6.1f} ms   "
            f"p99 {figures['p99_ms']:6.1f} ms   max {figures['max_ms']:6.1f} ms   "
            f"({int(figures['requests'])} requests, {int(figures['errors'])} errors)"
        )
    print(f"  jobs generated during the run: {succeeded}")
    print(
        "  server-side mean time to response head (one API process's histogram): "
        + ", ".join(f"{route} {ms:.2f} ms" for route, ms in server_ms.items())
    )
    return {"submit": submit, "status_read": reads}


if __name__ == "__main__":
    main()
