"""Jobs made by the provider layer: who pays, what it cost, and which generator runs them."""

from __future__ import annotations

import pytest

from songforge.errors import InvalidRequest
from songforge.jobs.generator import make_generator
from songforge.jobs.memory import MemoryJobStore, MemoryQueue
from songforge.jobs.model import Job, JobStatus, new_job_id, request_hash
from songforge.jobs.policy import LeasePolicy
from songforge.jobs.worker import Worker
from songforge.providers.cost import InMemoryUsageLedger
from songforge.providers.orchestrator import ProviderGenerator
from songforge.request import SongRequest
from songforge.settings import Settings
from songforge.storage import MemoryBlobStore


def test_a_jobs_provider_spend_is_recorded_against_its_owner_and_the_job(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, fake_provider="max_clip_s=30,price_usd=0.02")
    ledger = InMemoryUsageLedger()
    store, queue = MemoryJobStore(), MemoryQueue()
    request = SongRequest(prompt="synthwave night drive", provider="fake", duration=30, seed=7)
    job = Job(
        id=new_job_id(), owner="key_alice", request=request, request_hash=request_hash(request)
    )
    store.create(job)
    queue.send(job.id)
    worker = Worker(
        store=store,
        queue=queue,
        blobs=MemoryBlobStore(),
        generator=make_generator("providers", settings, ledger=ledger),
        lease=LeasePolicy(lease_s=1000, heartbeat_s=100),
        progress_interval_s=0.0,
    )
    assert worker.drain() == 1
    done = store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED, done.error
    assert done.outputs is not None and done.outputs.summary["provider"] == "fake"
    assert done.outputs.summary["cost"]["actual_usd"] == pytest.approx(0.02)
    [row] = ledger.summary()
    assert (row.key_id, row.provider, row.usd, row.seconds, row.jobs) == (
        "key_alice", "fake", pytest.approx(0.02), pytest.approx(30.0), 1,
    )  # fmt: skip
    assert ledger.spent_usd("key_alice", row.month) == pytest.approx(0.02)


def test_the_providers_generator_writes_to_the_ledger_it_is_given(tmp_path) -> None:
    ledger = InMemoryUsageLedger()
    generator = make_generator("providers", Settings(data_dir=tmp_path), ledger=ledger)
    assert isinstance(generator, ProviderGenerator) and generator.ledger is ledger


def test_the_default_generator_is_the_provider_layer(tmp_path) -> None:
    assert Settings(data_dir=tmp_path).generator == "providers"


def test_an_unknown_generator_names_the_choices() -> None:
    with pytest.raises(InvalidRequest) as refused:
        make_generator("magic")
    assert refused.value.field == "generator"
    assert all(name in refused.value.detail for name in ("providers", "engine", "tone"))
