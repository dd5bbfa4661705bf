"""The orchestrator: failover, retries, circuits, deadlines, budgets, spend and secrets —
driven end to end through the in-package fake provider with an injected clock."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from songforge.errors import (
    BudgetExceeded,
    Cancelled,
    ContentRefused,
    InvalidRequest,
    ProviderError,
    ProviderUnavailable,
)
from songforge.progress import Progress
from songforge.providers import (
    CircuitBreakers,
    FakeProvider,
    InMemoryUsageLedger,
    PriceKind,
    PriceModel,
    ProviderGenerator,
    ProviderRegistry,
    Resilience,
    RetryPolicy,
)
from songforge.providers.cost import UsageEntry, month_of
from songforge.request import SongRequest
from songforge.settings import Settings
from songforge.song import Song

TOKEN = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
NOW = 1_950_000_000.0  # a fixed wall clock for the ledger's months
PER_CLIP = PriceModel(kind=PriceKind.PER_REQUEST, usd=0.02)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Rig:
    generator: ProviderGenerator
    clock: ManualClock
    ledger: InMemoryUsageLedger

    def make(self, **fields: Any) -> Song:
        key_id = fields.pop("key_id", None)
        progress = fields.pop("progress", lambda _p: None)
        request = SongRequest.model_validate({"prompt": "warm lo-fi beat", "seed": 5, **fields})
        return self.generator.generate(request, progress, key_id=key_id, job_id="job-1")


def rig(
    tmp_path: Path,
    *providers: FakeProvider,
    breaker_failures: int = 5,
    **settings: Any,
) -> Rig:
    config = Settings(data_dir=tmp_path, use_soundfont=False, fake_provider_token=TOKEN, **settings)
    clock = ManualClock()
    ledger = InMemoryUsageLedger()
    generator = ProviderGenerator(
        config,
        registry=ProviderRegistry.with_providers(config, providers),
        resilience=Resilience(
            retry=RetryPolicy(max_attempts=3, base_s=1.0, max_s=10.0),
            breakers=CircuitBreakers(breaker_failures, cooldown_s=60.0, clock=clock),
            clock=clock,
            sleep=clock.sleep,
            rng=random.Random(0),
        ),
        ledger=ledger,
        wall_clock=lambda: NOW,
    )
    return Rig(generator, clock, ledger)


def fake(name: str = "fake", **options: Any) -> FakeProvider:
    options.setdefault("max_clip_s", 20.0)
    return FakeProvider(name, token=options.pop("token", None), **options)


# --- retries and failover --------------------------------------------------------------------


def test_a_provider_that_fails_twice_with_503_then_succeeds_is_retried_and_its_song_made(
    tmp_path: Path,
) -> None:
    flaky = fake(failures=[503, 503], max_clip_s=None, sample_rate_hz=32000)
    setup = rig(tmp_path, flaky)
    song = setup.make(provider=["fake"], duration=30)
    assert song.duration_s == pytest.approx(30.0, abs=1e-3)
    assert [s["attempts"] for s in song.metadata["segments"]] == [3]
    assert len(setup.clock.slept) == 2 and len(flaky.calls) == 3


def test_a_refused_prompt_is_not_retried_and_not_failed_over(tmp_path: Path) -> None:
    strict, backup = fake("strict", failures=["refuse"]), fake("backup")
    with pytest.raises(ContentRefused, match="refused"):
        rig(tmp_path, strict, backup).make(provider=["strict", "backup"], duration=30)
    assert len(strict.calls) == 1 and backup.calls == []


def test_a_refused_prompt_fails_over_when_the_policy_allows(tmp_path: Path) -> None:
    strict, backup = fake("strict", fail_always="refuse"), fake("backup")
    setup = rig(tmp_path, strict, backup, provider_failover_on_refusal=True)
    song = setup.make(provider=["strict", "backup"], duration=30)
    assert song.metadata["providers"] == ["backup"]
    assert len(strict.calls) == 1


def test_a_failing_provider_fails_over_to_the_next_in_the_request(tmp_path: Path) -> None:
    down, backup = fake("down", fail_always=500), fake("backup")
    song = rig(tmp_path, down, backup).make(provider=["down", "backup"], duration=30)
    assert {s["provider"] for s in song.metadata["segments"]} == {"backup"}
    assert all(s["failovers"] == 1 for s in song.metadata["segments"])
    assert len(down.calls) == 3  # retried before giving up
    outcomes = [(e["provider"], e["outcome"]) for e in song.metadata["provider_chain"]]
    assert ("down", "provider_error 500") in outcomes and ("backup", "made") in outcomes


def test_a_provider_failing_mid_song_hands_the_rest_to_the_next(tmp_path: Path) -> None:
    first = fake("first", failures=[None, None, 502, 502, 502])
    backup = fake("backup", continuation=True, sample_rate_hz=32000)
    song = rig(tmp_path, first, backup).make(provider=["first", "backup"], duration=60)
    makers = [s["provider"] for s in song.metadata["segments"]]
    assert makers[:2] == ["first", "first"] and set(makers[2:]) == {"backup"}
    assert backup.calls[0].continuation is not None  # it heard the song so far
    assert song.duration_s == pytest.approx(60.0, abs=1e-3)
    assert song.metadata["longform"]["seam_quality"]["seamless"]


def test_a_provider_that_names_its_clips_is_asked_to_extend_the_previous_one(
    tmp_path: Path,
) -> None:
    provider = fake("namer")
    song = rig(tmp_path, provider).make(provider=["namer"], duration=45)
    first, second = provider.calls[0], provider.calls[1]
    assert first.extend_clip_id is None
    assert second.extend_clip_id == "namer-1"
    assert second.extend_at_s == song.metadata["segments"][1]["start_s"]
    assert first.time_signature == song.metadata["time_signature"]


def test_every_provider_failing_is_one_clear_error_naming_each(tmp_path: Path) -> None:
    setup = rig(tmp_path, fake("one", fail_always=503), fake("two", fail_always=400))
    with pytest.raises(ProviderError) as caught:
        setup.make(provider=["one", "two"], duration=30)
    message = caught.value.message
    assert "no provider could make this song" in message
    assert "one: one: upstream answered 503" in message and "two:" in message
    assert caught.value.retryable  # a 503 may pass later: the job may be retried


def test_an_open_circuit_skips_the_provider_until_its_cooldown(tmp_path: Path) -> None:
    flaky = fake("flaky", fail_always=503, max_clip_s=None)
    backup = fake("backup", max_clip_s=None)
    setup = rig(tmp_path, flaky, backup, breaker_failures=2)
    song = setup.make(provider=["flaky", "backup"], duration=30)
    assert len(flaky.calls) == 2  # the second failure opened the circuit
    assert song.metadata["providers"] == ["backup"]
    with pytest.raises(ProviderError, match="circuit is open"):
        setup.make(provider=["flaky"], duration=30)
    assert len(flaky.calls) == 2  # skipped without a call
    setup.clock.now += 60.0
    flaky.fail_always = None
    song = setup.make(provider=["flaky", "backup"], duration=30)
    assert song.metadata["providers"] == ["flaky"] and len(flaky.calls) == 3


def test_a_slow_provider_times_out_and_the_next_one_makes_the_song(tmp_path: Path) -> None:
    slow = FakeProvider("slow", max_clip_s=None, latency_s=0.5)
    backup = fake("backup", max_clip_s=None)
    setup = rig(tmp_path, slow, backup, provider_timeouts="slow=0.02", provider_retry_attempts=1)
    song = setup.make(provider=["slow", "backup"], duration=30)
    assert song.metadata["providers"] == ["backup"]
    chain = json.dumps(song.metadata["provider_chain"])
    assert "did not answer within 0.02 s" in chain


def test_the_deadline_stops_a_song_that_takes_too_long(tmp_path: Path) -> None:
    setup = rig(tmp_path, provider_deadline_s=1000.0)
    sluggish = fake("sluggish", latency_s=400.0, sleep=setup.clock.sleep)
    setup.generator.registry.add(sluggish)
    with pytest.raises(ProviderError, match="deadline") as caught:
        setup.make(provider=["sluggish"], duration=90)
    assert not caught.value.retryable
    assert len(sluggish.calls) == 3  # the fourth clip would start after the deadline


def test_unconfigured_providers_are_skipped_and_said_so(tmp_path: Path) -> None:
    keyless, backup = fake("keyless", is_configured=False), fake("backup")
    song = rig(tmp_path, keyless, backup).make(provider=["keyless", "backup"], duration=30)
    assert keyless.calls == [] and song.metadata["providers"] == ["backup"]
    assert song.metadata["provider_chain"][0]["outcome"] == "skipped"


def test_no_usable_provider_is_unavailable_with_the_reasons(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable, match="keyless: not configured"):
        rig(tmp_path, fake("keyless", is_configured=False)).make(provider=["keyless"])


def test_an_unknown_provider_is_a_bad_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="unknown provider"):
        rig(tmp_path).make(provider=["no-such-thing"])


def test_progress_covers_every_segment_and_a_cancel_stops_the_song(tmp_path: Path) -> None:
    provider = fake("fake")
    seen: list[Progress] = []

    def cancel_on_second(progress: Progress) -> None:
        seen.append(progress)
        if progress.stage.startswith("segment 2/"):
            raise Cancelled("cancelled by its owner")

    with pytest.raises(Cancelled):
        rig(tmp_path, provider).make(provider=["fake"], duration=60, progress=cancel_on_second)
    assert len(provider.calls) == 1
    assert seen[0].stage == "plan" and seen[1].stage.startswith("segment 1/")
    assert all(p.total >= p.done for p in seen)


# --- metadata, cost and budgets ---------------------------------------------------------------


def test_song_metadata_says_who_made_which_segment_and_the_total_cost(tmp_path: Path) -> None:
    setup = rig(tmp_path, fake("fake", price=PER_CLIP))
    song = setup.make(provider=["fake"], duration=45)
    segments = song.metadata["segments"]
    assert len(segments) >= 3
    fields = {"start_s", "end_s", "provider", "model", "cost_usd", "attempts", "failovers"}
    assert all(fields <= set(segment) for segment in segments)
    assert segments[0]["start_s"] == 0.0 and segments[-1]["end_s"] == 45.0
    assert all(a["end_s"] == b["start_s"] for a, b in itertools.pairwise(segments))
    cost = song.metadata["cost"]
    assert cost["actual_usd"] == pytest.approx(0.02 * len(segments))
    assert cost["estimated_usd"] == pytest.approx(cost["actual_usd"])
    assert song.metadata["loudness"]["integrated_lufs"] == pytest.approx(-14.0, abs=0.5)


def test_spend_is_recorded_against_the_key_and_month(tmp_path: Path) -> None:
    setup = rig(tmp_path, fake("fake", price=PER_CLIP))
    song = setup.make(provider=["fake"], duration=40, key_id="key_a")
    [row] = setup.ledger.summary()
    assert (row.key_id, row.provider, row.month, row.jobs) == ("key_a", "fake", month_of(NOW), 1)
    assert row.usd == pytest.approx(song.metadata["cost"]["actual_usd"])


def test_spend_of_a_failed_song_is_still_recorded(tmp_path: Path) -> None:
    partial = fake("partial", price=PER_CLIP, failures=[None, 400])
    setup = rig(tmp_path, partial)
    with pytest.raises(ProviderError):
        setup.make(provider=["partial"], duration=60, key_id="key_a")
    assert setup.ledger.spent_usd("key_a", month_of(NOW)) == pytest.approx(0.02)


def test_the_estimate_lists_each_provider_in_the_chain(tmp_path: Path) -> None:
    setup = rig(tmp_path, fake("paid", price=PER_CLIP), fake("keyless", is_configured=False))
    request = SongRequest(prompt="lo-fi", duration=180, provider=["paid", "keyless", "songforge"])
    estimate = setup.generator.estimate(request)
    paid, keyless, engine = estimate.items
    assert paid.clips >= 9 and paid.usd == pytest.approx(0.02 * paid.clips)
    assert not keyless.available and "not configured" in keyless.note
    assert engine.free and engine.usd == 0.0 and engine.clips == 1
    assert estimate.expected is paid and estimate.to_dict()["expected_provider"] == "paid"


def spend(setup: Rig, key: str, usd: float) -> None:
    setup.ledger.record(UsageEntry(key, "paid", month_of(NOW), usd, 60.0, "earlier", NOW))


def test_a_paid_provider_over_budget_falls_back_to_a_free_one(tmp_path: Path) -> None:
    paid, free = fake("paid", price=PER_CLIP), fake("free", max_clip_s=None)
    setup = rig(tmp_path, paid, free, budget_usd_per_month=5.0)
    spend(setup, "key_a", 5.0)
    song = setup.make(provider=["paid", "free"], duration=30, key_id="key_a")
    assert paid.calls == []
    assert song.metadata["provider"] == "free" and song.metadata["cost"]["actual_usd"] == 0.0
    skipped = song.metadata["provider_chain"][0]
    assert skipped["outcome"] == "skipped" and "budget" in skipped["reason"]


def test_a_paid_only_chain_over_budget_is_refused_with_spent_and_budget(tmp_path: Path) -> None:
    setup = rig(tmp_path, fake("paid", price=PER_CLIP), budget_usd_per_month=5.0)
    spend(setup, "key_a", 5.0)
    request = SongRequest(prompt="lo-fi", duration=30, provider=["paid"])
    with pytest.raises(BudgetExceeded, match=r"\$5\.00 of \$5\.00"):
        setup.generator.check_budget("key_a", request)
    with pytest.raises(BudgetExceeded):
        setup.make(provider=["paid"], duration=30, key_id="key_a")
    setup.generator.check_budget("key_b", request)  # another key still has its budget


def test_the_budget_check_lets_a_chain_with_a_free_fallback_through(tmp_path: Path) -> None:
    setup = rig(tmp_path, fake("paid", price=PER_CLIP), budget_usd_per_month=1.0)
    spend(setup, "key_a", 1.0)
    request = SongRequest(prompt="lo-fi", duration=30, provider=["paid", "songforge"])
    setup.generator.check_budget("key_a", request)


def test_per_key_budgets_override_the_default(tmp_path: Path) -> None:
    setup = rig(
        tmp_path,
        fake("paid", price=PER_CLIP),
        budget_usd_per_month=1.0,
        budget_usd_per_key="key_big=100",
    )
    spend(setup, "key_big", 5.0)
    song = setup.make(provider=["paid"], duration=30, key_id="key_big")
    assert song.metadata["providers"] == ["paid"]


# --- secrets ----------------------------------------------------------------------------------


def test_a_token_never_appears_in_an_error_from_a_failing_provider(tmp_path: Path) -> None:
    secret = Settings(fake_provider_token=TOKEN).fake_provider_token
    leaky = fake("leaky", fail_always=500, token=secret)
    with pytest.raises(ProviderError) as caught:
        rig(tmp_path, leaky).make(provider=["leaky"], duration=30)
    assert TOKEN not in str(caught.value) and "****" in str(caught.value)


def test_a_token_never_appears_in_song_metadata(tmp_path: Path) -> None:
    secret = Settings(fake_provider_token=TOKEN).fake_provider_token
    leaky = fake("leaky", fail_always=503, token=secret)
    refusing = fake("refusing", failures=["refuse"], token=secret)
    setup = rig(tmp_path, leaky, refusing, fake("backup"), provider_failover_on_refusal=True)
    song = setup.make(provider=["leaky", "refusing", "backup"], duration=30)
    sheet = json.dumps(song.metadata)
    assert TOKEN not in sheet
    assert "upstream answered 503" in sheet  # the error is kept, the token masked
