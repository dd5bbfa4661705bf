"""Status reads and plain submits skip FastAPI's machinery (api.fastpaths): they must answer
exactly what the FastAPI routes answer, and leave every other request to those routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_rig import Rig, make_rig

from songforge.api import create_app

VOLATILE = {"id", "created_at", "updated_at", "seed", "links", "started_at", "finished_at"}


@pytest.fixture
def both(tmp_path: Path) -> tuple[Rig, TestClient]:
    """The rig (fast paths on) and a client of the same service with them off."""
    rig = make_rig(tmp_path)
    plain = create_app(rig.service, max_body_bytes=rig.settings.max_body_bytes, fast_paths=False)
    return rig, TestClient(plain)


def _same(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code
    assert a.headers["content-type"] == b.headers["content-type"]
    for header in ("www-authenticate", "retry-after", "idempotent-replayed"):
        assert a.headers.get(header) == b.headers.get(header)
    assert a.json() == b.json()


def test_a_status_read_answers_exactly_what_the_route_answers(
    both: tuple[Rig, TestClient],
) -> None:
    rig, plain = both
    queued = rig.submit(seed=1)
    done = rig.submit(seed=2, genre="rock")
    rig.run_jobs()
    for job_id in (queued["id"], done["id"], "0" * 32):
        for headers in (rig.auth(), rig.auth("bob"), {}, {"Authorization": "Bearer sfk_x_y"}):
            path = f"/v1/songs/{job_id}"
            _same(rig.client.get(path, headers=headers), plain.get(path, headers=headers))


def test_a_plain_submit_answers_what_the_route_answers(both: tuple[Rig, TestClient]) -> None:
    rig, plain = both
    body = {"prompt": "synthwave night drive", "seed": 3, "duration": 45}
    fast = rig.client.post("/v1/songs", json=body, headers=rig.auth())
    slow = plain.post("/v1/songs", json={**body, "seed": 4}, headers=rig.auth())
    assert fast.status_code == slow.status_code == 202
    assert fast.headers["location"] == f"/v1/songs/{fast.json()['id']}"
    a, b = fast.json(), slow.json()
    assert {k: v for k, v in a.items() if k not in VOLATILE | {"request"}} == {
        k: v for k, v in b.items() if k not in VOLATILE | {"request"}
    }
    assert {**a["request"], "seed": 0} == {**b["request"], "seed": 0}
    assert rig.client.get(f"/v1/songs/{b['id']}", headers=rig.auth()).json()["status"] == "queued"


def test_an_idempotent_retry_is_replayed_the_same_way(both: tuple[Rig, TestClient]) -> None:
    rig, plain = both
    headers = {**rig.auth(), "Idempotency-Key": "k1"}
    first = rig.client.post("/v1/songs", json={"prompt": "lofi rain"}, headers=headers)
    assert first.status_code == 202
    _same(
        rig.client.post("/v1/songs", json={"prompt": "lofi rain"}, headers=headers),
        plain.post("/v1/songs", json={"prompt": "lofi rain"}, headers=headers),
    )
    conflict = {"prompt": "something else"}
    _same(
        rig.client.post("/v1/songs", json=conflict, headers=headers),
        plain.post("/v1/songs", json=conflict, headers=headers),
    )


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"prompt": "x", "unknown": 1}', {}),
        (b'{"prompt": ""}', {}),
        (b'{"prompt": "x", "duration": 5}', {}),
        (b"[1, 2]", {}),
        (b"{not json", {}),
        (b'{"prompt": "x", "seed": NaN}', {}),
        (b'{"prompt": "x"}', {"Idempotency-Key": ""}),
        (b'{"prompt": "x"}', {"Idempotency-Key": "k" * 256}),
        (b'{"prompt": "x", "provider": "nope"}', {}),
        (b'{"prompt": "x"}', {"Songforge-Callback-Url": "http://127.0.0.1/hook"}),
    ],
)
def test_anything_but_a_plain_valid_submit_gets_the_routes_answer(
    both: tuple[Rig, TestClient], body: bytes, headers: dict[str, str]
) -> None:
    rig, plain = both
    sent = {**rig.auth(), "content-type": "application/json", **headers}
    fast = rig.client.post("/v1/songs", content=body, headers=sent)
    assert 400 <= fast.status_code < 500
    _same(fast, plain.post("/v1/songs", content=body, headers=sent))


def test_a_valid_submit_without_a_key_is_401_like_the_route(both: tuple[Rig, TestClient]) -> None:
    rig, plain = both
    for headers in ({}, {"Authorization": "Bearer sfk_x_y"}, {"Authorization": "Basic abc"}):
        body = {"prompt": "x"}
        _same(
            rig.client.post("/v1/songs", json=body, headers=headers),
            plain.post("/v1/songs", json=body, headers=headers),
        )


def test_fast_answers_keep_their_route_label_in_the_request_metrics(rig: Rig) -> None:
    job = rig.submit()
    rig.client.get(f"/v1/songs/{job['id']}", headers=rig.auth())
    metrics = rig.client.get("/metrics").text
    assert 'route="/v1/songs/{job_id}",status="200"' in metrics
    assert 'route="/v1/songs",status="202"' in metrics
