"""Calling providers safely: a retry policy as a value, a circuit breaker per provider, and a
timeout around every call. Clock, sleep and jitter are injected, so tests are exact and instant."""

from __future__ import annotations

import concurrent.futures
import enum
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from songforge.errors import (
    ContentRefused,
    InvalidRequest,
    ProviderError,
    ProviderUnavailable,
    SongforgeError,
)
from songforge.settings import Settings

T = TypeVar("T")
_FOREVER_S = 1e9  # timeouts at or over this wait without a limit
Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` tries per call; before try n+1 wait ``base_s * multiplier**(n-1)``
    capped at ``max_s`` with full jitter in [(1 - jitter), 1] of it — or the provider's
    ``retry_after_s`` when it sent one (never more than ``max_s``, never jittered below it)."""

    max_attempts: int = 3
    base_s: float = 1.0
    multiplier: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.5  # 0: exact delays; 1: anywhere from 0 to the full delay

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.provider_retry_attempts,
            base_s=settings.provider_retry_base_s,
            max_s=settings.provider_retry_max_s,
        )

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether a call that failed with ``error`` on try ``attempt`` (1-based) goes again."""
        return attempt < self.max_attempts and is_retryable(error)

    def delay_s(
        self, attempt: int, rng: random.Random, retry_after_s: float | None = None
    ) -> float:
        """Seconds to wait after failed try ``attempt`` (1-based)."""
        if retry_after_s is not None and retry_after_s >= 0:
            return min(retry_after_s, self.max_s)
        delay = min(self.base_s * self.multiplier ** max(attempt - 1, 0), self.max_s)
        return delay * (1.0 - self.jitter * rng.random())


def is_retryable(error: BaseException) -> bool:
    """Only provider errors that say so (network, 5xx, 429, timeouts); never a refusal."""
    if isinstance(error, ContentRefused):
        return False
    return isinstance(error, ProviderError) and error.retryable


def counts_against_provider(error: BaseException) -> bool:
    """Failures that say something about the provider's health (a refusal or a bad request
    says something about the prompt, and a cancellation about the user)."""
    if isinstance(error, ContentRefused | InvalidRequest):
        return False
    if isinstance(error, ProviderUnavailable) and getattr(error, "circuit_open", False):
        return False
    return isinstance(error, ProviderError) or not isinstance(error, SongforgeError)


class CircuitState(enum.StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused until the cool-down passes
    HALF_OPEN = "half_open"  # one trial call is let through


@dataclass
class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → half-open after
    ``cooldown_s`` (one trial call) → closed on its success, open again on its failure."""

    name: str
    failure_threshold: int = 5
    cooldown_s: float = 60.0
    clock: Clock = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _trial_running: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state()

    def _state(self) -> CircuitState:
        if self.opened_at is None:
            return CircuitState.CLOSED
        if self.clock() - self.opened_at >= self.cooldown_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def retry_in_s(self) -> float:
        with self._lock:
            if self.opened_at is None:
                return 0.0
            return max(0.0, self.cooldown_s - (self.clock() - self.opened_at))

    def acquire(self) -> None:
        """Raise ProviderUnavailable unless a call may go through now."""
        with self._lock:
            state = self._state()
            if state is CircuitState.CLOSED:
                return
            if state is CircuitState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            wait = max(0.0, self.cooldown_s - (self.clock() - (self.opened_at or 0.0)))
        error = ProviderUnavailable(
            f"provider {self.name!r} is failing; its circuit is open (next try in {wait:.0f} s)",
            provider=self.name,
            retryable=True,
            retry_after_s=wait,
        )
        error.circuit_open = True  # type: ignore[attr-defined]
        raise error

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._trial_running = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            was_trial, self._trial_running = self._trial_running, False
            if was_trial or self.failures >= self.failure_threshold:
                self.opened_at = self.clock()

    def release(self) -> None:
        """The call ended in a way that says nothing about the provider (e.g. a refusal)."""
        with self._lock:
            self._trial_running = False


class CircuitBreakers:
    """One breaker per provider name, shared by everything in the process that uses this board."""

    def __init__(
        self, failure_threshold: int = 5, cooldown_s: float = 60.0, clock: Clock = time.monotonic
    ) -> None:
        self.failure_threshold, self.cooldown_s, self.clock = failure_threshold, cooldown_s, clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(name)
            if breaker is None:
                breaker = CircuitBreaker(name, self.failure_threshold, self.cooldown_s, self.clock)
                self._breakers[name] = breaker
            return breaker

    def states(self) -> dict[str, CircuitState]:
        with self._lock:
            breakers = list(self._breakers.values())
        return {b.name: b.state for b in breakers}


_process_breakers: CircuitBreakers | None = None
_process_lock = threading.Lock()


def process_breakers(settings: Settings) -> CircuitBreakers:
    """The breakers shared by every generator in this process (created on first use)."""
    global _process_breakers
    with _process_lock:
        if _process_breakers is None:
            _process_breakers = CircuitBreakers(
                settings.provider_breaker_failures, settings.provider_breaker_cooldown_s
            )
        return _process_breakers


def timeout_for(settings: Settings, provider: str) -> float:
    """The provider's call timeout: its own setting, or the default."""
    return float(settings.provider_timeouts.get(provider, settings.provider_timeout_s))


def call_with_timeout(call: Callable[[], T], timeout_s: float, provider: str) -> T:
    """Run ``call`` on a helper thread and give up waiting after ``timeout_s``.

    A synchronous adapter cannot be interrupted from outside: on timeout its thread is left to
    finish in the background (adapters pass their own timeouts to their HTTP clients too)."""
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"provider-{provider}")
    future = pool.submit(call)
    pool.shutdown(wait=False)
    try:
        return future.result(timeout=max(timeout_s, 0.0) if timeout_s < _FOREVER_S else None)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise ProviderError(
            f"provider {provider!r} did not answer within {timeout_s:g} s",
            provider=provider,
            retryable=True,
        ) from None


@dataclass
class Attempts:
    """What one resilient call went through (for the song's metadata)."""

    count: int = 0
    errors: list[str] = field(default_factory=list)
    waited_s: float = 0.0


class DeadlineExceeded(ProviderError):
    """The whole song ran out of time (the orchestrator's overall deadline)."""

    code = "provider_deadline"


@dataclass
class Resilience:
    """Retries with backoff, the circuit breaker and timeouts around one provider call.

    ``deadline`` is an absolute time on ``clock`` after which no call or wait starts."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breakers: CircuitBreakers = field(default_factory=CircuitBreakers)
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def call(
        self,
        provider: str,
        call: Callable[[], T],
        *,
        timeout_s: float,
        deadline: float | None = None,
        attempts: Attempts | None = None,
    ) -> T:
        """``call()`` with retries, each try on a helper thread abandoned after its timeout."""
        return self._retried(
            provider,
            lambda budget_s: call_with_timeout(call, budget_s, provider),
            timeout_s,
            deadline,
            attempts,
        )

    def call_inline(
        self,
        provider: str,
        call: Callable[[float], T],
        *,
        timeout_s: float,
        deadline: float | None = None,
        attempts: Attempts | None = None,
    ) -> T:
        """``call(limit)`` with retries, on this thread: ``limit`` is the time on ``clock`` by
        which it should give up by itself (a local provider: a helper thread would stop it
        forking its render helpers, and an abandoned one would keep a core busy)."""
        return self._retried(
            provider, lambda budget_s: call(self.clock() + budget_s), timeout_s, deadline, attempts
        )

    def _retried(
        self,
        provider: str,
        attempt: Callable[[float], T],
        timeout_s: float,
        deadline: float | None,
        attempts: Attempts | None,
    ) -> T:
        """``attempt(budget_s)`` until it succeeds or may not be retried; each try gets the
        timeout or what is left before the deadline, whichever is less."""
        attempts = attempts if attempts is not None else Attempts()
        breaker = self.breakers(provider)
        last: ProviderError | None = None
        while True:
            remaining = self._remaining(deadline, provider)
            try:
                breaker.acquire()
            except ProviderUnavailable:
                if last is not None:  # our own failures opened it: report what they were
                    raise last from None
                raise
            attempts.count += 1
            try:
                result = attempt(min(timeout_s, remaining))
            except BaseException as exc:
                if counts_against_provider(exc):
                    breaker.failure()
                else:
                    breaker.release()
                if not isinstance(exc, Exception):
                    raise
                attempts.errors.append(describe(exc))
                if not isinstance(exc, ProviderError) or not self.retry.should_retry(
                    exc, attempts.count
                ):
                    raise
                last = exc
                delay = self.retry.delay_s(attempts.count, self.rng, exc.retry_after_s)
                if deadline is not None and self.clock() + delay >= deadline:
                    raise
                attempts.waited_s += delay
                self.sleep(delay)
                continue
            breaker.success()
            return result

    def _remaining(self, deadline: float | None, provider: str) -> float:
        if deadline is None:
            return float("inf")
        remaining = deadline - self.clock()
        if remaining <= 0:
            raise DeadlineExceeded(
                "the song's deadline passed before it was finished", provider=provider
            )
        return remaining


def describe(error: BaseException) -> str:
    """A short label for an error in metadata: 'provider_error 503', 'content_refused'."""
    code = getattr(error, "code", None) or type(error).__name__
    status = getattr(error, "status", None)
    return f"{code} {status}" if status else str(code)


__all__ = [
    "Attempts",
    "CircuitBreaker",
    "CircuitBreakers",
    "CircuitState",
    "DeadlineExceeded",
    "Resilience",
    "RetryPolicy",
    "call_with_timeout",
    "counts_against_provider",
    "describe",
    "is_retryable",
    "process_breakers",
    "timeout_for",
]
