"""The job queue protocol, shaped like SQS: at-least-once delivery, a visibility timeout that
works as the worker's lease on the message, explicit ack, and delayed re-delivery for retries.

A message only names a job; the job store decides (by a fenced claim) whether a delivery is
worth working on, so duplicate deliveries are harmless.

Backends: :class:`songforge.jobs.memory.MemoryQueue`, :class:`songforge.jobs.sqlite.SqliteQueue`.
Every backend passes ``tests/jobs/test_queue_contract.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Message:
    job_id: str
    receipt: str  # names this delivery; ack/extend/release with a stale receipt do nothing
    receive_count: int


@runtime_checkable
class JobQueue(Protocol):
    def send(self, job_id: str, delay_s: float = 0.0) -> None: ...

    def receive(self, visibility_s: float, wait_s: float = 0.0) -> Message | None:
        """The oldest visible message, hidden for ``visibility_s``; waits up to ``wait_s``."""
        ...

    def extend(self, message: Message, visibility_s: float) -> bool:
        """Keep the message hidden for another ``visibility_s`` (the heartbeat)."""
        ...

    def ack(self, message: Message) -> None:
        """Delete the message: the job needs no more work."""
        ...

    def release(self, message: Message, delay_s: float = 0.0) -> None:
        """Make the message visible again after ``delay_s`` (retry, or not mine to run yet)."""
        ...

    def depth(self) -> int:
        """Messages waiting (visible or delayed), excluding those in flight."""
        ...

    def close(self) -> None: ...
