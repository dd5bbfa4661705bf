"""API keys: ``sfk_<id>_<secret>`` tokens shown once, stored only as a SHA-256 hash beside the
visible ``sfk_<id>`` prefix; revocable. A key's id is the owner of its jobs.

Backends behind :class:`KeyStore`: memory and SQLite (the same file as the job store)."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from songforge.errors import NotFound, StorageError
from songforge.jobs._sqlite import Database

TOKEN_PREFIX = "sfk_"
_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    token_hash: str
    admin: bool
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None

    @property
    def prefix(self) -> str:
        """What may be shown and logged to identify the key."""
        return f"{TOKEN_PREFIX}{self.id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_key(name: str, *, admin: bool = False, now: float | None = None) -> tuple[str, ApiKey]:
    """A fresh token (256 bits of randomness) and the record that stores only its hash."""
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
    token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(key_id, name, hash_token(token), admin, time.time() if now is None else now)
    return token, record


@runtime_checkable
class KeyStore(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def by_hash(self, token_hash: str) -> ApiKey | None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def all(self) -> list[ApiKey]: ...

    def generation(self) -> int:
        """A number that changes whenever any key is revoked (by any process): a cache of
        looked-up keys stays valid exactly as long as this does, so revocation is immediate."""
        ...

    def revoke(self, key_id: str) -> ApiKey:
        """Raises NotFound for an unknown id (revoking twice is fine)."""
        ...


class MemoryKeyStore:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._generation = 0

    def generation(self) -> int:
        return self._generation

    def add(self, key: ApiKey) -> None:
        with self._lock:
            if key.id in self._keys:
                raise StorageError(f"key {key.prefix} exists")
            self._keys[key.id] = key

    def by_hash(self, token_hash: str) -> ApiKey | None:
        with self._lock:
            return next((k for k in self._keys.values() if k.token_hash == token_hash), None)

    def get(self, key_id: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def all(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                raise NotFound(f"no key {TOKEN_PREFIX}{key_id}")
            if key.revoked_at is None:
                key = replace(key, revoked_at=self.clock())
                self._keys[key_id] = key
                self._generation += 1
            return key


_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL,
  created_at REAL NOT NULL,
  revoked_at REAL,
  last_used_at REAL
);
CREATE TABLE IF NOT EXISTS api_keys_generation (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO api_keys_generation (id, value) VALUES (0, 0)
"""


def _key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        row["id"],
        row["name"],
        row["token_hash"],
        bool(row["admin"]),
        row["created_at"],
        row["revoked_at"],
        row["last_used_at"],
    )


class SqliteKeyStore:
    def __init__(
        self, db: Database | Path | str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.clock = clock
        self.db.migrate("api_keys", _KEYS_DDL)

    def add(self, key: ApiKey) -> None:
        try:
            self.db.write_rows(
                "INSERT INTO api_keys (id, name, token_hash, admin, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key.id, key.name, key.token_hash, int(key.admin), key.created_at),
            )
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"key {key.prefix} exists") from exc

    def by_hash(self, token_hash: str) -> ApiKey | None:
        row = (
            self.db.connection()
            .execute("SELECT * FROM api_keys WHERE token_hash = ?", (token_hash,))
            .fetchone()
        )
        return _key(row) if row else None

    def get(self, key_id: str) -> ApiKey | None:
        row = self.db.connection().execute("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        found = row.fetchone()
        return _key(found) if found else None

    def all(self) -> list[ApiKey]:
        rows = self.db.connection().execute("SELECT * FROM api_keys ORDER BY created_at")
        return [_key(r) for r in rows]

    def generation(self) -> int:
        row = (
            self.db.connection()
            .execute("SELECT value FROM api_keys_generation WHERE id = 0")
            .fetchone()
        )
        return int(row[0]) if row else 0

    def revoke(self, key_id: str) -> ApiKey:
        with self.db.write() as conn:  # the revocation and its signal commit together
            changed = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (self.clock(), key_id),
            ).rowcount
            if changed:
                conn.execute("UPDATE api_keys_generation SET value = value + 1 WHERE id = 0")
        key = self.get(key_id)
        if key is None:
            raise NotFound(f"no key {TOKEN_PREFIX}{key_id}")
        return key
