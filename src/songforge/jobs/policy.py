"""Retry and lease policies as values, and the one rule for which failures are worth retrying."""

from __future__ import annotations

import random
from dataclasses import dataclass

from songforge.errors import (
    BudgetExceeded,
    ContentRefused,
    InvalidRequest,
    ProviderError,
    SongforgeError,
    StyleFileError,
)
from songforge.jobs.model import ErrorInfo


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` tries in all; before try n+1 wait ``backoff_s[n-1]`` (the last repeats),
    spread by ±``jitter`` so failed jobs do not come back in lockstep."""

    max_attempts: int = 3
    backoff_s: tuple[float, ...] = (2.0, 10.0, 60.0)
    jitter: float = 0.1

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if not self.backoff_s:
            return 0.0
        base = self.backoff_s[min(max(attempt, 1), len(self.backoff_s)) - 1]
        spread = (rng or random).uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(0.0, base * (1.0 + spread))

    def may_retry(self, attempt: int) -> bool:
        return attempt < self.max_attempts


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """A claim lasts ``lease_s`` and is renewed every ``heartbeat_s``; a job whose lease lapsed
    is taken over by the next worker that receives it."""

    lease_s: float = 30.0
    heartbeat_s: float = 5.0

    def __post_init__(self) -> None:
        if self.heartbeat_s >= self.lease_s:
            raise ValueError("heartbeat_s must be shorter than lease_s")


_NEVER_RETRY = (InvalidRequest, ContentRefused, BudgetExceeded, StyleFileError)


def is_retryable(exc: BaseException) -> bool:
    """Bad input and refusals fail at once; provider errors say for themselves; anything else
    (a crash, a full disk, a flaky render) may pass on another try."""
    if isinstance(exc, _NEVER_RETRY):
        return False
    if isinstance(exc, ProviderError):
        return exc.retryable
    return True


def error_info(exc: BaseException) -> ErrorInfo:
    """The error a job records: our codes for our errors, 'internal_error' for the rest."""
    if isinstance(exc, SongforgeError):
        return ErrorInfo(exc.code, exc.message)
    return ErrorInfo("internal_error", f"{type(exc).__name__}: {exc}"[:500])
