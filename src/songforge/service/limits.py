"""Per-key rate limits: a token bucket per (key, kind), refilled continuously.

Two backends behind :class:`RateLimiter`: :class:`MemoryRateLimiter` keeps the buckets in the
process (tests, memory mode); :class:`SqliteRateLimiter` keeps them in a small SQLite file
that every API process on the machine shares, so N processes together allow the configured
rate, not N times it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from songforge.errors import QuotaExceeded
from songforge.jobs._sqlite import Database


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_s`` tokens a second, at most ``burst`` saved up; ``per_s == 0`` means unlimited."""

    per_s: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_s <= 0


@runtime_checkable
class RateLimiter(Protocol):
    def acquire(self, key: str, kind: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from the (key, kind) bucket or raise QuotaExceeded carrying
        the seconds until they exist (the Retry-After)."""
        ...


def _refused(rate: Rate, kind: str, tokens: float, cost: float) -> QuotaExceeded:
    return QuotaExceeded(
        f"rate limit: {rate.per_s:g} {kind} requests per second (burst {rate.burst})",
        retry_after_s=(cost - tokens) / rate.per_s,
    )


PRUNE_EVERY_S = 60.0  # how often a limiter forgets buckets that have refilled


class MemoryRateLimiter:
    """Buckets in this process only: with several API processes each would allow the rate."""

    def __init__(
        self, rates: Mapping[str, Rate], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rates = dict(rates)
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # tokens, at
        self._next_prune = clock() + PRUNE_EVERY_S

    def acquire(self, key: str, kind: str, cost: float = 1.0) -> None:
        rate = self.rates.get(kind)
        if rate is None or rate.unlimited:
            return
        now = self.clock()
        with self._lock:
            if now >= self._next_prune:
                self._prune(now)
            tokens, at = self._buckets.get((key, kind), (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - at) * rate.per_s)
            if tokens < cost:
                self._buckets[(key, kind)] = (tokens, now)
                raise _refused(rate, kind, tokens, cost)
            self._buckets[(key, kind)] = (tokens - cost, now)

    def _prune(self, now: float) -> None:
        """Forget full buckets: a missing bucket starts full, so nothing changes but memory."""
        self._next_prune = now + PRUNE_EVERY_S
        for (key, kind), (tokens, at) in list(self._buckets.items()):
            rate = self.rates.get(kind)
            if rate is None or tokens + (now - at) * rate.per_s >= rate.burst:
                del self._buckets[(key, kind)]


_BUCKETS_DDL = """
CREATE TABLE IF NOT EXISTS rate_buckets (
  key TEXT NOT NULL,
  kind TEXT NOT NULL,
  tokens REAL NOT NULL,
  at REAL NOT NULL,
  granted INTEGER NOT NULL,
  PRIMARY KEY (key, kind)
) WITHOUT ROWID
"""

# Refill, decide and take in one statement: every right-hand side of SET sees the row as it
# was, so ``refilled`` is the same value in all three. ``granted`` records the decision,
# because RETURNING sees only the new row.
_REFILLED = "min(:burst, tokens + max(:now - at, 0.0) * :per_s)"
_TAKE = f"""
INSERT INTO rate_buckets (key, kind, tokens, at, granted)
VALUES (:key, :kind, CASE WHEN :burst >= :cost THEN :burst - :cost ELSE :burst END, :now,
        :burst >= :cost)
ON CONFLICT (key, kind) DO UPDATE SET
  tokens = {_REFILLED} - CASE WHEN {_REFILLED} >= :cost THEN :cost ELSE 0.0 END,
  granted = {_REFILLED} >= :cost,
  at = max(:now, at)
RETURNING granted, tokens
"""
# a bucket that has refilled is the same as no bucket (a new one starts full)
_PRUNE = f"DELETE FROM rate_buckets WHERE kind = :kind AND {_REFILLED} >= :burst"


class SqliteRateLimiter:
    """Token buckets in a SQLite file shared by every process on the machine; one UPSERT per
    check. The file is WAL with ``synchronous=OFF`` and separate from the job database:
    losing bucket state on a crash is harmless (buckets refill) and must not slow job writes.
    The clock is wall time, which all processes share."""

    def __init__(
        self,
        path: Path | str,
        rates: Mapping[str, Rate],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = Database(path, synchronous="OFF")
        self.rates = dict(rates)
        self.clock = clock
        self.db.migrate("rate_buckets", _BUCKETS_DDL)
        self._next_prune = clock() + PRUNE_EVERY_S

    def acquire(self, key: str, kind: str, cost: float = 1.0) -> None:
        rate = self.rates.get(kind)
        if rate is None or rate.unlimited:
            return
        now = self.clock()
        params = {
            "key": key,
            "kind": kind,
            "cost": cost,
            "burst": float(rate.burst),
            "per_s": rate.per_s,
            "now": now,
        }
        [(granted, tokens)] = self.db.write_one(_TAKE, params)
        if now >= self._next_prune:
            self.prune()
        if not granted:
            raise _refused(rate, kind, tokens, cost)

    def prune(self) -> int:
        """Delete the buckets that have refilled (every process does this now and then, so
        the file holds only recently active keys); returns how many went."""
        now = self.clock()
        self._next_prune = now + PRUNE_EVERY_S
        gone = 0
        for kind, rate in self.rates.items():
            if not rate.unlimited:
                params = {"kind": kind, "now": now, "per_s": rate.per_s, "burst": float(rate.burst)}
                [deleted] = self.db.write_rows(_PRUNE, params)
                gone += int(deleted)
        return gone

    def close(self) -> None:
        self.db.close()
