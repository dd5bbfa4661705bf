"""Durable song jobs: states and transitions, store and queue protocols with embedded
backends (SQLite, memory), the generator protocol, and the worker."""

from songforge.jobs.generator import EngineGenerator, SongGenerator, make_generator
from songforge.jobs.memory import MemoryJobStore, MemoryQueue
from songforge.jobs.model import (
    TRANSITIONS,
    AttemptOutcome,
    AttemptRecord,
    BlobRef,
    ErrorInfo,
    Job,
    JobStatus,
    Outputs,
    WebhookAttempt,
    WebhookState,
    can_transition,
)
from songforge.jobs.policy import LeasePolicy, RetryPolicy, is_retryable
from songforge.jobs.queue import JobQueue, Message
from songforge.jobs.sqlite import SqliteJobStore, SqliteQueue
from songforge.jobs.store import Control, JobStore
from songforge.jobs.worker import Worker, requeue_stale

__all__ = [
    "TRANSITIONS",
    "AttemptOutcome",
    "AttemptRecord",
    "BlobRef",
    "Control",
    "EngineGenerator",
    "ErrorInfo",
    "Job",
    "JobQueue",
    "JobStatus",
    "JobStore",
    "LeasePolicy",
    "MemoryJobStore",
    "MemoryQueue",
    "Message",
    "Outputs",
    "RetryPolicy",
    "SongGenerator",
    "SqliteJobStore",
    "SqliteQueue",
    "WebhookAttempt",
    "WebhookState",
    "Worker",
    "can_transition",
    "is_retryable",
    "make_generator",
    "requeue_stale",
]
