"""One SQLite file shared by threads and processes: WAL, a connection per thread, and short
IMMEDIATE write transactions.

Writers in one process queue on a lock; across processes a writer that finds the file locked
retries within microseconds to milliseconds. (SQLite's own busy handler sleeps up to 100 ms
between tries, which stalled the API under load.) Readers never wait in WAL mode."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from songforge.errors import StorageError

BUSY_TIMEOUT_S = 30.0
_T = TypeVar("_T")
_FIRST_BACKOFF_S = 0.0002
_MAX_BACKOFF_S = 0.005


class Database:
    """A path plus per-thread connections (SQLite connections must not cross threads or forks)."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        self.path = str(path)
        self._synchronous = synchronous  # OFF: for state whose loss on a crash is harmless
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer = threading.Lock()  # one writer per process at a time
        self._all: list[sqlite3.Connection] = []
        self._migrated: set[str] = set()

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=0.0,  # locked: fail at once, and write() retries quickly
                isolation_level=None,  # autocommit; writes open explicit transactions
                check_same_thread=False,
                cached_statements=256,
            )
            conn.row_factory = sqlite3.Row
            for _ in range(2000):  # another process may hold the lock while creating the file
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    time.sleep(0.005)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {self.path}: {exc}") from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._all.append(conn)
        return conn

    def _begin(self, conn: sqlite3.Connection) -> None:
        self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))

    def _retry_busy(self, action: Callable[[], _T]) -> _T:
        """``action`` again, after a short and growing sleep, while another process holds
        the write lock."""
        deadline = time.monotonic() + self._busy_timeout_s
        delay = _FIRST_BACKOFF_S
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StorageError(f"database unwritable: {exc}") from exc
                if time.monotonic() > deadline:
                    raise StorageError(f"database busy for {self._busy_timeout_s:g} s") from exc
            time.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF_S)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front, so two writers never deadlock upgrading."""
        conn = self.connection()
        with self._writer:
            self._begin(conn)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK")
                    raise StorageError(f"commit failed: {exc}") from exc

    def write_rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """Run one writing statement in its own transaction; its rows (RETURNING) and the
        count of changed rows come back as ``rows`` (``[rowcount]`` without RETURNING)."""
        with self.write() as conn:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall()
            return rows if cursor.description else [cursor.rowcount]

    def write_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """One writing statement with RETURNING as its own autocommit transaction: no BEGIN
        and COMMIT round trips, for hot paths (a rate-limit check on every request). A busy
        statement rolls itself back whole and is retried."""
        conn = self.connection()
        with self._writer:
            return self._retry_busy(lambda: conn.execute(sql, params).fetchall())

    def migrate(self, name: str, ddl: str) -> None:
        """Create tables once per process (idempotent DDL)."""
        if name in self._migrated:
            return
        with self.write() as conn:
            for statement in ddl.split(";"):
                if statement.strip():
                    conn.execute(statement)
        self._migrated.add(name)

    def add_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add the columns an older file's ``table`` lacks (name → SQL type), in one write
        transaction, so processes opening the file at once cannot both add them."""
        done = f"{table}:columns"
        if done in self._migrated:
            return
        with self.write() as conn:
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, sql_type in columns.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
        self._migrated.add(done)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
