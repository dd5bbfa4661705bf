"""`songforge providers` and `songforge usage`: every provider listed, no secret shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from songforge.cli_providers import register
from songforge.providers.cost import SqliteUsageLedger, UsageEntry

TOKEN = "r8_Zx9secretTOKENvalue0123456789cdef"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("SONGFORGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SONGFORGE_FAKE_PROVIDER_TOKEN", TOKEN)
    monkeypatch.setenv("SONGFORGE_FAKE_PROVIDER", "max_clip_s=30,price_usd=0.02")
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # typer needs two commands to keep subcommand names
    return app


def run(app: typer.Typer, *args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_providers_json_lists_every_provider_with_capabilities_and_price(
    cli: typer.Typer,
) -> None:
    rows = {row["name"]: row for row in json.loads(run(cli, "providers", "--json"))["providers"]}
    assert {"songforge", "musicgen", "stable-audio", "suno", "lyria", "fake"} <= set(rows)
    engine = rows["songforge"]
    assert engine["installed"] and engine["configured"] and engine["in_default_policy"]
    assert engine["capabilities"]["max_clip_s"] is None and engine["capabilities"]["stems"]
    assert engine["price"]["kind"] == "free"
    assert engine["health"] is None  # only checked with --check
    assert rows["fake"]["price"] == {
        "kind": "per_request",
        "usd": 0.02,
        "compute_s_per_audio_s": 1.0,
        "notes": "",
    }


def test_a_token_never_appears_in_providers_json(cli: typer.Typer) -> None:
    output = run(cli, "providers", "--json", "--check")
    assert TOKEN not in output
    fake = next(r for r in json.loads(output)["providers"] if r["name"] == "fake")
    assert fake["settings"]["fake_provider_token"] == "r8_****cdef"
    assert fake["health"] == {"ok": True, "detail": "fake provider"}


def test_the_providers_table_shows_readiness_without_secrets(cli: typer.Typer) -> None:
    output = run(cli, "providers")
    assert "songforge" in output and "free" in output
    assert TOKEN not in output


def test_usage_reports_spend_per_key_provider_and_month(cli: typer.Typer, tmp_path: Path) -> None:
    ledger = SqliteUsageLedger(tmp_path / "usage.db")
    ledger.record(UsageEntry("key_a", "suno", "2031-05", 0.12, 240.0, "j1", 0.0))
    ledger.record(UsageEntry("key_a", "suno", "2031-05", 0.06, 120.0, "j2", 0.0))
    ledger.record(UsageEntry("key_b", "stable-audio", "2031-06", 0.2, 47.0, "j3", 0.0))
    report = json.loads(run(cli, "usage", "--json"))
    assert report["total_usd"] == pytest.approx(0.38)
    assert [(i["key_id"], i["provider"], i["month"], i["jobs"]) for i in report["items"]] == [
        ("key_a", "suno", "2031-05", 2),
        ("key_b", "stable-audio", "2031-06", 1),
    ]
    only = json.loads(run(cli, "usage", "--json", "--key", "key_b"))
    assert [i["key_id"] for i in only["items"]] == ["key_b"]
    assert "key_a" in run(cli, "usage")
