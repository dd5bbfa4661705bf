"""The job store protocol: durable job records whose worker-side writes are fenced by the
attempt number (the lease token), so a worker that lost its lease cannot overwrite anything.

Backends: :class:`songforge.jobs.memory.MemoryJobStore` (tests, one process),
:class:`songforge.jobs.sqlite.SqliteJobStore` (embedded, WAL). Every backend passes
``tests/jobs/test_job_store_contract.py``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from songforge.errors import QuotaExceeded
from songforge.jobs.model import (
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


class Control(StrEnum):
    """What a worker learns when it reports in: carry on, stop because the owner cancelled, or
    stop because its lease is gone (another attempt owns the job now)."""

    CONTINUE = "continue"
    CANCEL = "cancel"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class ActiveQuota:
    """At most ``limit`` queued + running jobs per owner; a refusal tells the client to come
    back after ``retry_after_s``."""

    limit: int
    retry_after_s: float = 5.0

    def refusal(self, active: int) -> QuotaExceeded:
        """The error every backend raises when ``active`` jobs leave no room."""
        return QuotaExceeded(
            f"{active} jobs queued or running; this key may have {self.limit} at once",
            retry_after_s=self.retry_after_s,
        )


@runtime_checkable
class JobStore(Protocol):
    # --- the API side --------------------------------------------------------------------
    def create(self, job: Job, quota: ActiveQuota | None = None) -> tuple[Job, bool]:
        """Insert ``job``; if the owner already has a job with its idempotency key, return that
        one and False instead (no quota applies to that answer).

        With ``quota``, an active ``job`` is inserted only if its owner has fewer than
        ``quota.limit`` queued + running jobs, decided atomically with the insert (SQLite: one
        IMMEDIATE transaction; a DynamoDB backend: a conditional increment of a per-owner counter
        in the same transaction as the put, decremented when a job finishes), so concurrent
        submits can never overshoot.
        Raises QuotaExceeded otherwise."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def list_jobs(
        self,
        owner: str,
        *,
        statuses: Collection[JobStatus] | None = None,
        limit: int = 20,
        before: tuple[float, str] | None = None,
    ) -> list[Job]:
        """The owner's jobs, newest first (by created_at, then id), strictly after ``before``."""
        ...

    def find_idempotent(self, owner: str, idempotency_key: str) -> Job | None:
        """The owner's job created with this Idempotency-Key, if any."""
        ...

    def find_cached(self, request_hash: str, owner: str | None) -> Job | None:
        """The newest succeeded job with this request hash (of ``owner``, or anyone's if None)."""
        ...

    def count_active(self, owner: str) -> int:
        """Queued and running jobs of ``owner``."""
        ...

    def request_cancel(self, job_id: str) -> Job | None:
        """A queued job becomes cancelled at once; a running one is flagged for its worker to
        stop at the next stage boundary; a finished one is returned unchanged."""
        ...

    def delete(self, job_id: str) -> bool:
        """Forget a job with its attempt and webhook records."""
        ...

    def count_output_refs(self, prefix: str) -> int:
        """How many jobs point at outputs under ``prefix`` (cached jobs share their source's)."""
        ...

    # --- the worker side (fenced by attempt) ---------------------------------------------
    def claim(self, job_id: str, worker_id: str, lease_s: float) -> Job | None:
        """Take a queued job whose ``not_before`` has come, or a running one whose lease expired
        (the earlier attempt is then recorded as lost). Increments ``attempt``. None if another
        worker holds it, it is finished, or its attempts are used up."""
        ...

    def heartbeat(self, job_id: str, attempt: int, lease_s: float) -> Control: ...

    def report_progress(self, job_id: str, attempt: int, stage: str, percent: float) -> Control: ...

    def complete(self, job_id: str, attempt: int, outputs: Outputs) -> bool: ...

    def retry_later(self, job_id: str, attempt: int, error: ErrorInfo, not_before: float) -> bool:
        """Back to queued until ``not_before`` after a retryable failure."""
        ...

    def fail(self, job_id: str, attempt: int, error: ErrorInfo) -> bool: ...

    def cancel_running(self, job_id: str, attempt: int) -> bool: ...

    def abandon(self, job_id: str, attempt: int, error: ErrorInfo) -> bool:
        """Fail a running job whose lease expired and whose attempts are used up."""
        ...

    def attempts(self, job_id: str) -> list[AttemptRecord]: ...

    def stale_queued(self, older_than_s: float, limit: int = 100) -> list[str]:
        """Queued jobs not touched for ``older_than_s`` (their queue message may be lost);
        touches them so the next sweep skips them for another period."""
        ...

    # --- webhooks outbox ---------------------------------------------------------------
    def due_webhooks(self, lease_s: float, limit: int = 10) -> list[Job]:
        """Finished jobs whose webhook delivery is due, each claimed for ``lease_s``."""
        ...

    def record_webhook(
        self, attempt: WebhookAttempt, state: WebhookState, next_at: float | None
    ) -> None: ...

    def webhook_attempts(self, job_id: str) -> list[WebhookAttempt]: ...

    # --- operations ----------------------------------------------------------------------
    def stats(self) -> StoreStats: ...

    def usage(self) -> list[Usage]: ...

    def ping(self) -> None:
        """Raise StorageError if the store cannot be reached."""
        ...

    def close(self) -> None: ...
