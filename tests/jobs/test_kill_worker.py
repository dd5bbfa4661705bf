"""Load and fault: 200 jobs, two real worker processes, one killed with SIGKILL mid-run.

Uses the in-package ToneGenerator (20 ms per stage) instead of the engine so the whole run
takes a few seconds; the job machinery under test is the real one (SQLite WAL store and queue,
filesystem blobs, spawned OS processes, leases, heartbeats and fencing)."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from songforge.jobs.model import AttemptOutcome, JobStatus
from songforge.request import SongRequest
from songforge.service.core import Principal
from songforge.service.runtime import build_service, open_backends, start_worker_process
from songforge.settings import Settings

JOBS = 200


def test_a_killed_workers_jobs_finish_exactly_once_on_the_survivor(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        generator="tone:stage_delay_s=0.02,duration_s=0.5",
        lease_s=1.5,
        heartbeat_s=0.3,
        max_active_jobs=0,
        rate_limit_per_s=0,
        submit_rate_per_s=0,
        retry_backoff_s=[0.2],
        progress_interval_s=0.05,
    )
    backends = open_backends(settings)
    service = build_service(settings, backends)
    alice = Principal("alice", "alice")
    with ThreadPoolExecutor(16) as pool:
        jobs = list(
            pool.map(
                lambda i: service.submit(alice, SongRequest(prompt=f"song {i}", seed=i)).job,
                range(JOBS),
            )
        )
    assert len({j.id for j in jobs}) == JOBS

    victim = start_worker_process(settings, concurrency=4)
    survivor = start_worker_process(settings, concurrency=4)
    try:
        deadline = time.monotonic() + 60
        while backends.store.stats().by_status["succeeded"] < 40:
            assert time.monotonic() < deadline, "workers made no progress"
            time.sleep(0.05)
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(5)
        while True:
            by_status = backends.store.stats().by_status
            if by_status["succeeded"] + by_status["failed"] + by_status["cancelled"] == JOBS:
                break
            assert time.monotonic() < deadline, f"jobs left unfinished: {by_status}"
            time.sleep(0.1)
    finally:
        for process in (victim, survivor):
            if process.is_alive():
                process.terminate()
            process.join(10)

    lost_by_victim = 0
    for job in jobs:
        done = backends.store.get(job.id)
        assert done is not None and done.status is JobStatus.SUCCEEDED, done
        attempts = backends.store.attempts(job.id)
        succeeded = [a for a in attempts if a.outcome is AttemptOutcome.SUCCEEDED]
        assert len(succeeded) == 1, attempts
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        assert done.attempt == succeeded[0].attempt
        lost_by_victim += sum(
            1 for a in attempts
            if a.outcome is AttemptOutcome.LOST and f":{victim.pid}:" in a.worker_id
        )  # fmt: skip
        assert done.outputs is not None
        keys = backends.blobs.list_keys(f"songs/{job.id}")
        assert keys and all(k.startswith(done.outputs.prefix + "/") for k in keys), keys
        audio = backends.blobs.get(done.outputs.audio.key)
        assert hashlib.sha256(audio).hexdigest() == done.outputs.audio.sha256
    assert lost_by_victim >= 1  # the kill landed mid-job and the survivor took over
    assert backends.queue.depth() == 0
