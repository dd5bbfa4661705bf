"""The embedded backends: job store and queue in one SQLite file (WAL), safe across threads and
processes. Every worker-side write is conditional on ``attempt`` (the fencing token)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import orjson

from songforge.errors import StorageError
from songforge.jobs._sqlite import Database
from songforge.jobs.model import (
    DURATION_BUCKETS_S,
    AttemptOutcome,
    AttemptRecord,
    ErrorInfo,
    Job,
    JobStatus,
    Outputs,
    StoreStats,
    Usage,
    WebhookAttempt,
    WebhookState,
    sources_of,
)
from songforge.jobs.queue import Message
from songforge.jobs.store import ActiveQuota, Control
from songforge.request import SongRequest

Clock = Callable[[], float]

_JOBS_DDL = """
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  request TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  started_at REAL,
  finished_at REAL,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  not_before REAL NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at REAL,
  progress REAL NOT NULL DEFAULT 0,
  stage TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_message TEXT,
  outputs TEXT,
  output_prefix TEXT,
  audio_s REAL,
  seed_assigned INTEGER NOT NULL DEFAULT 0,
  cached INTEGER NOT NULL DEFAULT 0,
  source_job_id TEXT,
  idempotency_key TEXT,
  idempotency_fingerprint TEXT,
  callback_url TEXT,
  webhook_state TEXT NOT NULL DEFAULT 'none',
  webhook_next_at REAL,
  webhook_attempts INTEGER NOT NULL DEFAULT 0,
  estimate TEXT
);
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs(owner, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs(owner, status, created_at DESC, id DESC);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency
  ON jobs(owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_cache ON jobs(request_hash, created_at DESC)
  WHERE status = 'succeeded';
CREATE INDEX IF NOT EXISTS jobs_status_updated ON jobs(status, updated_at);
CREATE INDEX IF NOT EXISTS jobs_webhook_due ON jobs(webhook_next_at)
  WHERE webhook_state = 'pending';
CREATE INDEX IF NOT EXISTS jobs_output_prefix ON jobs(output_prefix)
  WHERE output_prefix IS NOT NULL;
CREATE TABLE IF NOT EXISTS attempts (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  started_at REAL NOT NULL,
  ended_at REAL,
  outcome TEXT NOT NULL,
  error_code TEXT,
  error_message TEXT,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_attempts (
  job_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  at REAL NOT NULL,
  status_code INTEGER,
  ok INTEGER NOT NULL,
  error TEXT,
  duration_s REAL NOT NULL,
  PRIMARY KEY (job_id, number)
) WITHOUT ROWID
"""

_QUEUE_DDL = """
CREATE TABLE IF NOT EXISTS queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  visible_at REAL NOT NULL,
  receipt TEXT,
  receive_count INTEGER NOT NULL DEFAULT 0,
  sent_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_visible ON queue(visible_at, id)
"""


# Columns added after the first release: files made before get them when opened.
_ADDED_COLUMNS = {"estimate": "TEXT"}


def _in(statuses: Collection[JobStatus]) -> str:
    return "(" + ",".join(f"'{s.value}'" for s in statuses) + ")"


_CLAIMABLE = _in(sources_of(JobStatus.RUNNING))
_ACTIVE = _in([s for s in JobStatus if s.active])
_WEBHOOK_ON_FINISH = (
    "webhook_state = CASE WHEN callback_url IS NULL THEN 'none' ELSE 'pending' END, "
    "webhook_next_at = CASE WHEN callback_url IS NULL THEN NULL ELSE :now END"
)


def _job(row: sqlite3.Row) -> Job:
    error = ErrorInfo(row["error_code"], row["error_message"]) if row["error_code"] else None
    outputs = Outputs.from_dict(orjson.loads(row["outputs"])) if row["outputs"] else None
    return Job(
        id=row["id"],
        owner=row["owner"],
        request=SongRequest.model_validate_json(row["request"]),
        request_hash=row["request_hash"],
        status=JobStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        not_before=row["not_before"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        progress=row["progress"],
        stage=row["stage"],
        cancel_requested=bool(row["cancel_requested"]),
        error=error,
        outputs=outputs,
        seed_assigned=bool(row["seed_assigned"]),
        cached=bool(row["cached"]),
        source_job_id=row["source_job_id"],
        idempotency_key=row["idempotency_key"],
        idempotency_fingerprint=row["idempotency_fingerprint"],
        callback_url=row["callback_url"],
        webhook_state=WebhookState(row["webhook_state"]),
        webhook_next_at=row["webhook_next_at"],
        webhook_attempts=row["webhook_attempts"],
        estimate=orjson.loads(row["estimate"]) if row["estimate"] else None,  # orjson: hot read
    )


def _row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "owner": job.owner,
        "request": job.request.model_dump_json(),
        "request_hash": job.request_hash,
        "status": job.status.value,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "not_before": job.not_before,
        "progress": job.progress,
        "stage": job.stage,
        "error_code": job.error.code if job.error else None,
        "error_message": job.error.message if job.error else None,
        "outputs": json.dumps(job.outputs.to_dict()) if job.outputs else None,
        "output_prefix": job.outputs.prefix if job.outputs else None,
        "audio_s": job.outputs.duration_s if job.outputs else None,
        "seed_assigned": int(job.seed_assigned),
        "cached": int(job.cached),
        "source_job_id": job.source_job_id,
        "idempotency_key": job.idempotency_key,
        "idempotency_fingerprint": job.idempotency_fingerprint,
        "callback_url": job.callback_url,
        "webhook_state": job.webhook_state.value,
        "webhook_next_at": job.webhook_next_at,
        "estimate": json.dumps(job.estimate) if job.estimate is not None else None,
    }


_INSERT_COLUMNS = [
    "id", "owner", "request", "request_hash", "status", "created_at", "updated_at", "started_at",
    "finished_at", "attempt", "max_attempts", "not_before", "progress", "stage", "error_code",
    "error_message", "outputs", "output_prefix", "audio_s", "seed_assigned", "cached",
    "source_job_id", "idempotency_key", "idempotency_fingerprint", "callback_url",
    "webhook_state", "webhook_next_at", "estimate",
]  # fmt: skip
_INSERT = (
    f"INSERT INTO jobs ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _INSERT_COLUMNS)})"
)


class SqliteJobStore:
    """Jobs, attempts and webhook deliveries in SQLite."""

    def __init__(self, db: Database | Path | str, *, clock: Clock = time.time) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.clock = clock
        self.db.migrate("jobs", _JOBS_DDL)
        self.db.add_columns("jobs", _ADDED_COLUMNS)

    # --- API side ----------------------------------------------------------------------
    def create(self, job: Job, quota: ActiveQuota | None = None) -> tuple[Job, bool]:
        try:
            # BEGIN IMMEDIATE holds the write lock across the count and the insert, so no
            # other process can insert between them: the quota is hard.
            with self.db.write() as conn:
                if job.idempotency_key is not None:
                    row = conn.execute(
                        "SELECT * FROM jobs WHERE owner = ? AND idempotency_key = ?",
                        (job.owner, job.idempotency_key),
                    ).fetchone()
                    if row is not None:
                        return _job(row), False
                if quota is not None and job.status.active:
                    [active] = conn.execute(
                        f"SELECT count(*) FROM jobs WHERE owner = ? AND status IN {_ACTIVE}",
                        (job.owner,),
                    ).fetchone()
                    if active >= quota.limit:
                        raise quota.refusal(active)
                conn.execute(_INSERT, _row(job))
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"job {job.id} already exists") from exc
        return job, True

    def get(self, job_id: str) -> Job | None:
        row = self.db.connection().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list_jobs(
        self,
        owner: str,
        *,
        statuses: Collection[JobStatus] | None = None,
        limit: int = 20,
        before: tuple[float, str] | None = None,
    ) -> list[Job]:
        sql = "SELECT * FROM jobs WHERE owner = ?"
        params: list[Any] = [owner]
        if statuses:
            sql += f" AND status IN {_in(statuses)}"
        if before is not None:
            sql += " AND (created_at, id) < (?, ?)"
            params += [before[0], before[1]]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_job(r) for r in self.db.connection().execute(sql, params)]

    def find_idempotent(self, owner: str, idempotency_key: str) -> Job | None:
        row = (
            self.db.connection()
            .execute(
                "SELECT * FROM jobs WHERE owner = ? AND idempotency_key = ?",
                (owner, idempotency_key),
            )
            .fetchone()
        )
        return _job(row) if row else None

    def find_cached(self, request_hash: str, owner: str | None) -> Job | None:
        sql = "SELECT * FROM jobs WHERE request_hash = ? AND status = 'succeeded'"
        params: list[Any] = [request_hash]
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        row = self.db.connection().execute(sql + " ORDER BY created_at DESC LIMIT 1", params)
        found = row.fetchone()
        return _job(found) if found else None

    def count_active(self, owner: str) -> int:
        row = (
            self.db.connection()
            .execute(f"SELECT count(*) FROM jobs WHERE owner = ? AND status IN {_ACTIVE}", (owner,))
            .fetchone()
        )
        return int(row[0])

    def request_cancel(self, job_id: str) -> Job | None:
        now = self.clock()
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE jobs SET status = 'cancelled', finished_at = :now, updated_at = :now, "
                f"stage = 'cancelled', {_WEBHOOK_ON_FINISH} "
                "WHERE id = :id AND status = 'queued'",
                {"id": job_id, "now": now},
            )
            conn.execute(
                "UPDATE jobs SET cancel_requested = 1, updated_at = ? "
                "WHERE id = ? AND status = 'running'",
                (now, job_id),
            )
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def delete(self, job_id: str) -> bool:
        with self.db.write() as conn:
            gone = conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount
            conn.execute("DELETE FROM attempts WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM webhook_attempts WHERE job_id = ?", (job_id,))
        return bool(gone)

    def count_output_refs(self, prefix: str) -> int:
        row = (
            self.db.connection()
            .execute("SELECT count(*) FROM jobs WHERE output_prefix = ?", (prefix,))
            .fetchone()
        )
        return int(row[0])

    # --- worker side -------------------------------------------------------------------
    def claim(self, job_id: str, worker_id: str, lease_s: float) -> Job | None:
        now = self.clock()
        with self.db.write() as conn:
            before = conn.execute(
                "SELECT status, attempt FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            row = conn.execute(
                "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = :worker, "
                "lease_expires_at = :lease, started_at = COALESCE(started_at, :now), "
                "updated_at = :now, progress = 0, stage = 'claimed' "
                f"WHERE id = :id AND status IN {_CLAIMABLE} AND attempt < max_attempts AND ("
                "(status = 'queued' AND not_before <= :now) OR "
                "(status = 'running' AND lease_expires_at <= :now)) RETURNING *",
                {"id": job_id, "worker": worker_id, "lease": now + lease_s, "now": now},
            ).fetchone()
            if row is None:
                return None
            if before["status"] == JobStatus.RUNNING.value:
                conn.execute(
                    "UPDATE attempts SET outcome = ?, ended_at = ? "
                    "WHERE job_id = ? AND attempt = ?",
                    (AttemptOutcome.LOST.value, now, job_id, before["attempt"]),
                )
            conn.execute(
                "INSERT OR REPLACE INTO attempts (job_id, attempt, worker_id, started_at, outcome) "
                "VALUES (?, ?, ?, ?, ?)",
                (job_id, row["attempt"], worker_id, now, AttemptOutcome.RUNNING.value),
            )
        return _job(row)

    def _control(self, row: sqlite3.Row | None) -> Control:
        if row is None:
            return Control.LOST
        return Control.CANCEL if row[0] else Control.CONTINUE

    def heartbeat(self, job_id: str, attempt: int, lease_s: float) -> Control:
        now = self.clock()
        rows = self.db.write_rows(
            "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND attempt = ? "
            "AND status = 'running' RETURNING cancel_requested",
            (now + lease_s, job_id, attempt),
        )
        return self._control(rows[0] if rows else None)

    def report_progress(self, job_id: str, attempt: int, stage: str, percent: float) -> Control:
        now = self.clock()
        rows = self.db.write_rows(
            "UPDATE jobs SET progress = ?, stage = ?, updated_at = ? WHERE id = ? "
            "AND attempt = ? AND status = 'running' RETURNING cancel_requested",
            (min(max(percent, 0.0), 100.0), stage, now, job_id, attempt),
        )
        return self._control(rows[0] if rows else None)

    def _finish(
        self,
        job_id: str,
        attempt: int,
        status: JobStatus,
        outcome: AttemptOutcome,
        error: ErrorInfo | None,
        extra_sql: str = "",
        extra: dict[str, Any] | None = None,
        require_expired: bool = False,
    ) -> bool:
        now = self.clock()
        params = {
            "id": job_id,
            "attempt": attempt,
            "now": now,
            "status": status.value,
            "code": error.code if error else None,
            "message": error.message if error else None,
            **(extra or {}),
        }
        expiry = "AND lease_expires_at <= :now" if require_expired else ""
        webhook = _WEBHOOK_ON_FINISH if status.terminal else "webhook_state = webhook_state"
        with self.db.write() as conn:
            done = conn.execute(
                "UPDATE jobs SET status = :status, updated_at = :now, lease_owner = NULL, "
                "lease_expires_at = NULL, error_code = :code, error_message = :message, "
                f"{webhook}{extra_sql} WHERE id = :id AND attempt = :attempt "
                f"AND status = 'running' {expiry}",
                params,
            ).rowcount
            if done:
                conn.execute(
                    "UPDATE attempts SET outcome = ?, ended_at = ?, error_code = ?, "
                    "error_message = ? WHERE job_id = ? AND attempt = ?",
                    (outcome.value, now, params["code"], params["message"], job_id, attempt),
                )
        return bool(done)

    def complete(self, job_id: str, attempt: int, outputs: Outputs) -> bool:
        return self._finish(
            job_id,
            attempt,
            JobStatus.SUCCEEDED,
            AttemptOutcome.SUCCEEDED,
            None,
            ", finished_at = :now, progress = 100, stage = 'done', outputs = :outputs, "
            "output_prefix = :prefix, audio_s = :audio_s",
            {
                "outputs": json.dumps(outputs.to_dict()),
                "prefix": outputs.prefix,
                "audio_s": outputs.duration_s,
            },
        )

    def retry_later(self, job_id: str, attempt: int, error: ErrorInfo, not_before: float) -> bool:
        return self._finish(
            job_id,
            attempt,
            JobStatus.QUEUED,
            AttemptOutcome.RETRY,
            error,
            ", not_before = :not_before, stage = 'retrying'",
            {"not_before": not_before},
        )

    def fail(self, job_id: str, attempt: int, error: ErrorInfo) -> bool:
        return self._finish(
            job_id, attempt, JobStatus.FAILED, AttemptOutcome.FAILED, error,
            ", finished_at = :now, stage = 'failed'",
        )  # fmt: skip

    def cancel_running(self, job_id: str, attempt: int) -> bool:
        return self._finish(
            job_id, attempt, JobStatus.CANCELLED, AttemptOutcome.CANCELLED, None,
            ", finished_at = :now, stage = 'cancelled'",
        )  # fmt: skip

    def abandon(self, job_id: str, attempt: int, error: ErrorInfo) -> bool:
        return self._finish(
            job_id, attempt, JobStatus.FAILED, AttemptOutcome.LOST, error,
            ", finished_at = :now, stage = 'failed'", require_expired=True,
        )  # fmt: skip

    def attempts(self, job_id: str) -> list[AttemptRecord]:
        rows = self.db.connection().execute(
            "SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt", (job_id,)
        )
        return [
            AttemptRecord(
                job_id=r["job_id"],
                attempt=r["attempt"],
                worker_id=r["worker_id"],
                started_at=r["started_at"],
                ended_at=r["ended_at"],
                outcome=AttemptOutcome(r["outcome"]),
                error=ErrorInfo(r["error_code"], r["error_message"]) if r["error_code"] else None,
            )
            for r in rows
        ]

    def stale_queued(self, older_than_s: float, limit: int = 100) -> list[str]:
        now = self.clock()
        rows = self.db.write_rows(
            "UPDATE jobs SET updated_at = :now WHERE id IN (SELECT id FROM jobs "
            "WHERE status = 'queued' AND updated_at <= :cutoff LIMIT :limit) RETURNING id",
            {"now": now, "cutoff": now - older_than_s, "limit": limit},
        )
        return [r[0] for r in rows]

    # --- webhooks ------------------------------------------------------------------------
    def due_webhooks(self, lease_s: float, limit: int = 10) -> list[Job]:
        now = self.clock()
        due = self.db.connection().execute(
            "SELECT 1 FROM jobs WHERE webhook_state = 'pending' AND webhook_next_at <= ? LIMIT 1",
            (now,),
        )
        if due.fetchone() is None:  # the common case: no write lock taken
            return []
        rows = self.db.write_rows(
            "UPDATE jobs SET webhook_next_at = :lease WHERE id IN (SELECT id FROM jobs "
            "WHERE webhook_state = 'pending' AND webhook_next_at <= :now "
            "ORDER BY webhook_next_at LIMIT :limit) RETURNING *",
            {"now": now, "lease": now + lease_s, "limit": limit},
        )
        return [_job(r) for r in rows]

    def record_webhook(
        self, attempt: WebhookAttempt, state: WebhookState, next_at: float | None
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO webhook_attempts (job_id, number, message_id, event, url, "
                "at, status_code, ok, error, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.job_id, attempt.number, attempt.message_id, attempt.event,
                    attempt.url, attempt.at, attempt.status_code, int(attempt.ok),
                    attempt.error, attempt.duration_s,
                ),
            )  # fmt: skip
            conn.execute(
                "UPDATE jobs SET webhook_state = ?, webhook_next_at = ?, webhook_attempts = ? "
                "WHERE id = ?",
                (state.value, next_at, attempt.number, attempt.job_id),
            )

    def webhook_attempts(self, job_id: str) -> list[WebhookAttempt]:
        rows = self.db.connection().execute(
            "SELECT * FROM webhook_attempts WHERE job_id = ? ORDER BY number", (job_id,)
        )
        return [
            WebhookAttempt(
                job_id=r["job_id"],
                number=r["number"],
                message_id=r["message_id"],
                event=r["event"],
                url=r["url"],
                at=r["at"],
                status_code=r["status_code"],
                ok=bool(r["ok"]),
                error=r["error"],
                duration_s=r["duration_s"],
            )
            for r in rows
        ]

    # --- operations ----------------------------------------------------------------------
    def stats(self) -> StoreStats:
        conn = self.db.connection()
        by_status = {s.value: 0 for s in JobStatus}
        for status, count in conn.execute("SELECT status, count(*) FROM jobs GROUP BY status"):
            by_status[status] = count
        buckets = ", ".join(
            f"sum(CASE WHEN d <= {b!r} THEN 1 ELSE 0 END)" for b in DURATION_BUCKETS_S
        )
        row = conn.execute(
            f"SELECT {buckets}, count(*), COALESCE(sum(d), 0) FROM (SELECT finished_at - "
            "started_at AS d FROM jobs WHERE status = 'succeeded' AND started_at IS NOT NULL "
            "AND cached = 0)"
        ).fetchone()
        counts = tuple(int(v or 0) for v in row[: len(DURATION_BUCKETS_S) + 1])
        return StoreStats(by_status, DURATION_BUCKETS_S, counts, float(row[-1]))

    def usage(self) -> list[Usage]:
        rows = self.db.connection().execute(
            "SELECT owner, status, count(*), COALESCE(sum(audio_s), 0), max(created_at) "
            "FROM jobs GROUP BY owner, status ORDER BY owner"
        )
        found: dict[str, Usage] = {}
        for owner, status, count, audio_s, last in rows:
            usage = found.get(owner) or Usage(owner, {}, 0.0, None)
            usage.by_status[status] = count
            found[owner] = Usage(
                owner,
                usage.by_status,
                usage.audio_seconds + (audio_s if status == "succeeded" else 0.0),
                max(usage.last_job_at or 0.0, last),
            )
        return list(found.values())

    def ping(self) -> None:
        try:
            self.db.connection().execute("SELECT 1 FROM jobs LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"job store unreachable: {exc}") from exc

    def close(self) -> None:
        self.db.close()


class SqliteQueue:
    """An SQS-like queue table: visibility timeouts, receipts, delayed sends."""

    def __init__(
        self,
        db: Database | Path | str,
        *,
        clock: Clock = time.time,
        poll_interval_s: float = 0.05,
    ) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        self.db.migrate("queue", _QUEUE_DDL)

    def send(self, job_id: str, delay_s: float = 0.0) -> None:
        now = self.clock()
        self.db.write_rows(
            "INSERT INTO queue (job_id, visible_at, sent_at) VALUES (?, ?, ?)",
            (job_id, now + max(delay_s, 0.0), now),
        )

    def receive(self, visibility_s: float, wait_s: float = 0.0) -> Message | None:
        deadline = time.monotonic() + wait_s
        while True:
            now = self.clock()
            visible = self.db.connection().execute(
                "SELECT 1 FROM queue WHERE visible_at <= ? LIMIT 1", (now,)
            )
            rows = []
            if visible.fetchone() is not None:  # an idle poll takes no write lock
                rows = self.db.write_rows(
                    "UPDATE queue SET visible_at = :hidden, receipt = :receipt, "
                    "receive_count = receive_count + 1 WHERE id = (SELECT id FROM queue "
                    "WHERE visible_at <= :now ORDER BY visible_at, id LIMIT 1) "
                    "RETURNING id, job_id, receipt, receive_count",
                    {"hidden": now + visibility_s, "receipt": secrets.token_hex(8), "now": now},
                )
            if rows:
                row = rows[0]
                return Message(row["job_id"], f"{row['id']}:{row['receipt']}", row["receive_count"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(self.poll_interval_s, max(deadline - time.monotonic(), 0.0)))

    @staticmethod
    def _split(message: Message) -> tuple[int, str]:
        row_id, _, receipt = message.receipt.partition(":")
        return int(row_id), receipt

    def extend(self, message: Message, visibility_s: float) -> bool:
        row_id, receipt = self._split(message)
        [changed] = self.db.write_rows(
            "UPDATE queue SET visible_at = ? WHERE id = ? AND receipt = ?",
            (self.clock() + visibility_s, row_id, receipt),
        )
        return bool(changed)

    def ack(self, message: Message) -> None:
        row_id, receipt = self._split(message)
        self.db.write_rows("DELETE FROM queue WHERE id = ? AND receipt = ?", (row_id, receipt))

    def release(self, message: Message, delay_s: float = 0.0) -> None:
        row_id, receipt = self._split(message)
        self.db.write_rows(
            "UPDATE queue SET visible_at = ?, receipt = NULL WHERE id = ? AND receipt = ?",
            (self.clock() + max(delay_s, 0.0), row_id, receipt),
        )

    def depth(self) -> int:
        now = self.clock()
        row = (
            self.db.connection()
            .execute("SELECT count(*) FROM queue WHERE receipt IS NULL OR visible_at <= ?", (now,))
            .fetchone()
        )
        return int(row[0])

    def close(self) -> None:
        self.db.close()
