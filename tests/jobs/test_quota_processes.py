"""The concurrent-job quota holds under racing submits: many threads in each of two OS
processes submit through the service against one SQLite store, and no more than the quota
of jobs is ever queued."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from songforge.errors import QuotaExceeded
from songforge.jobs._sqlite import Database
from songforge.jobs.sqlite import SqliteJobStore, SqliteQueue
from songforge.request import SongRequest
from songforge.service.core import Principal, ServicePolicy, SongService
from songforge.service.keys import MemoryKeyStore
from songforge.service.limits import MemoryRateLimiter
from songforge.storage.memory import MemoryBlobStore

QUOTA = 6
THREADS = 8
SUBMITS_PER_THREAD = 6


def _service(db_path: Path) -> SongService:
    db = Database(db_path)
    return SongService(
        SqliteJobStore(db),
        SqliteQueue(db),
        MemoryBlobStore(),
        MemoryKeyStore(),
        MemoryRateLimiter({}),
        ServicePolicy(max_active_jobs=QUOTA),
    )


def _submit_race(db_path: Path, start: Any, tag: int) -> tuple[int, int]:
    """Submit from THREADS threads at once; (accepted, refused with 429)."""
    service = _service(db_path)
    alice = Principal("alice", "alice")
    barrier = threading.Barrier(THREADS)

    def submit_many(thread: int) -> tuple[int, int]:
        barrier.wait()
        accepted = refused = 0
        for i in range(SUBMITS_PER_THREAD):
            seed = tag * 10_000 + thread * 100 + i
            try:
                service.submit(alice, SongRequest(prompt="race", seed=seed))
                accepted += 1
            except QuotaExceeded as exc:
                assert exc.retry_after_s > 0
                refused += 1
        return accepted, refused

    if start is not None:
        start.wait()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(submit_many, range(THREADS)))
    return sum(a for a, _ in results), sum(r for _, r in results)


def _process_main(db_path: Path, start: Any, results: Any) -> None:
    """One racing process (spawned); ``start`` lines it up with the other one."""
    results.put(_submit_race(db_path, start, tag=int(multiprocessing.current_process().name)))


def test_threads_racing_to_submit_never_exceed_the_quota(tmp_path: Path) -> None:
    accepted, refused = _submit_race(tmp_path / "jobs.db", None, tag=0)
    assert accepted == QUOTA and refused == THREADS * SUBMITS_PER_THREAD - QUOTA
    store = SqliteJobStore(Database(tmp_path / "jobs.db"))
    assert store.count_active("alice") == QUOTA


def test_two_processes_racing_to_submit_never_exceed_the_quota(tmp_path: Path) -> None:
    db_path = tmp_path / "jobs.db"
    _service(db_path)  # create the schema before the race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_process_main, args=(db_path, start, results), name=str(n + 1))
        for n in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert sum(a for a, _ in outcomes) == QUOTA
    assert sum(r for _, r in outcomes) == 2 * THREADS * SUBMITS_PER_THREAD - QUOTA
    store = SqliteJobStore(Database(db_path))
    assert store.count_active("alice") == QUOTA
    assert SqliteQueue(Database(db_path)).depth() == QUOTA  # only accepted jobs were queued
