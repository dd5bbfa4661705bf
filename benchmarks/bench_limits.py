"""Cost of one rate-limit check: the in-process bucket against the SQLite bucket shared by API
processes (one UPSERT per check on a WAL file with synchronous=OFF), alone and with several
processes checking at once. Every authenticated request makes one check, so this is a floor
on the cost the shared limiter adds to a status read (target: >= 2000 reads/s on 2 cores).

    python -m benchmarks.bench_limits [--checks 20000] [--processes 2] [--keys 1]

Prints per-check wall and CPU time (process_time, so other load on the machine shows only in
the wall figures), p50/p99 latency of single checks, and the load average."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from songforge.service.limits import MemoryRateLimiter, Rate, RateLimiter, SqliteRateLimiter

# Never empty: every check takes a token, so each is the full write path.
OPEN = {"request": Rate(per_s=1e9, burst=1_000_000_000)}


def _limiter(backend: str, path: Path) -> RateLimiter:
    if backend == "memory":
        return MemoryRateLimiter(OPEN)
    return SqliteRateLimiter(path, OPEN)


def _run(backend: str, path: Path, checks: int, keys: int, start: Any = None) -> dict[str, Any]:
    limiter = _limiter(backend, path)
    limiter.acquire("warm-up", "request")
    if start is not None:
        start.wait()
    latencies = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(checks):
        t0 = time.perf_counter()
        limiter.acquire(f"key{i % keys}", "request")  # never refused: the rate is open
        latencies.append(time.perf_counter() - t0)
    return {
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
        "latencies": latencies,
        "checks": checks,
    }


def _child(backend: str, path: Path, checks: int, keys: int, start: Any, out: Any) -> None:
    out.put(_run(backend, path, checks, keys, start))


def _report(label: str, runs: list[dict[str, Any]], wall_s: float) -> None:
    checks = sum(r["checks"] for r in runs)
    cpu_s = sum(r["cpu_s"] for r in runs)
    latencies = sorted(x for r in runs for x in r["latencies"])
    p50 = statistics.median(latencies) * 1e6
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6
    print(
        f"{label:34s} {checks / wall_s:9.0f} checks/s  cpu {cpu_s / checks * 1e6:6.1f} us/check"
        f"  wall p50 {p50:6.1f} us  p99 {p99:7.1f} us  ({checks} checks, {wall_s:.2f} s wall,"
        f" {cpu_s:.2f} s cpu)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000, help="checks per process")
    parser.add_argument("--processes", type=int, default=2, help="processes checking at once")
    parser.add_argument("--keys", type=int, default=1, help="distinct API keys checked")
    args = parser.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "limits.db"
        for backend in ("memory", "sqlite"):
            run = _run(backend, path, args.checks, args.keys)
            _report(f"{backend}, 1 process", [run], run["wall_s"])
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(args.processes)
        out = context.Queue()
        children = [
            context.Process(
                target=_child, args=("sqlite", path, args.checks, args.keys, start, out)
            )
            for _ in range(args.processes)
        ]
        for child in children:
            child.start()
        runs = [out.get(timeout=600) for _ in children]
        for child in children:
            child.join()
        _report(f"sqlite, {args.processes} processes at once", runs, max(r["wall_s"] for r in runs))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
