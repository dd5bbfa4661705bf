"""Providers through the API: cost estimates and actual cost on jobs, budgets refused at
submit, spend per key, provider errors as job errors without secrets, the provider list, and
inbound provider webhooks (verified over the raw body; forged ones change nothing)."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
import typer
from emulators.replicate import ReplicateEmulator
from emulators.server import serve
from service_rig import Rig, free_port, make_rig, running
from typer.testing import CliRunner

from songforge.api.errors import status_for
from songforge.cli_providers import register as register_provider_commands
from songforge.errors import (
    BudgetExceeded,
    ContentRefused,
    ProviderError,
    ProviderUnavailable,
)
from songforge.providers.cost import UsageEntry, month_of

PAID_FAKE = "max_clip_s=30,price_usd=0.02"  # $0.02 a clip; a 30 s song is one clip
SONG = {"prompt": "synthwave night drive", "seed": 7, "duration": 30}
TOKEN = "fake-Provider-Token-0123456789"  # no well-known prefix: only the exact value gives it away
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def provider_rig(tmp_path: Path, **overrides: Any) -> Rig:
    """Jobs run by the provider layer with the fake provider; provider retries off."""
    options: dict[str, Any] = {
        "generator": "providers",
        "fake_provider": PAID_FAKE,
        "provider_retry_attempts": 1,
        "replicate_webhook_secret": WEBHOOK_SECRET,
        **overrides,
    }
    return make_rig(tmp_path, **options)


@pytest.fixture
def paid(tmp_path: Path) -> Iterator[Rig]:
    made = provider_rig(tmp_path, budget_usd_per_month=1.0)
    yield made
    made.backends.close()


def key_id(rig: Rig, who: str) -> str:
    return rig.service.authenticate(rig.tokens[who]).owner


def spend(rig: Rig, who: str, usd: float, month: str | None = None, job: str = "earlier") -> None:
    """Spend recorded earlier (by another job, or another month)."""
    ledger = rig.backends.ledger
    assert ledger is not None
    ledger.record(
        UsageEntry(key_id(rig, who), "fake", month or month_of(time.time()), usd, 30.0, job)
    )


def post_song(rig: Rig, who: str = "alice", **fields: Any) -> httpx.Response:
    return rig.client.post("/v1/songs", json={**SONG, **fields}, headers=rig.auth(who))


def everything_alice_sees(rig: Rig, job_id: str) -> str:
    paths = [f"/v1/songs/{job_id}", "/v1/songs", f"/v1/songs/{job_id}/attempts", "/v1/usage"]
    return "".join(rig.client.get(path, headers=rig.auth()).text for path in paths)


class TestCost:
    def test_a_job_shows_its_estimated_cost_before_and_its_actual_cost_after(
        self, paid: Rig
    ) -> None:
        queued = post_song(paid, provider="fake")
        assert queued.status_code == 202, queued.text
        job = queued.json()
        assert job["provider"] == "fake"
        assert job["cost"]["estimated_usd"] == pytest.approx(0.02)
        assert job["cost"]["actual_usd"] is None
        [line] = job["cost"]["estimate"]["providers"]
        assert (line["provider"], line["clips"], line["free"]) == ("fake", 1, False)
        assert paid.run_jobs() == 1
        done = paid.client.get(f"/v1/songs/{job['id']}", headers=paid.auth()).json()
        assert done["status"] == "succeeded", done["error"]
        assert done["provider"] == "fake" and done["song"]["providers"] == ["fake"]
        assert done["cost"]["estimated_usd"] == pytest.approx(0.02)
        assert done["cost"]["actual_usd"] == pytest.approx(0.02)

    def test_the_song_metadata_lists_each_segment_with_its_provider_and_cost(
        self, paid: Rig
    ) -> None:
        job = paid.submit(**SONG, provider="fake")
        paid.run_jobs()
        sheet = paid.client.get(f"/v1/songs/{job['id']}/metadata", headers=paid.auth()).json()
        assert sheet["provider"] == "fake"
        assert [(s["provider"], s["cost_usd"]) for s in sheet["segments"]] == [("fake", 0.02)]
        assert sheet["cost"]["actual_usd"] == pytest.approx(0.02)

    def test_a_copy_from_the_cache_costs_nothing_and_needs_no_budget(self, paid: Rig) -> None:
        first = paid.submit(**SONG, provider="fake")
        paid.run_jobs()
        spend(paid, "alice", 0.98)  # the budget is now spent
        again = post_song(paid, provider="fake")
        assert again.status_code == 200, again.text
        copy = again.json()
        assert copy["cached"] and copy["source_job_id"] == first["id"]
        assert copy["cost"]["actual_usd"] == 0.0 and copy["provider"] == "fake"
        usage = paid.client.get("/v1/usage", headers=paid.auth()).json()
        assert usage["keys"][0]["spent_usd"] == pytest.approx(1.0)

    def test_provider_is_a_name_or_a_fallback_list(self, paid: Rig) -> None:
        one = post_song(paid, provider="fake").json()
        chain = post_song(paid, provider=["fake", "songforge"], seed=8).json()
        assert one["request"]["provider"] == ["fake"]
        assert chain["request"]["provider"] == ["fake", "songforge"]
        assert [p["provider"] for p in chain["cost"]["estimate"]["providers"]] == [
            "fake",
            "songforge",
        ]

    def test_a_song_that_names_no_provider_is_estimated_on_the_default_policy(
        self, paid: Rig
    ) -> None:
        job = post_song(paid).json()
        assert job["provider"] == "songforge" and job["cost"]["estimated_usd"] == 0.0


class TestRefusedAtSubmit:
    def test_a_spent_budget_refuses_a_paid_song_with_402_and_queues_nothing(
        self, paid: Rig
    ) -> None:
        spend(paid, "alice", 0.99)
        response = post_song(paid, provider="fake")
        assert response.status_code == 402
        error = response.json()["error"]
        assert error["code"] == "budget_exceeded" and "$0.99 of $1.00" in error["message"]
        assert error["budget"] == {
            "month": month_of(time.time()),
            "spent_usd": 0.99,
            "budget_usd": 1.0,
            "needed_usd": 0.02,
        }
        assert paid.client.get("/v1/songs", headers=paid.auth()).json()["items"] == []
        assert post_song(paid, "bob", provider="fake").status_code == 202  # bob's is not spent

    def test_free_providers_still_work_when_the_budget_is_spent(self, paid: Rig) -> None:
        spend(paid, "alice", 1.0)
        assert post_song(paid, provider=["fake", "songforge"]).status_code == 202
        assert post_song(paid, seed=8).status_code == 202  # the default policy: the engine

    def test_an_unknown_provider_is_refused_naming_the_field(self, paid: Rig) -> None:
        response = post_song(paid, provider=["fake", "no-such-provider"])
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["field"] == "provider" and "no-such-provider" in error["message"]

    def test_a_song_none_of_whose_providers_is_usable_is_refused_with_503(self, paid: Rig) -> None:
        response = post_song(paid, provider="suno")  # no gateway configured
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "provider_unavailable" and "suno" in error["message"]

    def test_provider_failures_map_to_one_status_each(self) -> None:
        assert status_for(BudgetExceeded("spent")) == 402
        assert status_for(ContentRefused("refused")) == 422
        assert status_for(ProviderUnavailable("down")) == 503
        assert status_for(ProviderError("failed")) == 502


class TestProviderErrorsInJobs:
    def test_a_refused_prompt_fails_the_job_with_content_refused_without_retrying(
        self, tmp_path: Path
    ) -> None:
        rig = provider_rig(tmp_path, fake_provider="fail=refuse")
        job = rig.submit(**SONG, provider="fake")
        rig.run_jobs()
        failed = rig.client.get(f"/v1/songs/{job['id']}", headers=rig.auth()).json()
        assert failed["status"] == "failed" and failed["attempt"] == 1
        assert failed["error"]["code"] == "content_refused"
        assert failed["cost"]["actual_usd"] is None
        rig.backends.close()

    def test_a_configured_token_never_appears_in_a_failed_job_or_any_answer(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        rig = provider_rig(
            tmp_path, fake_provider="fail_always=500", fake_provider_token=TOKEN
        )  # the fake echoes its token in every error, as careless upstreams do
        job = rig.submit(**SONG, provider="fake")
        with caplog.at_level(logging.INFO):
            rig.run_jobs()
        failed = rig.client.get(f"/v1/songs/{job['id']}", headers=rig.auth()).json()
        assert failed["status"] == "failed" and failed["attempt"] == 3  # 500s are retried
        assert failed["error"]["code"] == "provider_error"
        assert "fake" in failed["error"]["message"] and "500" in failed["error"]["message"]
        providers = rig.client.get("/v1/providers", headers=rig.auth("admin")).text
        assert TOKEN not in everything_alice_sees(rig, job["id"]) + providers
        assert TOKEN not in caplog.text
        rig.backends.close()


class TestUsage:
    def test_a_key_sees_its_own_spend_this_month_with_its_budget(self, paid: Rig) -> None:
        job = paid.submit(**SONG, provider="fake")
        paid.run_jobs()
        spend(paid, "alice", 0.5, month="2031-01")
        spend(paid, "bob", 0.3)
        report = paid.client.get("/v1/usage", headers=paid.auth()).json()
        alice = key_id(paid, "alice")
        assert report["month"] == month_of(time.time())
        [row] = report["items"]
        assert (row["key_id"], row["provider"], row["jobs"]) == (alice, "fake", 1)
        assert row["usd"] == pytest.approx(0.02) and row["seconds"] == pytest.approx(30.0)
        assert report["keys"] == [
            {"key_id": alice, "spent_usd": 0.02, "budget_usd": 1.0, "remaining_usd": 0.98}
        ]
        assert job["id"] not in json.dumps(report)

    def test_an_admin_sees_every_key_or_one_and_any_month(self, paid: Rig) -> None:
        spend(paid, "alice", 0.2)
        spend(paid, "bob", 0.3)
        spend(paid, "bob", 0.5, month="2031-01")
        admin = paid.auth("admin")
        everyone = paid.client.get("/v1/usage", headers=admin).json()
        assert {r["key_id"] for r in everyone["items"]} == {
            key_id(paid, "alice"),
            key_id(paid, "bob"),
        }
        assert len(everyone["keys"]) == 3 and everyone["total_usd"] == pytest.approx(0.5)
        bob = key_id(paid, "bob")
        old = paid.client.get(f"/v1/usage?key={bob}&month=2031-01", headers=admin).json()
        assert [(r["key_id"], r["usd"]) for r in old["items"]] == [(bob, 0.5)]
        assert old["keys"][0]["remaining_usd"] == 0.5

    def test_a_key_may_not_read_another_keys_usage(self, paid: Rig) -> None:
        bob = key_id(paid, "bob")
        assert paid.client.get(f"/v1/usage?key={bob}", headers=paid.auth()).status_code == 403
        alice = key_id(paid, "alice")
        assert paid.client.get(f"/v1/usage?key={alice}", headers=paid.auth()).status_code == 200

    def test_a_month_is_yyyy_mm(self, paid: Rig) -> None:
        response = paid.client.get("/v1/usage?month=2031-13", headers=paid.auth())
        assert response.status_code == 422 and response.json()["error"]["field"] == "month"

    def test_songforge_usage_reads_the_ledger_the_server_writes(
        self, paid: Rig, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        paid.submit(**SONG, provider="fake")
        paid.run_jobs()
        monkeypatch.setenv("SONGFORGE_BUDGET_USD_PER_MONTH", "1.0")  # as the server's config
        app = typer.Typer()
        register_provider_commands(app)
        result = CliRunner().invoke(
            app, ["usage", "--json", "--data-dir", str(paid.settings.data_dir)]
        )
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.stdout)["items"]
        assert (row["key_id"], row["provider"]) == (key_id(paid, "alice"), "fake")
        assert row["budget_usd"] == 1.0


class TestProviderList:
    def test_every_provider_with_capabilities_and_price_and_no_secret(self, tmp_path: Path) -> None:
        rig = provider_rig(tmp_path, fake_provider_token=TOKEN)
        response = rig.client.get("/v1/providers", headers=rig.auth())
        assert response.status_code == 200 and TOKEN not in response.text
        rows = {row["name"]: row for row in response.json()["items"]}
        assert {"songforge", "replicate", "suno", "fake"} <= set(rows)
        assert rows["songforge"]["configured"] and rows["songforge"]["in_default_policy"]
        assert rows["fake"]["price"]["usd"] == 0.02 and rows["fake"]["capabilities"]["max_clip_s"]
        assert not rows["suno"]["configured"] and rows["suno"]["reason"]
        assert all(row["settings"] is None and row["health"] is None for row in rows.values())
        admin = rig.client.get("/v1/providers", headers=rig.auth("admin"))
        masked = {r["name"]: r for r in admin.json()["items"]}["fake"]["settings"]
        assert TOKEN not in admin.text and masked["fake_provider_token"].startswith("fak****")
        rig.backends.close()

    def test_health_is_checked_only_when_an_admin_asks(self, paid: Rig) -> None:
        denied = paid.client.get("/v1/providers?check=true", headers=paid.auth())
        assert denied.status_code == 403
        checked = paid.client.get("/v1/providers?check=true", headers=paid.auth("admin"))
        fake = {r["name"]: r for r in checked.json()["items"]}["fake"]
        assert fake["health"] == {"ok": True, "detail": "fake provider"}


def signed(
    body: bytes, *, secret: str = WEBHOOK_SECRET, message_id: str = "msg_1", age_s: float = 0.0
) -> dict[str, str]:
    """Standard Webhooks headers, made with the reference implementation (not ours)."""
    when = datetime.fromtimestamp(time.time() - age_s, UTC)
    signature = standardwebhooks.Webhook(secret).sign(message_id, when, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


PREDICTION = json.dumps({"id": "p1", "status": "succeeded", "logs": "SECRET-BODY-MARKER"}).encode()
WEBHOOK = "/v1/providers/replicate/webhook"


class TestInboundWebhooks:
    def test_a_signed_webhook_is_accepted_without_an_api_key(self, paid: Rig) -> None:
        response = paid.client.post(WEBHOOK, content=PREDICTION, headers=signed(PREDICTION))
        assert response.status_code == 200 and response.json() == {"status": "accepted"}

    def test_a_replayed_webhook_id_answers_200_duplicate(self, paid: Rig) -> None:
        for expected in ("accepted", "duplicate", "duplicate"):
            response = paid.client.post(WEBHOOK, content=PREDICTION, headers=signed(PREDICTION))
            assert response.status_code == 200 and response.json()["status"] == expected

    def test_forged_stale_and_unsigned_webhooks_are_refused_and_logged_without_the_body(
        self, paid: Rig, caplog: pytest.LogCaptureFixture
    ) -> None:
        forged = signed(PREDICTION, secret="whsec_" + base64.b64encode(b"x" * 32).decode())
        stale = signed(PREDICTION, age_s=600, message_id="msg_2")
        with caplog.at_level(logging.INFO):
            for headers in (forged, stale, {"content-type": "application/json"}):
                response = paid.client.post(WEBHOOK, content=PREDICTION, headers=headers)
                assert response.status_code == 401, response.text
                assert response.json()["error"]["code"] == "webhook_rejected"
        assert "refused replicate webhook" in caplog.text
        assert "SECRET-BODY-MARKER" not in caplog.text and WEBHOOK_SECRET not in caplog.text
        accepted = paid.client.post(WEBHOOK, content=PREDICTION, headers=signed(PREDICTION))
        assert accepted.json()["status"] == "accepted"  # the refusals used up nothing

    def test_a_provider_without_webhooks_is_404_and_a_missing_secret_503(
        self, paid: Rig, rig: Rig
    ) -> None:
        assert paid.client.post("/v1/providers/fake/webhook", content=b"{}").status_code == 404
        unverifiable = rig.client.post(WEBHOOK, content=PREDICTION, headers=signed(PREDICTION))
        assert unverifiable.status_code == 503
        assert unverifiable.json()["error"]["code"] == "provider_unavailable"

    def test_sunos_unsigned_callback_is_only_a_hint(self, paid: Rig) -> None:
        body = json.dumps({"code": 200, "data": {"callbackType": "complete", "task_id": "t1"}})
        response = paid.client.post("/v1/providers/suno/webhook", content=body)
        assert response.status_code == 200 and response.json() == {"status": "accepted"}

    def test_webhooks_take_bodies_up_to_a_megabyte_other_routes_keep_their_limit(
        self, paid: Rig
    ) -> None:
        big = json.dumps({"id": "p1", "logs": "x" * 500_000}).encode()
        assert paid.client.post(WEBHOOK, content=big, headers=signed(big)).status_code == 200
        song = json.dumps({"prompt": "x" * 500_000}).encode()
        headers = {**paid.auth(), "content-type": "application/json"}
        assert paid.client.post("/v1/songs", content=song, headers=headers).status_code == 413
        huge = json.dumps({"id": "p2", "logs": "x" * 1_100_000}).encode()
        assert paid.client.post(WEBHOOK, content=huge, headers=signed(huge)).status_code == 413


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
    return found


def test_a_replicate_job_finishes_through_its_signed_webhook_and_a_forged_one_changes_nothing(
    tmp_path: Path,
) -> None:
    emu = ReplicateEmulator()
    port = free_port()
    with serve(emu.app()) as emu_url:
        emu.base_url = emu_url
        rig = provider_rig(
            tmp_path,
            replicate_api_token=emu.token,
            replicate_base_url=emu.api,
            replicate_webhook_secret=emu.secret,
            public_base_url=f"http://127.0.0.1:{port}",
            provider_fetch_allow_http=["127.0.0.1"],
        )
        with running(rig.app, port) as api:
            created = httpx.post(
                f"{api.url}/v1/songs", json={**SONG, "provider": "replicate"}, headers=rig.auth()
            )
            assert created.status_code == 202, created.text
            job_url = f"{api.url}/v1/songs/{created.json()['id']}"
            worker = threading.Thread(target=rig.worker.run_once, kwargs={"wait_s": 5})
            worker.start()
            (pid,) = wait_for(lambda: list(emu.predictions), "the prediction")
            assert emu.creates[0]["webhook"] == f"{api.url}/v1/providers/replicate/webhook"

            with emu.lock:  # a forger claims the prediction failed
                emu.predictions[pid].update(status="failed", error="forged failure")
            assert emu.deliver(pid, secret=ReplicateEmulator().secret) == 401
            assert emu.deliver(pid, timestamp=emu.stale(600)) == 401
            time.sleep(0.5)  # longer than the worker's inbox check
            running_job = httpx.get(job_url, headers=rig.auth()).json()
            assert running_job["status"] == "running" and running_job["error"] is None

            with emu.lock:
                emu.predictions[pid].update(status="processing", error=None)
            emu.finish(pid, deliver=False)
            assert emu.deliver(pid, message_id="msg_done") == 200
            worker.join(30)
            done = httpx.get(job_url, headers=rig.auth()).json()
            assert done["status"] == "succeeded", done["error"]
            assert emu.deliver(pid, message_id="msg_done") == 200  # a duplicate: nothing changes
            assert httpx.get(job_url, headers=rig.auth()).json() == done
    assert emu.reads_of(pid) == 0  # finished by the webhook, never polled
    assert done["provider"] == "replicate"
    assert done["cost"]["actual_usd"] == pytest.approx(emu.predict_time_s * 0.000975)
    assert done["cost"]["estimated_usd"] > 0
    rig.backends.close()
