"""What songs cost: estimates before, spend recorded after, and monthly budgets per API key.

The ledger is a small Protocol with an in-memory backend (tests, one process) and a SQLite one
(shared by the API and its workers); both pass the same contract test."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from songforge.errors import BudgetExceeded, StorageError
from songforge.settings import Settings

LOCAL_KEY = "local"  # who spends when there is no API key (CLI, Python API, auth off)
_EPSILON_USD = 1e-9


def month_of(timestamp: float) -> str:
    """'YYYY-MM' of a Unix time, in UTC (budgets reset on the first of the month, UTC)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m")


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


# --- estimates ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderEstimate:
    """What one provider in the chain would charge for the whole song."""

    provider: str
    clips: int
    audio_s: float  # seconds of audio it would be asked for (overlaps included)
    usd: float
    free: bool
    available: bool = True  # configured, installed and not skipped
    note: str = ""  # why it is unavailable or skipped


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """The estimate for a request: one line per provider in its fallback chain."""

    duration_s: float
    items: tuple[ProviderEstimate, ...]

    @property
    def expected(self) -> ProviderEstimate | None:
        """The provider expected to make the song: the first one available."""
        return next((item for item in self.items if item.available), None)

    @property
    def expected_usd(self) -> float:
        item = self.expected
        return item.usd if item else 0.0

    @property
    def max_usd(self) -> float:
        """If every available provider were paid for the whole song (a pessimistic bound)."""
        return sum(item.usd for item in self.items if item.available)

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 3),
            "expected_provider": self.expected.provider if self.expected else None,
            "expected_usd": round(self.expected_usd, 6),
            "max_usd": round(self.max_usd, 6),
            "providers": [
                {**asdict(item), "usd": round(item.usd, 6), "audio_s": round(item.audio_s, 3)}
                for item in self.items
            ],
        }


# --- the ledger ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageEntry:
    """Spend of one job on one provider."""

    key_id: str
    provider: str
    month: str  # "YYYY-MM" (UTC)
    usd: float
    seconds: float  # seconds of audio the provider made
    job_id: str
    recorded_at: float = 0.0


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Spend summed per key, provider and month."""

    key_id: str
    provider: str
    month: str
    usd: float
    seconds: float
    jobs: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "provider": self.provider,
            "month": self.month,
            "usd": round(self.usd, 6),
            "seconds": round(self.seconds, 3),
            "jobs": self.jobs,
        }


@runtime_checkable
class UsageLedger(Protocol):
    """Where provider spend is recorded and summed."""

    def record(self, entry: UsageEntry) -> None: ...

    def spent_usd(self, key_id: str, month: str) -> float:
        """The key's spend in ``month`` over every provider."""
        ...

    def summary(self, *, key_id: str | None = None, month: str | None = None) -> list[UsageRow]:
        """Rows per (key, provider, month), sorted by month, key, provider."""
        ...


def _summarise(entries: Iterable[UsageEntry]) -> list[UsageRow]:
    totals: dict[tuple[str, str, str], tuple[float, float, set[str]]] = {}
    for e in entries:
        spent, seconds, jobs = totals.get((e.key_id, e.provider, e.month), (0.0, 0.0, set()))
        jobs.add(e.job_id)
        totals[(e.key_id, e.provider, e.month)] = (spent + e.usd, seconds + e.seconds, jobs)
    rows = [
        UsageRow(key, provider, month, spent, seconds, len(jobs))
        for (key, provider, month), (spent, seconds, jobs) in totals.items()
    ]
    return sorted(rows, key=lambda r: (r.month, r.key_id, r.provider))


class InMemoryUsageLedger:
    """The ledger in a list (one process; tests and the memory service backend)."""

    def __init__(self) -> None:
        self._entries: list[UsageEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: UsageEntry) -> None:
        _check(entry)
        with self._lock:
            self._entries.append(entry)

    def spent_usd(self, key_id: str, month: str) -> float:
        with self._lock:
            return sum(e.usd for e in self._entries if e.key_id == key_id and e.month == month)

    def summary(self, *, key_id: str | None = None, month: str | None = None) -> list[UsageRow]:
        with self._lock:
            chosen = [
                e
                for e in self._entries
                if (key_id is None or e.key_id == key_id) and (month is None or e.month == month)
            ]
        return _summarise(chosen)


_DDL = """
CREATE TABLE IF NOT EXISTS provider_usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    month TEXT NOT NULL,
    usd REAL NOT NULL,
    seconds REAL NOT NULL,
    job_id TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS provider_usage_key_month ON provider_usage (key_id, month)
"""


class SqliteUsageLedger:
    """The ledger in a SQLite file (WAL), safe across threads and processes."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        with self._connection() as conn:
            conn.executescript(_DDL)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s)
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open usage ledger {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def record(self, entry: UsageEntry) -> None:
        _check(entry)
        try:
            with self._connection() as conn:
                conn.execute(
                    "INSERT INTO provider_usage"
                    " (key_id, provider, month, usd, seconds, job_id, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.key_id,
                        entry.provider,
                        entry.month,
                        entry.usd,
                        entry.seconds,
                        entry.job_id,
                        entry.recorded_at,
                    ),
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot record usage: {exc}") from exc

    def spent_usd(self, key_id: str, month: str) -> float:
        row = self._query(
            "SELECT COALESCE(SUM(usd), 0) FROM provider_usage WHERE key_id = ? AND month = ?",
            (key_id, month),
        )
        return float(row[0][0])

    def summary(self, *, key_id: str | None = None, month: str | None = None) -> list[UsageRow]:
        rows = self._query(
            "SELECT key_id, provider, month, SUM(usd), SUM(seconds), COUNT(DISTINCT job_id)"
            " FROM provider_usage WHERE (? IS NULL OR key_id = ?) AND (? IS NULL OR month = ?)"
            " GROUP BY key_id, provider, month ORDER BY month, key_id, provider",
            (key_id, key_id, month, month),
        )
        return [UsageRow(r[0], r[1], r[2], float(r[3]), float(r[4]), int(r[5])) for r in rows]

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read usage: {exc}") from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _check(entry: UsageEntry) -> None:
    if not (math.isfinite(entry.usd) and entry.usd >= 0):
        raise ValueError(f"usage must be a finite, non-negative amount, not {entry.usd!r}")


def open_ledger(settings: Settings) -> UsageLedger:
    """The ledger the settings choose (``usage_backend``, ``usage_db``)."""
    if settings.usage_backend == "memory":
        return InMemoryUsageLedger()
    return SqliteUsageLedger(settings.usage_db or settings.data_dir / "usage.db")


# --- budgets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """Monthly USD budgets for paid providers: a default (None: unlimited) and per-key ones."""

    default_usd: float | None = None
    per_key_usd: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> BudgetPolicy:
        return cls(settings.budget_usd_per_month, dict(settings.budget_usd_per_key))

    def budget_for(self, key_id: str) -> float | None:
        return self.per_key_usd.get(key_id, self.default_usd)


@dataclass
class BudgetGuard:
    """Decides whether a key may spend more this month. Free work is always allowed."""

    ledger: UsageLedger
    policy: BudgetPolicy = field(default_factory=BudgetPolicy)
    clock: Callable[[], float] = time.time

    def month(self) -> str:
        return month_of(self.clock())

    def remaining_usd(self, key_id: str) -> float | None:
        """What the key may still spend this month (None: no budget)."""
        budget = self.policy.budget_for(key_id)
        if budget is None:
            return None
        return max(0.0, budget - self.ledger.spent_usd(key_id, self.month()))

    def allows(self, key_id: str, usd_needed: float) -> bool:
        if usd_needed <= 0.0:
            return True
        remaining = self.remaining_usd(key_id)
        return remaining is None or usd_needed <= remaining + _EPSILON_USD

    def refusal(self, key_id: str, usd_needed: float, provider: str = "") -> BudgetExceeded:
        budget = self.policy.budget_for(key_id) or 0.0
        spent = self.ledger.spent_usd(key_id, self.month())
        what = f" on {provider}" if provider else ""
        return BudgetExceeded(
            f"monthly budget for key {key_id!r} is spent: {usd(spent)} of {usd(budget)} used in "
            f"{self.month()}; this song would cost about {usd(usd_needed)}{what}. "
            "Free providers (e.g. 'songforge') still work.",
            spent_usd=round(spent, 6),
            budget_usd=budget,
            needed_usd=round(usd_needed, 6),
            month=self.month(),
        )


def record_usage(
    ledger: UsageLedger,
    *,
    key_id: str,
    job_id: str,
    spend: Mapping[str, tuple[float, float]],
    when: float | None = None,
) -> list[UsageEntry]:
    """Record a job's spend: ``spend`` maps provider → (usd, audio seconds). Providers that
    made nothing are skipped; free ones are recorded at $0 so usage shows their seconds too."""
    now = time.time() if when is None else when
    entries = []
    for provider, (spent, seconds) in spend.items():
        if spent <= 0 and seconds <= 0:
            continue
        entry = UsageEntry(key_id, provider, month_of(now), spent, seconds, job_id, now)
        ledger.record(entry)
        entries.append(entry)
    return entries


def spend_from_metadata(metadata: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """provider → (usd, seconds) from a song's metadata ``segments`` (what record_usage takes)."""
    spend: dict[str, tuple[float, float]] = {}
    for segment in metadata.get("segments", []):
        spent, seconds = spend.get(segment["provider"], (0.0, 0.0))
        spend[segment["provider"]] = (
            spent + float(segment.get("cost_usd", 0.0)),
            seconds + float(segment.get("end_s", 0.0)) - float(segment.get("start_s", 0.0)),
        )
    for extra in metadata.get("cost", {}).get("discarded", []):
        spent, seconds = spend.get(extra["provider"], (0.0, 0.0))
        spend[extra["provider"]] = (
            spent + float(extra["cost_usd"]),
            seconds + float(extra.get("audio_s", 0.0)),
        )
    return spend


__all__ = [
    "LOCAL_KEY",
    "BudgetGuard",
    "BudgetPolicy",
    "CostEstimate",
    "InMemoryUsageLedger",
    "ProviderEstimate",
    "SqliteUsageLedger",
    "UsageEntry",
    "UsageLedger",
    "UsageRow",
    "month_of",
    "open_ledger",
    "record_usage",
    "spend_from_metadata",
]
