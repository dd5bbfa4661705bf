"""Fixtures for the job machinery: a controllable clock and every store/queue backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from songforge.jobs._sqlite import Database
from songforge.jobs.memory import MemoryJobStore, MemoryQueue
from songforge.jobs.model import Job, new_job_id, request_hash
from songforge.jobs.queue import JobQueue
from songforge.jobs.sqlite import SqliteJobStore, SqliteQueue
from songforge.jobs.store import JobStore
from songforge.request import SongRequest


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# A new backend (DynamoDB, SQS, ...) adds one line here and must pass the same suites.
STORE_BACKENDS: dict[str, Callable[[Path, FakeClock], JobStore]] = {
    "memory": lambda tmp, clock: MemoryJobStore(clock=clock),
    "sqlite": lambda tmp, clock: SqliteJobStore(Database(tmp / "jobs.db"), clock=clock),
}
QUEUE_BACKENDS: dict[str, Callable[[Path, FakeClock], JobQueue]] = {
    "memory": lambda tmp, clock: MemoryQueue(clock=clock),
    "sqlite": lambda tmp, clock: SqliteQueue(Database(tmp / "queue.db"), clock=clock),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(STORE_BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[JobStore]:
    backend = STORE_BACKENDS[request.param](tmp_path, clock)
    yield backend
    backend.close()


@pytest.fixture(params=sorted(QUEUE_BACKENDS))
def queue(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[JobQueue]:
    backend = QUEUE_BACKENDS[request.param](tmp_path, clock)
    yield backend
    backend.close()


@pytest.fixture
def make_job(clock: FakeClock) -> Callable[..., Job]:
    def make(owner: str = "alice", seed: int = 1, **changes: object) -> Job:
        request = SongRequest(prompt="synthwave night drive", seed=seed)
        job = Job(
            id=new_job_id(),
            owner=owner,
            request=request,
            request_hash=request_hash(request),
            created_at=clock(),
            updated_at=clock(),
        )
        return job.evolve(**changes) if changes else job

    return make
