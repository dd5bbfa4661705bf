"""The worker: receive a message, claim the job (fenced), keep the lease alive with a heartbeat,
generate with a progress callback that reports progress and stops on cancel or lost lease,
store the outputs under the attempt's own prefix, then settle the job and the message."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from songforge.errors import Cancelled, LeaseLost
from songforge.jobs.generator import SongGenerator
from songforge.jobs.model import ErrorInfo, Job, JobStatus
from songforge.jobs.outputs import attempt_prefix, remove_other_attempts, write_outputs
from songforge.jobs.policy import LeasePolicy, RetryPolicy, error_info, is_retryable
from songforge.jobs.queue import JobQueue, Message
from songforge.jobs.store import Control, JobStore
from songforge.progress import Progress
from songforge.storage.blobs import BlobStore

log = logging.getLogger("songforge.jobs")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Lease:
    """Renews the claim on a job every ``heartbeat_s`` in a thread; remembers what it learned."""

    def __init__(
        self, store: JobStore, queue: JobQueue, job: Job, message: Message, policy: LeasePolicy
    ) -> None:
        self.store, self.queue, self.job, self.message, self.policy = (
            store,
            queue,
            job,
            message,
            policy,
        )
        self.control = Control.CONTINUE
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.id[:8]}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def note(self, control: Control) -> None:
        if control is not Control.CONTINUE and self.control is not Control.LOST:
            self.control = control

    def _run(self) -> None:
        while not self._stop.wait(self.policy.heartbeat_s):
            try:
                self.note(self.store.heartbeat(self.job.id, self.job.attempt, self.policy.lease_s))
                self.queue.extend(self.message, self.policy.lease_s)
            except Exception:  # a store hiccup: the next beat tries again before the lease ends
                log.warning("heartbeat failed for job %s", self.job.id, exc_info=True)
            if self.control is Control.LOST:
                return

    def check(self) -> None:
        if self.control is Control.LOST:
            raise LeaseLost(f"job {self.job.id} attempt {self.job.attempt} lost its lease")
        if self.control is Control.CANCEL:
            raise Cancelled(f"job {self.job.id} was cancelled")


@dataclass
class Worker:
    """Runs jobs from ``queue``; many workers (threads or processes) may share one store."""

    store: JobStore
    queue: JobQueue
    blobs: BlobStore
    generator: SongGenerator
    lease: LeasePolicy = field(default_factory=LeasePolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress_interval_s: float = 0.5
    worker_id: str = field(default_factory=new_worker_id)
    clock: Callable[[], float] = time.time

    def run(self, stop: threading.Event, *, concurrency: int = 1, poll_s: float = 0.5) -> None:
        """Work until ``stop`` is set, ``concurrency`` jobs at a time (one job: on this thread,
        so a worker process's main thread runs it and the engine can fork its render helpers)."""
        if concurrency == 1:
            self._loop(stop, poll_s)
            return
        threads = [
            threading.Thread(
                target=self._loop, args=(stop, poll_s), name=f"worker-{i}", daemon=True
            )
            for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _loop(self, stop: threading.Event, poll_s: float) -> None:
        while not stop.is_set():
            try:
                self.run_once(wait_s=poll_s)
            except Exception:
                log.exception("worker loop error; continuing")
                stop.wait(poll_s)

    def run_once(self, wait_s: float = 0.0) -> str | None:
        """Handle one message if one arrives within ``wait_s``; returns its job id."""
        message = self.queue.receive(self.lease.lease_s, wait_s)
        if message is None:
            return None
        self.handle(message)
        return message.job_id

    def drain(self, max_jobs: int = 10_000) -> int:
        """Handle messages until none is visible (tests and the inline runner)."""
        handled = 0
        while handled < max_jobs and self.run_once() is not None:
            handled += 1
        return handled

    def handle(self, message: Message) -> None:
        job = self.store.get(message.job_id)
        now = self.clock()
        if job is None or job.status.terminal:
            self.queue.ack(message)
            return
        if job.status is JobStatus.QUEUED and job.not_before > now:
            self.queue.release(message, job.not_before - now)
            return
        if job.status is JobStatus.RUNNING:
            expires = job.lease_expires_at or 0.0
            if expires > now:  # someone holds it; look again when the lease would lapse
                self.queue.release(message, expires - now + 0.05)
                return
            if job.attempt >= job.max_attempts:
                lost = ErrorInfo(
                    "worker_lost", f"the worker running attempt {job.attempt} stopped responding"
                )
                self.store.abandon(job.id, job.attempt, lost)
                self.queue.ack(message)
                return
        claimed = self.store.claim(job.id, self.worker_id, self.lease.lease_s)
        if claimed is None:  # another worker won the race
            self.queue.release(message, self.lease.heartbeat_s)
            return
        self._run(claimed, message)

    def _run(self, job: Job, message: Message) -> None:
        attempt = job.attempt
        if job.cancel_requested:
            self.store.cancel_running(job.id, attempt)
            self.queue.ack(message)
            return
        prefix = attempt_prefix(job.id, attempt)
        log.info("job %s attempt %d started on %s", job.id, attempt, self.worker_id)
        with _Lease(self.store, self.queue, job, message, self.lease) as lease:
            try:
                song = self.generator.generate(
                    job.request, self._progress(job, lease), key_id=job.owner, job_id=job.id
                )
                lease.check()
                outputs = write_outputs(song, self.blobs, prefix)
                lease.check()
                if self.store.complete(job.id, attempt, outputs):
                    remove_other_attempts(self.blobs, job.id, prefix)
                    log.info("job %s attempt %d succeeded", job.id, attempt)
                else:
                    raise LeaseLost(f"job {job.id} attempt {attempt} was fenced off")
            except Cancelled:
                self.blobs.delete_prefix(prefix)
                self.store.cancel_running(job.id, attempt)
                log.info("job %s cancelled", job.id)
            except LeaseLost:
                self.blobs.delete_prefix(prefix)
                log.warning("job %s attempt %d lost its lease; discarded", job.id, attempt)
                return  # the message belongs to whoever took over
            except Exception as exc:
                self.blobs.delete_prefix(prefix)
                error = error_info(exc)
                if is_retryable(exc) and self.retry.may_retry(attempt):
                    delay = self.retry.delay_s(attempt)
                    if self.store.retry_later(job.id, attempt, error, self.clock() + delay):
                        self.queue.release(message, delay)
                        log.warning("job %s attempt %d failed (%s); retry in %.1f s",
                                    job.id, attempt, error.code, delay)  # fmt: skip
                    return
                self.store.fail(job.id, attempt, error)
                log.warning("job %s failed: %s", job.id, error.message, exc_info=exc)
        self.queue.ack(message)

    def _progress(self, job: Job, lease: _Lease) -> Callable[[Progress], None]:
        last_write = [float("-inf")]
        best = [0.0]

        def report(progress: Progress) -> None:
            lease.check()
            best[0] = max(best[0], min(progress.percent, 99.0))
            now = time.monotonic()
            if now - last_write[0] >= self.progress_interval_s:
                last_write[0] = now
                lease.note(self.store.report_progress(job.id, job.attempt, progress.stage, best[0]))
                lease.check()

        return report


def requeue_stale(store: JobStore, queue: JobQueue, older_than_s: float) -> int:
    """Send a fresh message for queued jobs nobody touched for a while (a message lost between
    create and send, say). Duplicate messages are harmless: claims are fenced."""
    ids = store.stale_queued(older_than_s)
    for job_id in ids:
        queue.send(job_id)
    return len(ids)
