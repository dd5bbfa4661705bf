"""How a worker runs jobs: outputs, progress, retries, cancellation, leases and fencing."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable

import pytest

from songforge.errors import InvalidRequest, SongforgeError
from songforge.jobs.fakes import FlakyGenerator, GatedGenerator, ToneGenerator
from songforge.jobs.model import AttemptOutcome, Job, JobStatus
from songforge.jobs.policy import LeasePolicy, RetryPolicy
from songforge.jobs.queue import JobQueue
from songforge.jobs.store import JobStore
from songforge.jobs.worker import Worker, requeue_stale
from songforge.storage import MemoryBlobStore

MakeJob = Callable[..., Job]


@pytest.fixture
def blobs() -> MemoryBlobStore:
    return MemoryBlobStore()


def make_worker(store: JobStore, queue: JobQueue, blobs: MemoryBlobStore, generator: object,
                clock: object, name: str = "w1", **kwargs: object) -> Worker:  # fmt: skip
    return Worker(
        store=store,
        queue=queue,
        blobs=blobs,
        generator=generator,  # type: ignore[arg-type]
        lease=LeasePolicy(lease_s=1000, heartbeat_s=100),
        retry=kwargs.pop("retry", RetryPolicy(max_attempts=3, backoff_s=(5.0,), jitter=0)),  # type: ignore[arg-type]
        progress_interval_s=0.0,
        worker_id=name,
        clock=clock,  # type: ignore[arg-type]
    )


def submit(store: JobStore, queue: JobQueue, job: Job) -> Job:
    store.create(job)
    queue.send(job.id)
    return job


def outcomes(store: JobStore, job: Job) -> list[AttemptOutcome]:
    return [a.outcome for a in store.attempts(job.id)]


def test_a_job_runs_once_and_stores_song_stems_midi_and_metadata(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job())
    generator = ToneGenerator()
    assert make_worker(store, queue, blobs, generator, clock).drain() == 1
    done = store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.progress == 100
    out = done.outputs
    assert out is not None and out.prefix == f"songs/{job.id}/a1"
    audio = blobs.get(out.audio.key)
    assert hashlib.sha256(audio).hexdigest() == out.audio.sha256
    assert sorted(out.stems) == ["bass", "lead"] and out.midi is not None
    sheet = json.loads(blobs.get(out.metadata.key))
    assert sheet["audio"]["sha256"] == out.audio.sha256
    assert out.summary["seed"] == 1
    assert outcomes(store, job) == [AttemptOutcome.SUCCEEDED]
    assert generator.calls == 1
    assert queue.receive(visibility_s=1) is None  # acked


def test_a_retryable_failure_is_retried_after_backoff(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job())
    worker = make_worker(store, queue, blobs, FlakyGenerator(1), clock)
    worker.drain()
    waiting = store.get(job.id)
    assert waiting is not None and waiting.status is JobStatus.QUEUED
    assert waiting.error is not None and waiting.error.message == "flaky"
    assert worker.drain() == 0  # the message is delayed by the backoff
    clock.advance(5)
    worker.drain()
    done = store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert outcomes(store, job) == [AttemptOutcome.RETRY, AttemptOutcome.SUCCEEDED]
    assert blobs.list_keys(f"songs/{job.id}") == sorted(blobs.list_keys(f"songs/{job.id}/a2"))


def test_invalid_requests_fail_at_once_without_retry(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job())
    error = FlakyGenerator(5, lambda: InvalidRequest("genre", "no such genre"))
    make_worker(store, queue, blobs, error, clock).drain()
    failed = store.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.code == "invalid_request"
    assert outcomes(store, job) == [AttemptOutcome.FAILED]


def test_failures_stop_after_max_attempts_with_the_last_reason(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job())
    generator = FlakyGenerator(99, lambda: SongforgeError("render crashed"))
    worker = make_worker(store, queue, blobs, generator, clock)
    for _ in range(3):
        worker.drain()
        clock.advance(5)
    failed = store.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.message == "render crashed"
    assert outcomes(store, job) == [AttemptOutcome.RETRY, AttemptOutcome.RETRY,
                                    AttemptOutcome.FAILED]  # fmt: skip
    assert blobs.list_keys(f"songs/{job.id}") == []


def test_cancelling_a_running_job_stops_it_at_the_next_stage_boundary(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job())
    gated = GatedGenerator()
    worker = make_worker(store, queue, blobs, gated, clock)
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    assert gated.entered.wait(5)
    store.request_cancel(job.id)
    runner.join(5)
    assert not runner.is_alive()
    cancelled = store.get(job.id)
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
    assert outcomes(store, job) == [AttemptOutcome.CANCELLED]
    assert blobs.list_keys(f"songs/{job.id}") == []


def test_a_zombie_worker_cannot_overwrite_the_job_another_worker_finished(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    """Worker A stalls past its lease, B takes over and finishes; A's late result is fenced
    off and its files removed, so the job has exactly one set of outputs."""
    job = submit(store, queue, make_job())
    gated = GatedGenerator()
    zombie = make_worker(store, queue, blobs, gated, clock, name="A")
    runner = threading.Thread(target=zombie.run_once)
    runner.start()
    assert gated.entered.wait(5)
    clock.advance(1001)  # A's lease and its message's visibility lapse
    make_worker(store, queue, blobs, ToneGenerator(), clock, name="B").drain()
    gated.release.set()
    runner.join(5)
    done = store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.attempt == 2
    assert done.outputs is not None and done.outputs.prefix.endswith("/a2")
    assert all(k.startswith(f"songs/{job.id}/a2/") for k in blobs.list_keys(f"songs/{job.id}"))
    assert outcomes(store, job) == [AttemptOutcome.LOST, AttemptOutcome.SUCCEEDED]


def test_a_dead_workers_job_is_taken_over_after_its_lease_expires(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job())
    assert queue.receive(visibility_s=30) is not None  # the dead worker's delivery
    assert store.claim(job.id, "dead", 30) is not None
    worker = make_worker(store, queue, blobs, ToneGenerator(), clock)
    assert worker.drain() == 0
    clock.advance(31)
    assert worker.drain() == 1
    done = store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert outcomes(store, job) == [AttemptOutcome.LOST, AttemptOutcome.SUCCEEDED]


def test_a_job_that_keeps_killing_workers_fails_as_worker_lost(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = submit(store, queue, make_job(max_attempts=1))
    assert queue.receive(visibility_s=30) is not None
    store.claim(job.id, "dead", 30)
    clock.advance(31)
    make_worker(store, queue, blobs, ToneGenerator(), clock).drain()
    failed = store.get(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.code == "worker_lost"


def test_a_queued_job_whose_message_was_lost_is_sent_again(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    job = make_job()
    store.create(job)  # crashed before queue.send
    clock.advance(601)
    assert requeue_stale(store, queue, 600) == 1
    make_worker(store, queue, blobs, ToneGenerator(), clock).drain()
    done = store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED


def test_progress_is_written_as_the_stages_pass(store, queue, blobs, clock, make_job) -> None:
    submit(store, queue, make_job())
    seen: list[tuple[str | None, float]] = []
    real = store.report_progress

    def spy(job_id: str, attempt: int, stage: str, percent: float):  # type: ignore[no-untyped-def]
        seen.append((stage, percent))
        return real(job_id, attempt, stage, percent)

    store.report_progress = spy  # type: ignore[method-assign]
    make_worker(store, queue, blobs, ToneGenerator(), clock).drain()
    stages = [s for s, _ in seen]
    assert stages[:3] == ["understand", "compose", "arrange"]
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and 0 <= percents[0] < percents[-1] < 100


def test_one_job_at_a_time_runs_on_the_workers_own_thread(
    store, queue, blobs, clock, make_job: MakeJob
) -> None:
    """A worker process's main thread runs its job, so the engine can fork its render helpers
    (it renders on threads, several times slower, anywhere else)."""
    seen: list[str] = []
    stop = threading.Event()

    class Recording(ToneGenerator):
        def generate(self, request, progress, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(threading.current_thread().name)
            stop.set()
            return super().generate(request, progress, **kwargs)

    submit(store, queue, make_job())
    make_worker(store, queue, blobs, Recording(), clock).run(stop, concurrency=1, poll_s=0.01)
    assert seen == [threading.current_thread().name]
