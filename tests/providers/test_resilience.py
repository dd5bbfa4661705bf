"""Retries, backoff, timeouts and circuit breakers — with an injected clock, sleep and RNG."""

from __future__ import annotations

import random
import threading

import pytest

from songforge.errors import Cancelled, ContentRefused, ProviderError, ProviderUnavailable
from songforge.providers.resilience import (
    Attempts,
    CircuitBreaker,
    CircuitBreakers,
    CircuitState,
    DeadlineExceeded,
    Resilience,
    RetryPolicy,
    call_with_timeout,
)


class ManualClock:
    """Time that only moves when slept through (or advanced by the test)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Flaky:
    """Fails with the given errors in order, then answers 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def http(status: int, retry_after_s: float | None = None) -> ProviderError:
    retryable = status == 429 or status >= 500
    return ProviderError(
        f"upstream {status}",
        provider="p",
        status=status,
        retryable=retryable,
        retry_after_s=retry_after_s,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def resilience(clock: ManualClock, threshold: int = 3, **retry: float) -> Resilience:
    return Resilience(
        retry=RetryPolicy(**retry),  # type: ignore[arg-type]
        breakers=CircuitBreakers(failure_threshold=threshold, cooldown_s=60.0, clock=clock),
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(7),
    )


def test_a_call_that_fails_twice_with_503_then_succeeds_is_retried(clock: ManualClock) -> None:
    call = Flaky(http(503), http(503))
    attempts = Attempts()
    result = resilience(clock).call("p", call, timeout_s=5, attempts=attempts)
    assert result == "ok"
    assert call.calls == 3 and attempts.count == 3
    assert attempts.errors == ["provider_error 503", "provider_error 503"]


def test_backoff_grows_exponentially_with_jitter_under_the_cap(clock: ManualClock) -> None:
    policy = RetryPolicy(max_attempts=6, base_s=1.0, multiplier=2.0, max_s=5.0, jitter=0.5)
    rng = random.Random(1)
    delays = [policy.delay_s(attempt, rng) for attempt in range(1, 6)]
    nominal = [1.0, 2.0, 4.0, 5.0, 5.0]
    for delay, full in zip(delays, nominal, strict=True):
        assert full * 0.5 <= delay <= full
    assert delays != nominal  # jittered


def test_the_same_seed_gives_the_same_delays() -> None:
    policy = RetryPolicy(max_attempts=5)
    first = [policy.delay_s(a, random.Random(3)) for a in range(1, 5)]
    again = [policy.delay_s(a, random.Random(3)) for a in range(1, 5)]
    assert first == again


def test_a_429_waits_as_long_as_retry_after_says(clock: ManualClock) -> None:
    call = Flaky(http(429, retry_after_s=7.0))
    resilience(clock, max_s=30.0).call("p", call, timeout_s=5)
    assert clock.slept == [7.0]


def test_retry_after_is_capped_by_the_policy(clock: ManualClock) -> None:
    call = Flaky(http(429, retry_after_s=3600.0))
    resilience(clock, max_s=20.0).call("p", call, timeout_s=5)
    assert clock.slept == [20.0]


def test_a_refused_prompt_is_not_retried(clock: ManualClock) -> None:
    call = Flaky(ContentRefused("no", provider="p", status=403), http(503))
    with pytest.raises(ContentRefused):
        resilience(clock).call("p", call, timeout_s=5)
    assert call.calls == 1 and clock.slept == []


def test_a_client_error_is_not_retried(clock: ManualClock) -> None:
    call = Flaky(http(400))
    with pytest.raises(ProviderError):
        resilience(clock).call("p", call, timeout_s=5)
    assert call.calls == 1


def test_retries_stop_after_max_attempts(clock: ManualClock) -> None:
    call = Flaky(*(http(502) for _ in range(10)))
    with pytest.raises(ProviderError, match="502"):
        resilience(clock, threshold=10, max_attempts=4).call("p", call, timeout_s=5)
    assert call.calls == 4 and len(clock.slept) == 3


def test_retries_stop_when_they_open_the_circuit_and_report_the_real_error(
    clock: ManualClock,
) -> None:
    call = Flaky(*(http(502) for _ in range(10)))
    with pytest.raises(ProviderError, match="502"):
        resilience(clock, threshold=2, max_attempts=5).call("p", call, timeout_s=5)
    assert call.calls == 2


def test_a_cancellation_passes_straight_through(clock: ManualClock) -> None:
    call = Flaky(Cancelled("job cancelled"))
    with pytest.raises(Cancelled):
        resilience(clock).call("p", call, timeout_s=5)
    assert call.calls == 1


def test_no_retry_starts_after_the_deadline(clock: ManualClock) -> None:
    call = Flaky(http(503), http(503), http(503))
    with pytest.raises(ProviderError, match="503"):
        resilience(clock, base_s=10.0, jitter=0.0).call(
            "p", call, timeout_s=5, deadline=clock.now + 5.0
        )
    assert call.calls == 1  # the 10 s backoff would overrun the 5 s left


def test_a_call_after_the_deadline_is_refused(clock: ManualClock) -> None:
    with pytest.raises(DeadlineExceeded):
        resilience(clock).call("p", Flaky(), timeout_s=5, deadline=clock.now - 1)


def test_a_slow_call_times_out_as_a_retryable_error() -> None:
    release = threading.Event()

    def slow() -> str:
        release.wait(5.0)
        return "late"

    try:
        with pytest.raises(ProviderError, match="did not answer within") as caught:
            call_with_timeout(slow, 0.05, "slowpoke")
        assert caught.value.retryable
    finally:
        release.set()


def test_circuit_opens_after_consecutive_failures_and_half_opens_after_cooldown(
    clock: ManualClock,
) -> None:
    breaker = CircuitBreaker("p", failure_threshold=3, cooldown_s=60.0, clock=clock)
    for _ in range(3):
        breaker.acquire()
        breaker.failure()
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(ProviderUnavailable, match="circuit is open"):
        breaker.acquire()
    clock.now += 60.0
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.acquire()  # the one trial call
    with pytest.raises(ProviderUnavailable):
        breaker.acquire()  # no second call while the trial runs
    breaker.success()
    assert breaker.state is CircuitState.CLOSED


def test_a_failed_trial_call_opens_the_circuit_again(clock: ManualClock) -> None:
    breaker = CircuitBreaker("p", failure_threshold=2, cooldown_s=10.0, clock=clock)
    for _ in range(2):
        breaker.failure()
    clock.now += 10.0
    breaker.acquire()
    breaker.failure()
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_in_s() == 10.0


def test_a_success_resets_the_failure_count(clock: ManualClock) -> None:
    breaker = CircuitBreaker("p", failure_threshold=3, clock=clock)
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()
    assert breaker.state is CircuitState.CLOSED


def test_an_open_circuit_skips_the_provider_until_its_cooldown(clock: ManualClock) -> None:
    guard = resilience(clock, max_attempts=1)
    failing = Flaky(*(http(500) for _ in range(3)))
    for _ in range(3):
        with pytest.raises(ProviderError):
            guard.call("p", failing, timeout_s=5)
    healthy = Flaky()
    with pytest.raises(ProviderUnavailable, match="circuit is open"):
        guard.call("p", healthy, timeout_s=5)
    assert healthy.calls == 0
    assert guard.call("other", healthy, timeout_s=5) == "ok"  # breakers are per provider
    clock.now += 60.0
    assert guard.call("p", healthy, timeout_s=5) == "ok"
    assert guard.breakers.states()["p"] is CircuitState.CLOSED


def test_refusals_do_not_count_against_a_provider(clock: ManualClock) -> None:
    guard = resilience(clock)
    for _ in range(5):
        with pytest.raises(ContentRefused):
            guard.call("p", Flaky(ContentRefused("no", provider="p")), timeout_s=5)
    assert guard.breakers("p").state is CircuitState.CLOSED


def test_breakers_are_shared_by_everyone_using_the_board(clock: ManualClock) -> None:
    board = CircuitBreakers(failure_threshold=1, clock=clock)
    one = Resilience(breakers=board, clock=clock, sleep=clock.sleep, retry=RetryPolicy(1))
    two = Resilience(breakers=board, clock=clock, sleep=clock.sleep, retry=RetryPolicy(1))
    with pytest.raises(ProviderError):
        one.call("p", Flaky(http(500)), timeout_s=5)
    with pytest.raises(ProviderUnavailable):
        two.call("p", Flaky(), timeout_s=5)
