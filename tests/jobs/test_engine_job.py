"""One real song through the whole job path (engine generator, SQLite store, filesystem blobs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from songforge.jobs.generator import EngineGenerator
from songforge.jobs.model import AttemptOutcome, JobStatus
from songforge.request import SongRequest
from songforge.service.core import Principal
from songforge.service.runtime import build_service, build_worker, open_backends
from songforge.settings import Settings


@pytest.mark.slow
def test_the_engine_makes_a_song_through_a_job(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, progress_interval_s=0.0)
    backends = open_backends(settings)
    service = build_service(settings, backends)
    request = SongRequest(prompt="synthwave night drive", duration=30, seed=3, format="flac")
    job = service.submit(Principal("alice", "alice"), request).job
    seen: list[float] = []
    worker = build_worker(settings, backends, EngineGenerator(settings))
    real = backends.store.report_progress

    def spy(job_id: str, attempt: int, stage: str, percent: float):  # type: ignore[no-untyped-def]
        seen.append(percent)
        return real(job_id, attempt, stage, percent)

    backends.store.report_progress = spy  # type: ignore[method-assign]
    assert worker.drain() == 1
    done = backends.store.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED, done.error
    assert [a.outcome for a in backends.store.attempts(job.id)] == [AttemptOutcome.SUCCEEDED]
    assert seen == sorted(seen) and len(seen) >= 5
    out = done.outputs
    assert out is not None and out.format == "flac" and 29 <= out.duration_s <= 40
    audio = backends.blobs.get(out.audio.key)
    assert audio.startswith(b"fLaC") and hashlib.sha256(audio).hexdigest() == out.audio.sha256
    sheet = json.loads(backends.blobs.get(out.metadata.key))
    assert sheet["audio"]["sha256"] == out.audio.sha256 and sheet["seed"] == 3
    assert out.midi is not None and backends.blobs.get(out.midi.key).startswith(b"MThd")
    assert "lead" in out.stems
