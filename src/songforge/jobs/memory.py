"""In-memory job store and queue: the same semantics as the SQLite backends, for tests and a
single-process offline mode. Thread-safe; lost when the process ends."""

from __future__ import annotations

import heapq
import secrets
import threading
import time
from collections.abc import Callable, Collection

from songforge.jobs.model import (
    DURATION_BUCKETS_S,
    AttemptOutcome,
    AttemptRecord,
    ErrorInfo,
    Job,
    JobStatus,
    Outputs,
    StoreStats,
    Usage,
    WebhookAttempt,
    WebhookState,
)
from songforge.jobs.queue import Message
from songforge.jobs.store import ActiveQuota, Control

Clock = Callable[[], float]


class MemoryJobStore:
    def __init__(self, *, clock: Clock = time.time) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._attempts: dict[str, list[AttemptRecord]] = {}
        self._webhooks: dict[str, list[WebhookAttempt]] = {}

    # --- API side ----------------------------------------------------------------------
    def create(self, job: Job, quota: ActiveQuota | None = None) -> tuple[Job, bool]:
        from songforge.errors import StorageError

        with self._lock:  # the quota count and the insert under one lock: no overshoot
            if job.idempotency_key is not None:
                for other in self._jobs.values():
                    if other.owner == job.owner and other.idempotency_key == job.idempotency_key:
                        return other, False
            if job.id in self._jobs:
                raise StorageError(f"job {job.id} already exists")
            if quota is not None and job.status.active:
                active = self.count_active(job.owner)
                if active >= quota.limit:
                    raise quota.refusal(active)
            self._jobs[job.id] = job
        return job, True

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list_jobs(
        self,
        owner: str,
        *,
        statuses: Collection[JobStatus] | None = None,
        limit: int = 20,
        before: tuple[float, str] | None = None,
    ) -> list[Job]:
        with self._lock:
            jobs = [
                j
                for j in self._jobs.values()
                if j.owner == owner
                and (not statuses or j.status in statuses)
                and (before is None or (j.created_at, j.id) < before)
            ]
        jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return jobs[:limit]

    def find_idempotent(self, owner: str, idempotency_key: str) -> Job | None:
        with self._lock:
            for job in self._jobs.values():
                if job.owner == owner and job.idempotency_key == idempotency_key:
                    return job
        return None

    def find_cached(self, request_hash: str, owner: str | None) -> Job | None:
        with self._lock:
            hits = [
                j
                for j in self._jobs.values()
                if j.request_hash == request_hash
                and j.status is JobStatus.SUCCEEDED
                and (owner is None or j.owner == owner)
            ]
        return max(hits, key=lambda j: j.created_at) if hits else None

    def count_active(self, owner: str) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.owner == owner and j.status.active)

    def _finished(self, job: Job, **changes: object) -> Job:
        """Terminal state: schedule the webhook if the job has a callback."""
        now = self.clock()
        pending = job.callback_url is not None
        return job.evolve(
            finished_at=now,
            updated_at=now,
            lease_owner=None,
            lease_expires_at=None,
            webhook_state=WebhookState.PENDING if pending else WebhookState.NONE,
            webhook_next_at=now if pending else None,
            **changes,
        )

    def request_cancel(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status is JobStatus.QUEUED:
                job = self._finished(job, status=JobStatus.CANCELLED, stage="cancelled")
            elif job.status is JobStatus.RUNNING:
                job = job.evolve(cancel_requested=True, updated_at=self.clock())
            self._jobs[job_id] = job
            return job

    def delete(self, job_id: str) -> bool:
        with self._lock:
            self._attempts.pop(job_id, None)
            self._webhooks.pop(job_id, None)
            return self._jobs.pop(job_id, None) is not None

    def count_output_refs(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.outputs and j.outputs.prefix == prefix)

    # --- worker side -------------------------------------------------------------------
    def claim(self, job_id: str, worker_id: str, lease_s: float) -> Job | None:
        now = self.clock()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.attempt >= job.max_attempts:
                return None
            queued_ready = job.status is JobStatus.QUEUED and job.not_before <= now
            expired = (
                job.status is JobStatus.RUNNING
                and job.lease_expires_at is not None
                and job.lease_expires_at <= now
            )
            if not (queued_ready or expired):
                return None
            if expired:
                self._end_attempt(job_id, job.attempt, AttemptOutcome.LOST, None)
            job = job.evolve(
                status=JobStatus.RUNNING,
                attempt=job.attempt + 1,
                lease_owner=worker_id,
                lease_expires_at=now + lease_s,
                started_at=job.started_at if job.started_at is not None else now,
                updated_at=now,
                progress=0.0,
                stage="claimed",
            )
            self._jobs[job_id] = job
            self._attempts.setdefault(job_id, []).append(
                AttemptRecord(job_id, job.attempt, worker_id, now)
            )
            return job

    def _end_attempt(
        self, job_id: str, attempt: int, outcome: AttemptOutcome, error: ErrorInfo | None
    ) -> None:
        records = self._attempts.get(job_id, [])
        for i, record in enumerate(records):
            if record.attempt == attempt:
                records[i] = AttemptRecord(
                    job_id,
                    attempt,
                    record.worker_id,
                    record.started_at,
                    self.clock(),
                    outcome,
                    error,
                )

    def _held(self, job_id: str, attempt: int) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.attempt != attempt:
            return None
        return job

    def heartbeat(self, job_id: str, attempt: int, lease_s: float) -> Control:
        with self._lock:
            job = self._held(job_id, attempt)
            if job is None:
                return Control.LOST
            self._jobs[job_id] = job.evolve(lease_expires_at=self.clock() + lease_s)
            return Control.CANCEL if job.cancel_requested else Control.CONTINUE

    def report_progress(self, job_id: str, attempt: int, stage: str, percent: float) -> Control:
        with self._lock:
            job = self._held(job_id, attempt)
            if job is None:
                return Control.LOST
            self._jobs[job_id] = job.evolve(
                progress=min(max(percent, 0.0), 100.0), stage=stage, updated_at=self.clock()
            )
            return Control.CANCEL if job.cancel_requested else Control.CONTINUE

    def _settle(
        self,
        job_id: str,
        attempt: int,
        outcome: AttemptOutcome,
        error: ErrorInfo | None,
        *,
        require_expired: bool = False,
        **changes: object,
    ) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status is not JobStatus.RUNNING or job.attempt != attempt:
                return False
            expired = job.lease_expires_at is not None and job.lease_expires_at <= self.clock()
            if require_expired and not expired:
                return False
            status = changes["status"]
            assert isinstance(status, JobStatus)
            if status.terminal:
                job = self._finished(job, error=error, **changes)
            else:
                job = job.evolve(
                    error=error,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=self.clock(),
                    **changes,
                )
            self._jobs[job_id] = job
            self._end_attempt(job_id, attempt, outcome, error)
            return True

    def complete(self, job_id: str, attempt: int, outputs: Outputs) -> bool:
        return self._settle(
            job_id,
            attempt,
            AttemptOutcome.SUCCEEDED,
            None,
            status=JobStatus.SUCCEEDED,
            outputs=outputs,
            progress=100.0,
            stage="done",
        )

    def retry_later(self, job_id: str, attempt: int, error: ErrorInfo, not_before: float) -> bool:
        return self._settle(
            job_id,
            attempt,
            AttemptOutcome.RETRY,
            error,
            status=JobStatus.QUEUED,
            not_before=not_before,
            stage="retrying",
        )

    def fail(self, job_id: str, attempt: int, error: ErrorInfo) -> bool:
        return self._settle(
            job_id, attempt, AttemptOutcome.FAILED, error, status=JobStatus.FAILED, stage="failed"
        )

    def cancel_running(self, job_id: str, attempt: int) -> bool:
        return self._settle(
            job_id,
            attempt,
            AttemptOutcome.CANCELLED,
            None,
            status=JobStatus.CANCELLED,
            stage="cancelled",
        )

    def abandon(self, job_id: str, attempt: int, error: ErrorInfo) -> bool:
        return self._settle(
            job_id,
            attempt,
            AttemptOutcome.LOST,
            error,
            require_expired=True,
            status=JobStatus.FAILED,
            stage="failed",
        )

    def attempts(self, job_id: str) -> list[AttemptRecord]:
        with self._lock:
            return list(self._attempts.get(job_id, []))

    def stale_queued(self, older_than_s: float, limit: int = 100) -> list[str]:
        now = self.clock()
        with self._lock:
            ids = [
                j.id
                for j in self._jobs.values()
                if j.status is JobStatus.QUEUED and j.updated_at <= now - older_than_s
            ][:limit]
            for job_id in ids:
                self._jobs[job_id] = self._jobs[job_id].evolve(updated_at=now)
        return ids

    # --- webhooks ------------------------------------------------------------------------
    def due_webhooks(self, lease_s: float, limit: int = 10) -> list[Job]:
        now = self.clock()
        with self._lock:
            due = sorted(
                (
                    j
                    for j in self._jobs.values()
                    if j.webhook_state is WebhookState.PENDING
                    and j.webhook_next_at is not None
                    and j.webhook_next_at <= now
                ),
                key=lambda j: j.webhook_next_at or 0.0,
            )[:limit]
            claimed = [j.evolve(webhook_next_at=now + lease_s) for j in due]
            for job in claimed:
                self._jobs[job.id] = job
        return claimed

    def record_webhook(
        self, attempt: WebhookAttempt, state: WebhookState, next_at: float | None
    ) -> None:
        with self._lock:
            records = [
                a for a in self._webhooks.get(attempt.job_id, []) if a.number != attempt.number
            ]
            self._webhooks[attempt.job_id] = [*records, attempt]
            job = self._jobs.get(attempt.job_id)
            if job is not None:
                self._jobs[job.id] = job.evolve(
                    webhook_state=state, webhook_next_at=next_at, webhook_attempts=attempt.number
                )

    def webhook_attempts(self, job_id: str) -> list[WebhookAttempt]:
        with self._lock:
            return sorted(self._webhooks.get(job_id, []), key=lambda a: a.number)

    # --- operations ----------------------------------------------------------------------
    def stats(self) -> StoreStats:
        with self._lock:
            jobs = list(self._jobs.values())
        by_status = {s.value: 0 for s in JobStatus}
        durations = []
        for job in jobs:
            by_status[job.status.value] += 1
            if (
                job.status is JobStatus.SUCCEEDED
                and not job.cached
                and job.started_at is not None
                and job.finished_at is not None
            ):
                durations.append(job.finished_at - job.started_at)
        counts = tuple(sum(1 for d in durations if d <= b) for b in DURATION_BUCKETS_S)
        return StoreStats(by_status, DURATION_BUCKETS_S, (*counts, len(durations)), sum(durations))

    def usage(self) -> list[Usage]:
        with self._lock:
            jobs = list(self._jobs.values())
        found: dict[str, Usage] = {}
        for job in sorted(jobs, key=lambda j: j.owner):
            usage = found.setdefault(job.owner, Usage(job.owner, {}, 0.0, None))
            usage.by_status[job.status.value] = usage.by_status.get(job.status.value, 0) + 1
            audio = job.outputs.duration_s if job.outputs and job.status.value == "succeeded" else 0
            found[job.owner] = Usage(
                job.owner,
                usage.by_status,
                usage.audio_seconds + audio,
                max(usage.last_job_at or 0.0, job.created_at),
            )
        return list(found.values())

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


class MemoryQueue:
    """A heap of (visible_at, seq) with receipts; ``receive`` can block on a condition."""

    def __init__(self, *, clock: Clock = time.time) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._seq = 0
        self._heap: list[tuple[float, int]] = []
        self._messages: dict[int, tuple[str, str | None, int]] = {}  # seq → job, receipt, count

    def send(self, job_id: str, delay_s: float = 0.0) -> None:
        with self._cond:
            self._seq += 1
            self._messages[self._seq] = (job_id, None, 0)
            heapq.heappush(self._heap, (self.clock() + max(delay_s, 0.0), self._seq))
            self._cond.notify()

    def receive(self, visibility_s: float, wait_s: float = 0.0) -> Message | None:
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                now = self.clock()
                while self._heap and self._heap[0][1] not in self._messages:
                    heapq.heappop(self._heap)  # acked
                if self._heap and self._heap[0][0] <= now:
                    _, seq = heapq.heappop(self._heap)
                    job_id, _, count = self._messages[seq]
                    receipt = secrets.token_hex(8)
                    self._messages[seq] = (job_id, receipt, count + 1)
                    heapq.heappush(self._heap, (now + visibility_s, seq))
                    return Message(job_id, f"{seq}:{receipt}", count + 1)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.05))

    def _current(self, message: Message) -> int | None:
        seq_text, _, receipt = message.receipt.partition(":")
        seq = int(seq_text)
        entry = self._messages.get(seq)
        return seq if entry is not None and entry[1] == receipt else None

    def _reschedule(self, seq: int, visible_at: float) -> None:
        self._heap = [(w, s) for w, s in self._heap if s != seq]
        heapq.heapify(self._heap)
        heapq.heappush(self._heap, (visible_at, seq))

    def extend(self, message: Message, visibility_s: float) -> bool:
        with self._cond:
            seq = self._current(message)
            if seq is None:
                return False
            self._reschedule(seq, self.clock() + visibility_s)
            return True

    def ack(self, message: Message) -> None:
        with self._cond:
            seq = self._current(message)
            if seq is not None:
                del self._messages[seq]

    def release(self, message: Message, delay_s: float = 0.0) -> None:
        with self._cond:
            seq = self._current(message)
            if seq is None:
                return
            job_id, _, count = self._messages[seq]
            self._messages[seq] = (job_id, None, count)
            self._reschedule(seq, self.clock() + max(delay_s, 0.0))
            self._cond.notify()

    def depth(self) -> int:
        now = self.clock()
        with self._cond:
            waiting = 0
            for when, seq in self._heap:
                entry = self._messages.get(seq)
                if entry is not None and (entry[1] is None or when <= now):
                    waiting += 1
            return waiting

    def close(self) -> None:
        return None
