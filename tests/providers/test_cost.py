"""The usage ledger contract (every backend passes it), monthly budgets and price estimates."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from songforge.errors import BudgetExceeded
from songforge.providers.base import PriceKind, PriceModel
from songforge.providers.cost import (
    BudgetGuard,
    BudgetPolicy,
    InMemoryUsageLedger,
    SqliteUsageLedger,
    UsageEntry,
    UsageLedger,
    month_of,
    open_ledger,
    record_usage,
    spend_from_metadata,
)
from songforge.settings import Settings

MAY = datetime(2031, 5, 20, tzinfo=UTC).timestamp()
JUNE = datetime(2031, 6, 2, tzinfo=UTC).timestamp()


def entry(
    key: str = "k1",
    provider: str = "suno",
    month: str = "2031-05",
    usd: float = 0.5,
    seconds: float = 30.0,
    job: str = "j1",
) -> UsageEntry:
    return UsageEntry(key, provider, month, usd, seconds, job, MAY)


# A new backend adds one line here and must pass the whole contract.
BACKENDS: dict[str, Callable[[Path], UsageLedger]] = {
    "memory": lambda _: InMemoryUsageLedger(),
    "sqlite": lambda tmp: SqliteUsageLedger(tmp / "usage.db"),
}


@pytest.fixture(params=sorted(BACKENDS))
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UsageLedger]:
    made = BACKENDS[request.param](tmp_path)
    yield made
    close = getattr(made, "close", None)
    if close:
        close()


def test_a_new_ledger_has_spent_nothing(ledger: UsageLedger) -> None:
    assert ledger.spent_usd("k1", "2031-05") == 0.0
    assert ledger.summary() == []


def test_spend_adds_up_per_key_and_month(ledger: UsageLedger) -> None:
    ledger.record(entry(usd=0.5))
    ledger.record(entry(usd=0.25, provider="stable-audio", job="j2"))
    ledger.record(entry(usd=9.0, key="k2"))
    ledger.record(entry(usd=7.0, month="2031-06"))
    assert ledger.spent_usd("k1", "2031-05") == pytest.approx(0.75)
    assert ledger.spent_usd("k2", "2031-05") == pytest.approx(9.0)
    assert ledger.spent_usd("k1", "2031-06") == pytest.approx(7.0)


def test_summary_has_one_row_per_key_provider_and_month(ledger: UsageLedger) -> None:
    ledger.record(entry(usd=0.5, seconds=30, job="j1"))
    ledger.record(entry(usd=0.5, seconds=20, job="j2"))
    ledger.record(entry(usd=0.5, seconds=20, job="j2"))  # a second clip of the same job
    ledger.record(entry(provider="lyria", usd=0.06))
    ledger.record(entry(key="k2", month="2031-06"))
    rows = [
        (r.month, r.key_id, r.provider, round(r.usd, 6), r.seconds, r.jobs)
        for r in ledger.summary()
    ]
    assert rows == [
        ("2031-05", "k1", "lyria", 0.06, 30.0, 1),
        ("2031-05", "k1", "suno", 1.5, 70.0, 2),
        ("2031-06", "k2", "suno", 0.5, 30.0, 1),
    ]


def test_summary_filters_by_key_and_month(ledger: UsageLedger) -> None:
    ledger.record(entry(key="k1"))
    ledger.record(entry(key="k2"))
    ledger.record(entry(key="k1", month="2031-06"))
    assert {r.key_id for r in ledger.summary(key_id="k2")} == {"k2"}
    assert [(r.key_id, r.month) for r in ledger.summary(key_id="k1", month="2031-06")] == [
        ("k1", "2031-06")
    ]


def test_negative_or_impossible_amounts_are_refused(ledger: UsageLedger) -> None:
    with pytest.raises(ValueError):
        ledger.record(entry(usd=-1.0))
    with pytest.raises(ValueError):
        ledger.record(entry(usd=float("nan")))


def test_concurrent_writers_lose_nothing(ledger: UsageLedger) -> None:
    def write(worker: int) -> None:
        for i in range(25):
            ledger.record(entry(usd=0.01, job=f"w{worker}-{i}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.spent_usd("k1", "2031-05") == pytest.approx(1.0)
    assert ledger.summary()[0].jobs == 100


def test_the_sqlite_ledger_survives_a_restart(tmp_path: Path) -> None:
    SqliteUsageLedger(tmp_path / "usage.db").record(entry(usd=2.5))
    assert SqliteUsageLedger(tmp_path / "usage.db").spent_usd("k1", "2031-05") == 2.5


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_ledger(Settings(usage_backend="memory")), InMemoryUsageLedger)
    sqlite = open_ledger(Settings(data_dir=tmp_path))
    assert isinstance(sqlite, SqliteUsageLedger)
    assert Path(sqlite.path) == tmp_path / "usage.db"


def test_months_are_utc_calendar_months() -> None:
    assert month_of(MAY) == "2031-05"
    assert month_of(datetime(2031, 5, 31, 23, 59, tzinfo=UTC).timestamp()) == "2031-05"
    assert month_of(JUNE) == "2031-06"


def test_record_usage_writes_one_entry_per_provider_that_made_something() -> None:
    ledger = InMemoryUsageLedger()
    spend = {"suno": (0.12, 240.0), "songforge": (0.0, 180.0), "lyria": (0.0, 0.0)}
    entries = record_usage(ledger, key_id="k1", job_id="j9", spend=spend, when=MAY)
    assert [(e.provider, e.usd, e.month) for e in entries] == [
        ("suno", 0.12, "2031-05"),
        ("songforge", 0.0, "2031-05"),
    ]


def test_spend_is_read_back_from_a_songs_metadata() -> None:
    metadata = {
        "segments": [
            {"provider": "fake", "start_s": 0.0, "end_s": 28.0, "cost_usd": 0.02},
            {"provider": "fake", "start_s": 28.0, "end_s": 56.0, "cost_usd": 0.02},
        ],
        "cost": {"discarded": [{"provider": "suno", "cost_usd": 0.1, "audio_s": 30.0}]},
    }
    assert spend_from_metadata(metadata) == {"fake": (0.04, 56.0), "suno": (0.1, 30.0)}


# --- budgets -------------------------------------------------------------------------------


def guard(ledger: UsageLedger, default: float | None = 5.0, **per_key: float) -> BudgetGuard:
    return BudgetGuard(ledger, BudgetPolicy(default, per_key), clock=lambda: MAY)


def test_a_key_within_budget_may_spend() -> None:
    ledger = InMemoryUsageLedger()
    ledger.record(entry(usd=4.0))
    assert guard(ledger).allows("k1", 1.0)
    assert not guard(ledger).allows("k1", 1.01)


def test_free_work_is_always_allowed_even_over_budget() -> None:
    ledger = InMemoryUsageLedger()
    ledger.record(entry(usd=50.0))
    assert guard(ledger).allows("k1", 0.0)


def test_per_key_budgets_override_the_default() -> None:
    ledger = InMemoryUsageLedger()
    ledger.record(entry(key="big", usd=40.0))
    assert guard(ledger, 5.0, big=100.0).allows("big", 10.0)
    assert guard(ledger, 5.0, big=100.0).remaining_usd("big") == pytest.approx(60.0)


def test_without_a_budget_spend_is_unlimited() -> None:
    ledger = InMemoryUsageLedger()
    ledger.record(entry(usd=1e6))
    assert guard(ledger, default=None).allows("k1", 1e6)
    assert guard(ledger, default=None).remaining_usd("k1") is None


def test_last_months_spend_does_not_count_this_month() -> None:
    ledger = InMemoryUsageLedger()
    ledger.record(entry(usd=5.0, month="2031-04"))
    assert guard(ledger).remaining_usd("k1") == 5.0


def test_the_refusal_says_what_was_spent_of_what_budget() -> None:
    ledger = InMemoryUsageLedger()
    ledger.record(entry(usd=4.8))
    refusal = guard(ledger).refusal("k1", 0.4, "stable-audio")
    assert isinstance(refusal, BudgetExceeded)
    assert "$4.80 of $5.00" in refusal.message
    assert "2031-05" in refusal.message and "stable-audio" in refusal.message


def test_settings_give_default_and_per_key_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONGFORGE_BUDGET_USD_PER_MONTH", "5")
    monkeypatch.setenv("SONGFORGE_BUDGET_USD_PER_KEY", "key_a=50, key_b=0")
    policy = BudgetPolicy.from_settings(Settings())
    assert policy.budget_for("anyone") == 5.0
    assert policy.budget_for("key_a") == 50.0
    assert policy.budget_for("key_b") == 0.0


# --- price models ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "audio_s", "requests", "usd"),
    [
        (PriceModel(), 180.0, 6, 0.0),
        (PriceModel(kind=PriceKind.PER_REQUEST, usd=0.2), 180.0, 6, 1.2),
        (PriceModel(kind=PriceKind.PER_AUDIO_SECOND, usd=0.001), 180.0, 6, 0.18),
        (
            PriceModel(kind=PriceKind.PER_COMPUTE_SECOND, usd=0.001, compute_s_per_audio_s=2.0),
            180.0,
            6,
            0.36,
        ),
    ],
)
def test_price_models_estimate_the_song(
    model: PriceModel, audio_s: float, requests: int, usd: float
) -> None:
    assert model.estimate_usd(audio_s, requests) == pytest.approx(usd)
