"""The behaviour every JobStore backend must show (run against each in conftest.STORE_BACKENDS)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from songforge.errors import QuotaExceeded
from songforge.jobs._sqlite import Database
from songforge.jobs.model import (
    AttemptOutcome,
    BlobRef,
    ErrorInfo,
    Job,
    JobStatus,
    Outputs,
    WebhookAttempt,
    WebhookState,
    request_hash,
)
from songforge.jobs.sqlite import _JOBS_DDL, SqliteJobStore
from songforge.jobs.store import ActiveQuota, Control, JobStore
from songforge.request import SongRequest

MakeJob = Callable[..., Job]
ERR = ErrorInfo("render_error", "boom")


def outputs(prefix: str = "songs/x/a1") -> Outputs:
    ref = BlobRef(f"{prefix}/song.wav", "ab" * 32, 10, "audio/wav")
    meta = BlobRef(f"{prefix}/metadata.json", "cd" * 32, 5, "application/json")
    return Outputs(prefix=prefix, format="wav", audio=ref, metadata=meta, duration_s=2.0)


class TestCreateAndRead:
    def test_a_created_job_reads_back_equal(self, store: JobStore, make_job: MakeJob) -> None:
        job = make_job()
        stored, created = store.create(job)
        assert created and stored == job
        assert store.get(job.id) == job

    def test_a_jobs_cost_estimate_survives_the_store_and_its_whole_life(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        estimate = {"expected_provider": "fake", "expected_usd": 0.02, "providers": [{"usd": 0.02}]}
        job = make_job(estimate=estimate)
        store.create(job)
        claimed = store.claim(job.id, "w1", 30.0)
        assert claimed is not None and claimed.estimate == estimate
        assert store.complete(job.id, claimed.attempt, outputs())
        done = store.get(job.id)
        assert done is not None and done.estimate == estimate

    def test_unknown_id_is_none(self, store: JobStore) -> None:
        assert store.get("0" * 32) is None

    def test_same_idempotency_key_returns_the_first_job(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        first, _ = store.create(make_job(idempotency_key="k1"))
        again, created = store.create(make_job(idempotency_key="k1"))
        assert not created and again.id == first.id
        assert store.find_idempotent("alice", "k1") == first
        other, created = store.create(make_job(owner="bob", idempotency_key="k1"))
        assert created and other.id != first.id  # keys are per owner

    def test_list_is_newest_first_per_owner_with_cursor_and_filter(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        ids = []
        for i in range(5):
            clock.advance(1)
            ids.append(store.create(make_job(seed=i))[0].id)
        store.create(make_job(owner="bob"))
        page = store.list_jobs("alice", limit=2)
        assert [j.id for j in page] == ids[::-1][:2]
        rest = store.list_jobs("alice", limit=10, before=(page[-1].created_at, page[-1].id))
        assert [j.id for j in rest] == ids[::-1][2:]
        store.request_cancel(ids[0])
        cancelled = store.list_jobs("alice", statuses=[JobStatus.CANCELLED])
        assert [j.id for j in cancelled] == [ids[0]]
        assert store.count_active("alice") == 4

    def test_cache_finds_only_succeeded_jobs_with_the_same_hash(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        job = store.create(make_job())[0]
        assert store.find_cached(job.request_hash, "alice") is None
        claimed = store.claim(job.id, "w", 30)
        assert claimed is not None
        store.complete(job.id, claimed.attempt, outputs())
        assert store.find_cached(job.request_hash, "alice") is not None
        assert store.find_cached(job.request_hash, "bob") is None
        assert store.find_cached(job.request_hash, None) is not None
        assert store.count_output_refs("songs/x/a1") == 1


class TestActiveQuota:
    """The concurrent-job quota is decided by the store atomically with the insert."""

    QUOTA = ActiveQuota(limit=2, retry_after_s=7.0)

    def test_a_job_past_the_owners_quota_is_refused_with_retry_after(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        for seed in (1, 2):
            assert store.create(make_job(seed=seed), self.QUOTA)[1]
        with pytest.raises(QuotaExceeded) as refused:
            store.create(make_job(seed=3), self.QUOTA)
        assert refused.value.retry_after_s == 7.0 and "2 jobs" in refused.value.message
        assert store.count_active("alice") == 2
        assert store.create(make_job(owner="bob"), self.QUOTA)[1]  # the quota is per owner

    def test_finished_and_cancelled_jobs_free_their_slots(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        first = store.create(make_job(seed=1), self.QUOTA)[0]
        second = store.create(make_job(seed=2), self.QUOTA)[0]
        claimed = store.claim(first.id, "w", 10)
        assert claimed is not None  # a running job still holds its slot
        with pytest.raises(QuotaExceeded):
            store.create(make_job(seed=3), self.QUOTA)
        store.complete(first.id, claimed.attempt, outputs())
        assert store.create(make_job(seed=3), self.QUOTA)[1]
        store.request_cancel(second.id)
        assert store.create(make_job(seed=4), self.QUOTA)[1]

    def test_an_idempotent_retry_at_the_quota_returns_the_earlier_job(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        first = store.create(make_job(seed=1, idempotency_key="k"), self.QUOTA)[0]
        store.create(make_job(seed=2), self.QUOTA)
        again, created = store.create(make_job(seed=1, idempotency_key="k"), self.QUOTA)
        assert not created and again.id == first.id

    def test_a_job_stored_already_finished_takes_no_slot(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        for seed in (1, 2):
            store.create(make_job(seed=seed), self.QUOTA)
        cached = make_job(seed=1, status=JobStatus.SUCCEEDED, outputs=outputs(), cached=True)
        assert store.create(cached, self.QUOTA)[1]

    def test_concurrent_creates_never_exceed_the_quota(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        quota = ActiveQuota(limit=5)
        start = threading.Barrier(8)

        def submit_many(_: int) -> tuple[int, int]:
            start.wait()
            created = refused = 0
            for seed in range(10):
                try:
                    created += store.create(make_job(seed=seed), quota)[1]
                except QuotaExceeded:
                    refused += 1
            return created, refused

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(submit_many, range(8)))
        assert sum(c for c, _ in outcomes) == 5 and sum(r for _, r in outcomes) == 75
        assert store.count_active("alice") == 5


class TestClaimAndFencing:
    def test_claim_increments_attempt_and_records_it(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        job = store.create(make_job())[0]
        claimed = store.claim(job.id, "w1", 30)
        assert claimed is not None
        assert (claimed.status, claimed.attempt, claimed.lease_owner) == (
            JobStatus.RUNNING,
            1,
            "w1",
        )
        assert store.claim(job.id, "w2", 30) is None  # the lease is live
        [record] = store.attempts(job.id)
        assert (record.attempt, record.worker_id, record.outcome) == (
            1,
            "w1",
            AttemptOutcome.RUNNING,
        )

    def test_an_expired_lease_is_taken_over_and_the_old_attempt_is_fenced(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        job = store.create(make_job())[0]
        first = store.claim(job.id, "w1", 10)
        assert first is not None
        clock.advance(11)
        second = store.claim(job.id, "w2", 10)
        assert second is not None and second.attempt == 2
        assert store.heartbeat(job.id, 1, 10) is Control.LOST
        assert store.report_progress(job.id, 1, "render", 50) is Control.LOST
        assert not store.complete(job.id, 1, outputs("songs/x/a1"))
        assert not store.fail(job.id, 1, ERR)
        assert store.complete(job.id, 2, outputs("songs/x/a2"))
        done = store.get(job.id)
        assert done is not None and done.status is JobStatus.SUCCEEDED
        assert done.outputs is not None and done.outputs.prefix == "songs/x/a2"
        outcomes = [a.outcome for a in store.attempts(job.id)]
        assert outcomes == [AttemptOutcome.LOST, AttemptOutcome.SUCCEEDED]

    def test_heartbeat_extends_the_lease(self, store: JobStore, make_job: MakeJob, clock) -> None:
        job = store.create(make_job())[0]
        store.claim(job.id, "w1", 10)
        clock.advance(8)
        assert store.heartbeat(job.id, 1, 10) is Control.CONTINUE
        clock.advance(8)
        assert store.claim(job.id, "w2", 10) is None

    def test_no_claim_past_max_attempts_and_abandon_fails_the_job(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        job = store.create(make_job(max_attempts=1))[0]
        store.claim(job.id, "w1", 10)
        assert not store.abandon(job.id, 1, ERR)  # lease still live
        clock.advance(11)
        assert store.claim(job.id, "w2", 10) is None
        assert store.abandon(job.id, 1, ErrorInfo("worker_lost", "gone"))
        failed = store.get(job.id)
        assert failed is not None and failed.status is JobStatus.FAILED
        assert failed.error == ErrorInfo("worker_lost", "gone")

    def test_retry_later_requeues_until_not_before(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        job = store.create(make_job())[0]
        store.claim(job.id, "w1", 10)
        assert store.retry_later(job.id, 1, ERR, clock() + 5)
        queued = store.get(job.id)
        assert queued is not None and queued.status is JobStatus.QUEUED
        assert queued.error == ERR
        assert store.claim(job.id, "w1", 10) is None
        clock.advance(5)
        again = store.claim(job.id, "w1", 10)
        assert again is not None and again.attempt == 2
        assert [a.outcome for a in store.attempts(job.id)] == [
            AttemptOutcome.RETRY,
            AttemptOutcome.RUNNING,
        ]

    def test_progress_is_recorded(self, store: JobStore, make_job: MakeJob) -> None:
        job = store.create(make_job())[0]
        store.claim(job.id, "w1", 10)
        assert store.report_progress(job.id, 1, "mix", 70.0) is Control.CONTINUE
        seen = store.get(job.id)
        assert seen is not None and (seen.stage, seen.progress) == ("mix", 70.0)


class TestCancel:
    def test_a_queued_job_is_cancelled_at_once(self, store: JobStore, make_job: MakeJob) -> None:
        job = store.create(make_job())[0]
        cancelled = store.request_cancel(job.id)
        assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
        assert store.claim(job.id, "w", 10) is None

    def test_a_running_job_learns_of_it_at_its_next_report(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        job = store.create(make_job())[0]
        store.claim(job.id, "w", 10)
        flagged = store.request_cancel(job.id)
        assert flagged is not None and flagged.status is JobStatus.RUNNING
        assert flagged.cancel_requested
        assert store.report_progress(job.id, 1, "render", 40) is Control.CANCEL
        assert store.heartbeat(job.id, 1, 10) is Control.CANCEL
        assert store.cancel_running(job.id, 1)
        done = store.get(job.id)
        assert done is not None and done.status is JobStatus.CANCELLED

    def test_a_finished_job_is_unchanged_and_can_be_deleted(
        self, store: JobStore, make_job: MakeJob
    ) -> None:
        job = store.create(make_job())[0]
        store.claim(job.id, "w", 10)
        store.fail(job.id, 1, ERR)
        same = store.request_cancel(job.id)
        assert same is not None and same.status is JobStatus.FAILED
        assert store.delete(job.id)
        assert store.get(job.id) is None and store.attempts(job.id) == []
        assert not store.delete(job.id)


class TestWebhookOutbox:
    def test_finishing_a_job_with_a_callback_makes_a_due_delivery(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        job = store.create(make_job(callback_url="https://example.com/hook"))[0]
        plain = store.create(make_job(seed=2))[0]
        for j in (job, plain):
            store.claim(j.id, "w", 10)
            store.complete(j.id, 1, outputs())
        [due] = store.due_webhooks(lease_s=30)
        assert due.id == job.id and due.webhook_state is WebhookState.PENDING
        assert store.due_webhooks(lease_s=30) == []  # claimed for 30 s
        attempt = WebhookAttempt(job.id, 1, "msg_1", "song.succeeded", job.callback_url or "",
                                 clock(), 500, False, "HTTP 500", 0.01)  # fmt: skip
        store.record_webhook(attempt, WebhookState.PENDING, clock() + 5)
        assert store.due_webhooks(lease_s=30) == []
        clock.advance(5)
        [again] = store.due_webhooks(lease_s=30)
        assert again.webhook_attempts == 1
        ok = WebhookAttempt(job.id, 2, "msg_1", "song.succeeded", job.callback_url or "",
                            clock(), 200, True, None, 0.01)  # fmt: skip
        store.record_webhook(ok, WebhookState.DELIVERED, None)
        assert [a.number for a in store.webhook_attempts(job.id)] == [1, 2]
        final = store.get(job.id)
        assert final is not None and final.webhook_state is WebhookState.DELIVERED


class TestOperations:
    def test_stats_and_usage_count_by_status(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        a = store.create(make_job())[0]
        store.create(make_job(seed=2))
        store.create(make_job(owner="bob"))
        store.claim(a.id, "w", 10)
        clock.advance(3)
        store.complete(a.id, 1, outputs())
        stats = store.stats()
        assert stats.by_status["succeeded"] == 1 and stats.by_status["queued"] == 2
        assert stats.duration_counts[-1] == 1 and abs(stats.duration_sum_s - 3.0) < 1e-6
        usage = {u.owner: u for u in store.usage()}
        assert usage["alice"].by_status == {"succeeded": 1, "queued": 1}
        assert usage["alice"].audio_seconds == 2.0
        store.ping()

    def test_stale_queued_jobs_are_reported_once_per_period(
        self, store: JobStore, make_job: MakeJob, clock
    ) -> None:
        job = store.create(make_job())[0]
        assert store.stale_queued(60) == []
        clock.advance(61)
        assert store.stale_queued(60) == [job.id]
        assert store.stale_queued(60) == []


def test_a_job_database_from_before_cost_estimates_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as old:
        old.executescript(
            _JOBS_DDL.replace("  webhook_attempts INTEGER NOT NULL DEFAULT 0,\n  estimate TEXT\n",
                              "  webhook_attempts INTEGER NOT NULL DEFAULT 0\n")
        )  # fmt: skip
        columns = {row[1] for row in old.execute("PRAGMA table_info(jobs)")}
    assert "estimate" not in columns and "webhook_attempts" in columns
    store = SqliteJobStore(Database(path))
    request = SongRequest(prompt="x", seed=1)
    job = Job(id="a" * 32, owner="alice", request=request, request_hash=request_hash(request),
              estimate={"expected_usd": 0.0})  # fmt: skip
    store.create(job)
    assert store.get(job.id) == job
    store.close()
    SqliteJobStore(Database(path)).close()  # opening it again adds nothing twice
