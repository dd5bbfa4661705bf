"""The song endpoints as a client sees them (FastAPI TestClient over real SQLite files)."""

from __future__ import annotations

import json
from pathlib import Path

from service_rig import Rig, make_rig

from songforge.service.keys import SqliteKeyStore
from songforge.service.runtime import DB_FILE

ID = "0123456789abcdef0123456789abcdef"


class TestSubmit:
    def test_submitting_queues_a_job_without_generating(self, rig: Rig) -> None:
        response = rig.client.post(
            "/v1/songs",
            content=b'{"prompt":"synthwave night drive","duration":200}',
            headers={**rig.auth(), "content-type": "application/x-www-form-urlencoded"},
        )  # what `curl -d` sends
        assert response.status_code == 202
        job = response.json()
        assert job["status"] == "queued" and job["progress"] == 0
        assert response.headers["location"] == f"/v1/songs/{job['id']}"
        assert job["request"]["duration"] == 200
        assert job["seed_assigned"] and isinstance(job["seed"], int)
        assert rig.worker.generator.calls == 0  # type: ignore[attr-defined]

    def test_a_finished_job_has_links_metadata_and_timestamps(self, rig: Rig) -> None:
        job = rig.submit(genre="rock")
        assert rig.run_jobs() == 1
        done = rig.client.get(f"/v1/songs/{job['id']}", headers=rig.auth()).json()
        assert done["status"] == "succeeded" and done["progress"] == 100
        assert done["stage"] == "done" and done["error"] is None
        assert done["started_at"] and done["finished_at"] >= done["started_at"]
        assert set(done["links"]) >= {"self", "audio", "metadata", "stems", "midi", "events"}
        assert done["song"]["format"] == "wav" and done["song"]["stems"] == ["bass", "lead"]
        assert done["song"]["seed"] == 7

    def test_the_body_is_exactly_the_song_request(self, rig: Rig) -> None:
        response = rig.client.post(
            "/v1/songs", json={"prompt": "x", "callback_url": "https://e.com"}, headers=rig.auth()
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "callback_url"


class TestBadInput:
    def check(self, rig: Rig, body: bytes, status: int, field: str, **headers: str) -> None:
        response = rig.client.post(
            "/v1/songs", content=body,
            headers={**rig.auth(), "content-type": "application/json", **headers},
        )  # fmt: skip
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["field"] == field and error["code"] and error["message"]

    def test_out_of_range_duration(self, rig: Rig) -> None:
        self.check(rig, b'{"prompt":"x","duration":5}', 422, "duration")

    def test_unknown_genre(self, rig: Rig) -> None:
        self.check(rig, b'{"prompt":"x","genre":"polka-trance"}', 422, "genre")

    def test_oversize_prompt(self, rig: Rig) -> None:
        self.check(rig, json.dumps({"prompt": "la " * 400}).encode(), 422, "prompt")

    def test_missing_prompt_and_wrong_types(self, rig: Rig) -> None:
        self.check(rig, b"{}", 422, "prompt")
        self.check(rig, b'{"prompt":"x","seed":"abc"}', 422, "seed")
        self.check(rig, b'{"prompt":"x","structure":["verse",3]}', 422, "structure")

    def test_not_json(self, rig: Rig) -> None:
        self.check(rig, b'{"prompt":', 422, "body")
        self.check(rig, b"[1,2]", 422, "body")
        self.check(rig, b"<song/>", 415, "Content-Type", **{"content-type": "text/xml"})

    def test_too_large(self, rig: Rig) -> None:
        self.check(rig, b'{"prompt":"' + b"a" * 70000 + b'"}', 413, "body")

    def test_bad_ids_and_params(self, rig: Rig) -> None:
        for path, field in [
            ("/v1/songs/not-an-id", "job_id"),
            (f"/v1/songs/{ID}/stems/..%2Fetc", "part"),
            ("/v1/songs?limit=0", "limit"),
            ("/v1/songs?status=done", "status"),
            ("/v1/songs?cursor=@@@", "cursor"),
            (f"/v1/songs/{ID}/audio?format=aiff", "format"),
        ]:
            response = rig.client.get(path, headers=rig.auth())
            assert response.status_code in (404, 422), (path, response.text)
            if response.status_code == 422:
                assert response.json()["error"]["field"].startswith(field), path

    def test_unknown_route_and_method_are_json_errors(self, rig: Rig) -> None:
        assert rig.client.get("/v1/nope").json()["error"]["code"] == "not_found"
        response = rig.client.put("/v1/songs", json={}, headers=rig.auth())
        assert response.status_code == 405 and response.json()["error"]["code"]


class TestKeysAndIsolation:
    def test_no_key_or_a_wrong_key_is_401(self, rig: Rig) -> None:
        assert rig.client.get("/v1/songs").status_code == 401
        bad = {"Authorization": "Bearer sfk_nope_nope"}
        response = rig.client.get("/v1/songs", headers=bad)
        assert response.status_code == 401 and response.headers["www-authenticate"]

    def test_another_keys_job_answers_404(self, rig: Rig) -> None:
        job = rig.submit()
        rig.run_jobs()
        for path in ("", "/audio", "/metadata", "/midi", "/stems/bass", "/events", "/webhooks"):
            response = rig.client.get(f"/v1/songs/{job['id']}{path}", headers=rig.auth("bob"))
            assert response.status_code == 404, path
        assert (
            rig.client.delete(f"/v1/songs/{job['id']}", headers=rig.auth("bob")).status_code == 404
        )
        assert rig.client.get("/v1/songs", headers=rig.auth("bob")).json()["items"] == []

    def test_a_key_revoked_by_another_process_stops_working_at_once_despite_the_key_cache(
        self, rig: Rig
    ) -> None:
        now = [1_000_000.0]
        rig.service.monotonic = lambda: now[0]
        assert rig.client.get("/v1/songs", headers=rig.auth()).status_code == 200
        assert rig.client.get("/v1/songs", headers=rig.auth("bob")).status_code == 200
        # `songforge keys revoke` opens its own store on the same database file
        outside = SqliteKeyStore(rig.settings.data_dir / DB_FILE)
        alice = next(k for k in outside.all() if k.name == "alice")
        outside.revoke(alice.id)
        assert rig.client.get("/v1/songs", headers=rig.auth()).status_code == 401
        assert rig.client.get("/v1/songs", headers=rig.auth("bob")).status_code == 200

    def test_the_key_cache_spares_the_key_lookup_until_it_expires(self, rig: Rig) -> None:
        now = [1_000_000.0]
        rig.service.monotonic = lambda: now[0]
        lookups: list[str] = []
        by_hash = rig.service.keys.by_hash
        rig.service.keys.by_hash = lambda digest: lookups.append(digest) or by_hash(digest)  # type: ignore[method-assign]
        for _ in range(3):
            assert rig.client.get("/v1/songs", headers=rig.auth()).status_code == 200
        now[0] += rig.service.policy.key_cache_s
        assert rig.client.get("/v1/songs", headers=rig.auth()).status_code == 200
        assert len(lookups) == 2

    def test_without_a_key_cache_a_revoked_key_stops_working_at_once(self, tmp_path: Path) -> None:
        rig = make_rig(tmp_path, key_cache_s=0)
        assert rig.client.get("/v1/songs", headers=rig.auth()).status_code == 200
        alice = next(k for k in rig.backends.keys.all() if k.name == "alice")
        rig.backends.keys.revoke(alice.id)
        assert rig.client.get("/v1/songs", headers=rig.auth()).status_code == 401

    def test_keys_are_stored_hashed(self, rig: Rig) -> None:
        for key in rig.backends.keys.all():
            assert rig.tokens[key.name] != key.token_hash
            assert rig.tokens[key.name].startswith(key.prefix + "_")
        raw = (rig.settings.data_dir / "songforge.db").read_bytes()
        assert rig.tokens["alice"].encode() not in raw

    def test_admin_sees_usage_others_get_403(self, rig: Rig) -> None:
        rig.submit()
        rig.run_jobs()
        assert rig.client.get("/v1/admin/usage", headers=rig.auth()).status_code == 403
        rows = rig.client.get("/v1/admin/usage", headers=rig.auth("admin")).json()["items"]
        alice = next(r for r in rows if r["name"] == "alice")
        assert alice["jobs"] == {"succeeded": 1} and alice["audio_seconds"] > 0
        assert all("token" not in json.dumps(r) for r in rows)


class TestListing:
    def test_newest_first_with_cursor_pagination_and_status_filter(self, rig: Rig) -> None:
        ids = [rig.submit(seed=i)["id"] for i in range(5)]
        rig.client.delete(f"/v1/songs/{ids[0]}", headers=rig.auth())
        page = rig.client.get("/v1/songs?limit=2", headers=rig.auth()).json()
        assert [j["id"] for j in page["items"]] == ids[::-1][:2]
        seen = [j["id"] for j in page["items"]]
        while page["next_cursor"]:
            page = rig.client.get(
                f"/v1/songs?limit=2&cursor={page['next_cursor']}", headers=rig.auth()
            ).json()
            seen += [j["id"] for j in page["items"]]
        assert seen == ids[::-1]
        cancelled = rig.client.get("/v1/songs?status=cancelled", headers=rig.auth()).json()
        assert [j["id"] for j in cancelled["items"]] == [ids[0]]
        both = rig.client.get("/v1/songs?status=cancelled&status=queued", headers=rig.auth())
        assert len(both.json()["items"]) == 5


class TestCancelAndDelete:
    def test_cancelling_a_queued_job_is_immediate(self, rig: Rig) -> None:
        job = rig.submit()
        response = rig.client.delete(f"/v1/songs/{job['id']}", headers=rig.auth())
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        rig.run_jobs()
        assert rig.worker.generator.calls == 0  # type: ignore[attr-defined]

    def test_deleting_a_finished_job_removes_it_and_its_files(self, rig: Rig) -> None:
        job = rig.submit()
        rig.run_jobs()
        assert rig.backends.blobs.list_keys(f"songs/{job['id']}")
        assert rig.client.delete(f"/v1/songs/{job['id']}", headers=rig.auth()).status_code == 204
        assert rig.client.get(f"/v1/songs/{job['id']}", headers=rig.auth()).status_code == 404
        assert rig.backends.blobs.list_keys(f"songs/{job['id']}") == []


class TestIdempotencyAndCache:
    def test_a_retried_post_with_the_same_key_returns_the_same_job(self, rig: Rig) -> None:
        headers = {**rig.auth(), "Idempotency-Key": "order-42"}
        body = {"prompt": "lofi rain", "seed": 3}
        first = rig.client.post("/v1/songs", json=body, headers=headers)
        again = rig.client.post("/v1/songs", json=body, headers=headers)
        assert first.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = rig.client.post("/v1/songs", json={**body, "seed": 4}, headers=headers)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_conflict"
        assert len(rig.client.get("/v1/songs", headers=rig.auth()).json()["items"]) == 1

    def test_an_identical_seeded_request_is_served_from_the_cache(self, rig: Rig) -> None:
        first = rig.submit(seed=11)
        rig.run_jobs()
        again = rig.client.post(
            "/v1/songs", json={"prompt": "synthwave night drive", "seed": 11}, headers=rig.auth()
        )
        assert again.status_code == 200
        cached = again.json()
        assert cached["cached"] and cached["source_job_id"] == first["id"]
        assert cached["status"] == "succeeded" and cached["id"] != first["id"]
        assert rig.run_jobs() == 0 and rig.worker.generator.calls == 1  # type: ignore[attr-defined]
        audio = rig.client.get(f"/v1/songs/{cached['id']}/audio", headers=rig.auth())
        original = rig.client.get(f"/v1/songs/{first['id']}/audio", headers=rig.auth())
        assert audio.content == original.content
        # deleting the source keeps the files the cached copy points at
        rig.client.delete(f"/v1/songs/{first['id']}", headers=rig.auth())
        assert (
            rig.client.get(f"/v1/songs/{cached['id']}/audio", headers=rig.auth()).status_code == 200
        )

    def test_requests_without_a_seed_are_never_cached(self, rig: Rig) -> None:
        body = {"prompt": "synthwave night drive"}
        rig.client.post("/v1/songs", json=body, headers=rig.auth())
        rig.run_jobs()
        again = rig.client.post("/v1/songs", json=body, headers=rig.auth()).json()
        assert not again["cached"] and again["status"] == "queued"

    def test_the_cache_is_per_key_by_default(self, rig: Rig) -> None:
        rig.submit(seed=5)
        rig.run_jobs()
        assert not rig.submit("bob", seed=5)["cached"]


class TestLimits:
    def test_the_concurrent_job_quota_answers_429_with_retry_after(self, tmp_path: Path) -> None:
        rig = make_rig(tmp_path, max_active_jobs=2)
        rig.submit(seed=1)
        rig.submit(seed=2)
        response = rig.client.post("/v1/songs", json={"prompt": "x", "seed": 3}, headers=rig.auth())
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "quota_exceeded"
        assert rig.submit("bob", seed=3)["status"] == "queued"  # per key
        rig.run_jobs()
        assert rig.submit(seed=3)["status"] == "queued"

    def test_the_request_rate_limit_is_a_token_bucket_per_key(self, tmp_path: Path) -> None:
        rig = make_rig(tmp_path, rate_limit_per_s=0.5, rate_limit_burst=3)
        codes = [rig.client.get("/v1/songs", headers=rig.auth()).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert rig.client.get("/v1/songs", headers=rig.auth("bob")).status_code == 200
        limited = rig.client.get("/v1/songs", headers=rig.auth())
        assert 1 <= int(limited.headers["retry-after"]) <= 2


class TestOperations:
    def test_health_readiness_metrics_and_styles(self, rig: Rig) -> None:
        assert rig.client.get("/healthz").json() == {"status": "ok"}
        assert rig.client.get("/readyz").json() == {"status": "ready"}
        rig.submit()
        rig.run_jobs()
        rig.submit(seed=99)
        text = rig.client.get("/metrics").text
        assert 'songforge_jobs{status="succeeded"} 1.0' in text
        assert 'songforge_jobs{status="queued"} 1.0' in text
        assert "songforge_queue_depth 1.0" in text
        assert "songforge_job_duration_seconds_count 1.0" in text
        assert 'route="/v1/songs/{job_id}"' in text or 'route="/v1/songs"' in text
        styles = rig.client.get("/v1/styles").json()["items"]
        assert styles and {"id", "name", "description", "tempo_bpm", "feel", "parts"} <= set(
            styles[0]
        )

    def test_openapi_documents_the_song_request_and_security(self, rig: Rig) -> None:
        schema = rig.client.get("/openapi.json").json()
        body = schema["paths"]["/v1/songs"]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["$ref"].endswith("/SongRequest")
        assert "HTTPBearer" in schema["components"]["securitySchemes"]
        assert rig.client.get("/docs").status_code == 200

    def test_the_web_page_is_served_at_the_root(self, rig: Rig) -> None:
        response = rig.client.get("/")
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
