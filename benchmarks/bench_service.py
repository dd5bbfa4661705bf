"""Service throughput on loopback: submits/s and status reads/s with p50/p99 latency, against a
real `songforge serve` process on 127.0.0.1 (real HTTP, real API-key auth) while its job
workers really generate songs (the offline engine by default), with the CPU each side used.

    python -m benchmarks.bench_service [--submits 3000] [--reads 10000] [--connections 16]
        [--client-processes 1] [--api-processes 2] [--workers 1] [--generator engine]

Targets (2 cores): >= 500 submits/s, >= 2000 status reads/s, p99 <= 50 ms. The load is bounded:
a fixed number of requests over a fixed number of keep-alive connections, one request in
flight on each (closed loop), each with a timeout, only ever to 127.0.0.1.

The load generator shares the machine's cores with the server, so its CPU is reported beside
the server's and the workers' (read from /proc for the server's process tree, getrusage for the
clients). It is an asyncio client parsing responses with httptools (uvicorn's own parser): a
real HTTP/1.1 client that costs a small fraction of the server's CPU per request, where an
httpx client costs about as much as the server and would measure itself. Per-key rate limits
and the concurrent-job quota are off for the run (one key makes all the load)."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SUBMIT_DURATION_S = 30  # the shortest song a request may ask for: workers finish several


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the load generator ----------------------------------------------------------------------


class _Response:
    """httptools callbacks for one response."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.done = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    import httptools

    writer.write(request)
    response = _Response()
    parser = httptools.HttpResponseParser(response)
    while not response.done:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        parser.feed_data(data)
    return parser.get_status_code(), bytes(response.body)


async def _load(
    port: int, token: str, kind: str, count: int, connections: int, ids: list[str], first: int
) -> tuple[list[float], list[str], int]:
    """``count`` requests over ``connections`` keep-alive connections, one in flight on each;
    returns latencies (s), the ids of created jobs and the number of errors."""
    import orjson

    head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
    latencies: list[float] = []
    made: list[str] = []
    errors = 0
    next_index = 0

    def build(i: int, rng: random.Random) -> bytes:
        if kind == "read":
            return f"GET /v1/songs/{rng.choice(ids)} HTTP/1.1\r\n{head}\r\n".encode()
        body = orjson.dumps(
            {
                "prompt": f"synthwave night drive {first + i}",
                "seed": first + i,
                "duration": SUBMIT_DURATION_S,
            }
        )
        return (
            f"POST /v1/songs HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def one_connection(seed: int) -> None:
        nonlocal next_index, errors
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < count:
                i, next_index = next_index, next_index + 1
                request = build(i, rng)
                started = time.perf_counter()
                status, body = await asyncio.wait_for(_exchange(reader, writer, request), 30)
                latencies.append(time.perf_counter() - started)
                expected = 202 if kind == "submit" else 200
                if status != expected:
                    errors += 1
                elif kind == "submit":
                    made.append(orjson.loads(body)["id"])
        finally:
            writer.close()

    await asyncio.gather(*(one_connection(first + c) for c in range(connections)))
    return latencies, made, errors


def _client(args: tuple[int, str, str, int, int, list[str], int]) -> tuple[Any, ...]:
    """One load-generator process: its results, wall span and own CPU seconds."""
    try:
        import uvloop

        run: Any = uvloop.run
    except ImportError:
        run = asyncio.run
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    latencies, made, errors = run(_load(*args))
    ended = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return latencies, made, errors, started, ended, cpu_s


# --- CPU of the server's process tree ---------------------------------------------------------

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, parent pid, user + system CPU seconds) of a live process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) * _TICK_S


def _tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds so far of ``root`` and its descendants: job workers (the processes that
    name themselves songforge-jobs, and their children) apart from the rest (the API
    processes and the supervisor)."""
    stats: dict[int, tuple[str, int, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, (_, parent, _) in stats.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)

    def in_worker(pid: int) -> bool:
        while pid in tree:
            comm, parent, _ = stats[pid]
            if comm.startswith("songforge-jobs"):
                return True
            pid = parent
        return False

    split = {"api": 0.0, "workers": 0.0}
    for pid in tree & stats.keys():
        split["workers" if in_worker(pid) else "api"] += stats[pid][2]
    return split


# --- phases -----------------------------------------------------------------------------------


def _phase(
    pool: Any,
    processes: int,
    server_pid: int,
    port: int,
    token: str,
    kind: str,
    total: int,
    connections: int,
    ids: list[str],
) -> tuple[dict[str, float], list[str]]:
    jobs = [
        (port, token, kind, total // processes, max(1, connections // processes), ids,
         10_000_000 * p + random.randrange(1_000_000))
        for p in range(processes)
    ]  # fmt: skip
    cpu_before = _tree_cpu(server_pid) if sys.platform == "linux" else None
    results = pool.map(_client, jobs) if pool is not None else [_client(jobs[0])]
    cpu_after = _tree_cpu(server_pid) if sys.platform == "linux" else None
    latencies = sorted(x for r in results for x in r[0])
    made = [x for r in results for x in r[1]]
    wall = max(r[4] for r in results) - min(r[3] for r in results)
    figures = {
        "requests": len(latencies),
        "errors": sum(r[2] for r in results),
        "wall_s": wall,
        "per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
        "client_cpu_s": sum(r[5] for r in results),
        "load_1m": os.getloadavg()[0],
    }
    if cpu_before is not None and cpu_after is not None:
        figures["api_cpu_s"] = cpu_after["api"] - cpu_before["api"]
        figures["worker_cpu_s"] = cpu_after["workers"] - cpu_before["workers"]
    return figures, made


def _until_generating(port: int, token: str, job_id: str, timeout_s: float = 120.0) -> None:
    """Wait until a worker has claimed the first job and is past its first stage, so the
    measured phases run while songs render (a niced worker starts slowly on a busy machine)."""
    deadline = time.monotonic() + timeout_s
    auth = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline:
        job = httpx.get(f"http://127.0.0.1:{port}/v1/songs/{job_id}", headers=auth).json()
        if job["status"] != "queued" and job["stage"] not in ("claimed", "understand"):
            return
        time.sleep(0.25)
    raise SystemExit(f"no worker started generating within {timeout_s:g} s")


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
    parser.add_argument("--connections", type=int, default=16, help="in flight, all clients")
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="job worker processes")
    parser.add_argument("--generator", default="engine", help="e.g. tone:stage_delay_s=0.05")
    args, _ = parser.parse_known_args(argv)  # `python -m benchmarks bench_service` passes names

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
    processes = max(1, args.client_processes)
    pool = multiprocessing.get_context("spawn").Pool(processes) if processes > 1 else None
    load_start = os.getloadavg()[0]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        common = (pool, processes, server.pid, port, token)
        _, warm_ids = _phase(*common, "submit", 200, args.connections, [])  # warm up
        _until_generating(port, token, warm_ids[0])
        submit, ids = _phase(*common, "submit", args.submits, args.connections, [])
        reads, _ = _phase(*common, "read", args.reads, args.connections, warm_ids + ids)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            metrics = client.get("/metrics").text
            auth = {"Authorization": f"Bearer {token}"}
            first = client.get(f"/v1/songs/{warm_ids[0]}", headers=auth).json()
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
        shutil.rmtree(data_dir, ignore_errors=True)
    print(
        f"songforge service on loopback · {os.cpu_count()} cores · load average {load_start:.1f} "
        f"at the start (other processes share the cores) · {args.api_processes} API "
        f"process(es) · {args.workers} worker(s) generating with {args.generator!r} · "
        f"{processes} client process(es), {args.connections} connections, 1 request in flight "
        "on each"
    )
    for name, figures in (("submit", submit), ("status read", reads)):
        print(
            f"  {name:<12} {figures['per_s']:7.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
            f"p99 {figures['p99_ms']:6.1f} ms  max {figures['max_ms']:6.1f} ms  "
            f"({int(figures['requests'])} requests, {int(figures['errors'])} errors, "
            f"{figures['wall_s']:.1f} s)"
        )
        if "api_cpu_s" in figures:
            wall = figures["wall_s"]
            print(
                f"  {'':<12} CPU s (cores busy): API {figures['api_cpu_s']:.1f} "
                f"({figures['api_cpu_s'] / wall:.2f}), workers {figures['worker_cpu_s']:.1f} "
                f"({figures['worker_cpu_s'] / wall:.2f}), load generator "
                f"{figures['client_cpu_s']:.1f} ({figures['client_cpu_s'] / wall:.2f}); "
                f"API {1000 * figures['api_cpu_s'] / figures['requests']:.2f} ms CPU/request; "
                f"load average {figures['load_1m']:.1f} after"
            )
    print(
        f"  jobs generated by the end: {succeeded}; the first job submitted is "
        f"{first['status']} at {first['progress']:.0f}% (stage {first['stage']!r})"
    )
    print(
        "  server-side mean time to response head (one API process's histogram): "
        + ", ".join(f"{route} {ms:.2f} ms" for route, ms in server_ms.items())
    )
    return {"submit": submit, "status_read": reads}


if __name__ == "__main__":
    main()
