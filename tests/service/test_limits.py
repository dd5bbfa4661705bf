"""Rate limits: a token bucket per (key, kind) with an exact Retry-After, the same behaviour
in memory and in the SQLite file that API processes share; two processes sharing the file
together stay within one bucket's rate."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from songforge.errors import QuotaExceeded
from songforge.service.limits import (
    PRUNE_EVERY_S,
    MemoryRateLimiter,
    Rate,
    RateLimiter,
    SqliteRateLimiter,
)
from songforge.service.runtime import rate_limiter
from songforge.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


RATES = {"request": Rate(per_s=2.0, burst=3), "submit": Rate(per_s=0.5, burst=1)}
MakeLimiter = Callable[[FakeClock], RateLimiter]


@pytest.fixture(params=["memory", "sqlite"])
def make_limiter(request: pytest.FixtureRequest, tmp_path: Path) -> MakeLimiter:
    if request.param == "memory":
        return lambda clock: MemoryRateLimiter(RATES, clock=clock)
    return lambda clock: SqliteRateLimiter(tmp_path / "limits.db", RATES, clock=clock)


def refusal(limiter: RateLimiter, key: str = "alice", kind: str = "request") -> QuotaExceeded:
    with pytest.raises(QuotaExceeded) as refused:
        limiter.acquire(key, kind)
    return refused.value


def test_a_full_bucket_allows_the_burst_then_refuses(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(FakeClock())
    for _ in range(3):
        limiter.acquire("alice", "request")
    assert "2 request requests per second (burst 3)" in refusal(limiter).message


def test_retry_after_is_exactly_when_the_next_token_exists(make_limiter: MakeLimiter) -> None:
    clock = FakeClock()
    limiter = make_limiter(clock)
    for _ in range(3):
        limiter.acquire("alice", "request")
    assert refusal(limiter).retry_after_s == pytest.approx(0.5)  # one token per 0.5 s
    clock.now += 0.2
    wait_s = refusal(limiter).retry_after_s
    assert wait_s == pytest.approx(0.3)
    clock.now += wait_s - 0.01
    assert refusal(limiter).retry_after_s == pytest.approx(0.01)
    clock.now += 0.01
    limiter.acquire("alice", "request")
    assert refusal(limiter).retry_after_s == pytest.approx(0.5)


def test_refusals_cost_nothing_and_an_idle_bucket_refills_to_its_burst_only(
    make_limiter: MakeLimiter,
) -> None:
    clock = FakeClock()
    limiter = make_limiter(clock)
    for _ in range(3):
        limiter.acquire("alice", "request")
    for _ in range(5):
        refusal(limiter)
    clock.now += 0.5
    limiter.acquire("alice", "request")  # the refused calls took no tokens
    clock.now += 3600
    for _ in range(3):
        limiter.acquire("alice", "request")
    refusal(limiter)


def test_buckets_are_per_key_and_per_kind(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(FakeClock())
    limiter.acquire("alice", "submit")
    assert refusal(limiter, kind="submit").retry_after_s == pytest.approx(2.0)
    limiter.acquire("bob", "submit")
    limiter.acquire("alice", "request")


def test_unlimited_and_unknown_kinds_always_pass(tmp_path: Path) -> None:
    rates = {"request": Rate(per_s=0, burst=1)}
    for limiter in (
        MemoryRateLimiter(rates),
        SqliteRateLimiter(tmp_path / "limits.db", rates),
    ):
        for _ in range(100):
            limiter.acquire("alice", "request")
            limiter.acquire("alice", "anything")


def test_two_sqlite_limiters_on_one_file_share_the_bucket(tmp_path: Path) -> None:
    clock = FakeClock()
    first = SqliteRateLimiter(tmp_path / "limits.db", RATES, clock=clock)
    second = SqliteRateLimiter(tmp_path / "limits.db", RATES, clock=clock)
    first.acquire("alice", "request")
    second.acquire("alice", "request")
    first.acquire("alice", "request")
    assert refusal(second).retry_after_s == pytest.approx(0.5)
    clock.now += 0.5
    second.acquire("alice", "request")
    refusal(first)


# --- across processes ------------------------------------------------------------------

SHARED = Rate(per_s=20.0, burst=10)
RUN_S = 1.0


def _hammer(path: Path, start: Any, results: Any) -> None:
    """Acquire as fast as possible for RUN_S; report (first call started, last call ended,
    tokens granted)."""
    limiter = SqliteRateLimiter(path, {"request": SHARED})
    start.wait()
    began = time.time()
    granted = 0
    while time.time() - began < RUN_S:
        try:
            limiter.acquire("alice", "request")
        except QuotaExceeded:
            continue
        granted += 1
    results.put((began, time.time(), granted))


def test_two_processes_sharing_the_file_together_stay_within_one_rate(tmp_path: Path) -> None:
    path = tmp_path / "limits.db"
    SqliteRateLimiter(path, {"request": SHARED})  # the schema exists before the race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    processes = [context.Process(target=_hammer, args=(path, start, results)) for _ in range(2)]
    for process in processes:
        process.start()
    runs = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    window_s = max(end for _, end, _ in runs) - min(began for began, _, _ in runs)
    granted = sum(n for _, _, n in runs)
    # One shared bucket grants at most its burst plus what refills during the window; two
    # separate buckets would grant about twice that.
    assert granted <= SHARED.burst + SHARED.per_s * window_s + 0.01  # float slack
    assert granted >= SHARED.burst and all(n > 0 for _, _, n in runs)


def test_services_on_one_data_dir_share_buckets_and_memory_mode_keeps_its_own(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit_per_s=0.01, rate_limit_burst=2)
    first, second = rate_limiter(settings), rate_limiter(settings)  # as two API processes
    assert isinstance(first, SqliteRateLimiter)
    first.acquire("alice", "request")
    second.acquire("alice", "request")
    assert refusal(first).retry_after_s > 90  # 1 token per 100 s
    memory = settings.model_copy(update={"store_backend": "memory"})
    assert isinstance(rate_limiter(memory), MemoryRateLimiter)


def _bucket_count(limiter: RateLimiter) -> int:
    if isinstance(limiter, MemoryRateLimiter):
        return len(limiter._buckets)
    assert isinstance(limiter, SqliteRateLimiter)
    with limiter.db.write() as conn:
        return int(conn.execute("SELECT count(*) FROM rate_buckets").fetchone()[0])


def test_buckets_that_have_refilled_are_forgotten_and_the_rest_kept(
    make_limiter: MakeLimiter,
) -> None:
    """Keys come and go: a full bucket is the same as none, so it is dropped now and then,
    while one that is not full (its state still matters) is kept."""
    clock = FakeClock()
    limiter = make_limiter(clock)
    for visitor in range(50):
        limiter.acquire(f"visitor-{visitor}", "request")
    assert _bucket_count(limiter) == 50
    clock.now += PRUNE_EVERY_S + 1.0  # every visitor's bucket has refilled
    limiter.acquire("busy", "request")  # 2 of 3 tokens left; this check prunes
    assert _bucket_count(limiter) == 1
    limiter.acquire("busy", "request")
    limiter.acquire("busy", "request")
    assert refusal(limiter, "busy").retry_after_s == pytest.approx(0.5)  # its state stood
    limiter.acquire("visitor-0", "request")  # a forgotten key starts with a full bucket
    limiter.acquire("visitor-0", "request")
    limiter.acquire("visitor-0", "request")
    refusal(limiter, "visitor-0")
