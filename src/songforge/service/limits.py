"""Per-key rate limits: a token bucket per (key, kind), refilled continuously.

Buckets live in the process that serves the request; with several API processes each enforces
its own share (documented), which a shared backend can replace behind the same call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from songforge.errors import QuotaExceeded


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_s`` tokens a second, at most ``burst`` saved up; ``per_s == 0`` means unlimited."""

    per_s: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_s <= 0


class RateLimiter:
    def __init__(
        self, rates: dict[str, Rate], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rates = rates
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # tokens, at

    def acquire(self, key: str, kind: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens or raise QuotaExceeded with the seconds until they exist."""
        rate = self.rates.get(kind)
        if rate is None or rate.unlimited:
            return
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get((key, kind), (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - at) * rate.per_s)
            if tokens < cost:
                self._buckets[(key, kind)] = (tokens, now)
                wait_s = (cost - tokens) / rate.per_s
                raise QuotaExceeded(
                    f"rate limit: {rate.per_s:g} {kind} requests per second (burst {rate.burst})",
                    retry_after_s=wait_s,
                )
            self._buckets[(key, kind)] = (tokens - cost, now)
