"""Choosing providers: the request's fallback order, or the default policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from songforge.errors import InvalidRequest
from songforge.providers import FakeProvider, PriceKind, PriceModel, ProviderPolicy
from songforge.providers.policy import candidates
from songforge.providers.registry import ProviderRegistry
from songforge.request import SongRequest
from songforge.settings import Settings

PAID = PriceModel(kind=PriceKind.PER_REQUEST, usd=0.2)


@pytest.fixture
def registry(tmp_path: Path) -> ProviderRegistry:
    return ProviderRegistry.with_providers(
        Settings(data_dir=tmp_path),
        [
            FakeProvider("paid", price=PAID, local=False),
            FakeProvider("free-remote", local=False),
            FakeProvider("keyless", is_configured=False),
        ],
    )


def request(**fields: object) -> SongRequest:
    return SongRequest.model_validate({"prompt": "calm piano", **fields})


def test_a_request_naming_providers_gets_exactly_that_order(registry: ProviderRegistry) -> None:
    policy = ProviderPolicy()
    order = policy.names(request(provider=["paid", "songforge", "paid"]), registry)
    assert order == ["paid", "songforge"]


def test_a_comma_separated_provider_field_is_an_order_too(registry: ProviderRegistry) -> None:
    assert ProviderPolicy().names(request(provider="paid, songforge"), registry) == [
        "paid",
        "songforge",
    ]


def test_the_default_policy_is_the_offline_engine(registry: ProviderRegistry) -> None:
    assert ProviderPolicy().names(request(), registry) == ["songforge"]


def test_the_default_policy_tries_free_and_local_providers_first(
    registry: ProviderRegistry,
) -> None:
    policy = ProviderPolicy(default_order=("paid", "free-remote", "songforge"))
    assert policy.names(request(), registry) == ["songforge", "free-remote", "paid"]


def test_without_prefer_free_the_configured_order_stands(registry: ProviderRegistry) -> None:
    policy = ProviderPolicy(default_order=("paid", "songforge"), prefer_free=False)
    assert policy.names(request(), registry) == ["paid", "songforge"]


def test_an_explicit_order_is_not_reordered_by_price(registry: ProviderRegistry) -> None:
    assert ProviderPolicy().names(request(provider=["paid", "songforge"]), registry)[0] == "paid"


def test_unknown_names_are_bad_requests(registry: ProviderRegistry) -> None:
    with pytest.raises(InvalidRequest, match="unknown provider 'nope'"):
        ProviderPolicy().names(request(provider=["nope"]), registry)
    with pytest.raises(InvalidRequest):
        ProviderPolicy(default_order=("nope",)).names(request(), registry)


def test_unconfigured_or_missing_providers_are_skipped_with_a_reason(
    registry: ProviderRegistry,
) -> None:
    chain = candidates(
        request(provider=["keyless", "paid", "songforge"]), registry, ProviderPolicy()
    )
    assert [(c.name, c.usable) for c in chain] == [
        ("keyless", False),
        ("paid", True),
        ("songforge", True),
    ]
    assert "not configured" in chain[0].skipped


def test_the_policy_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONGFORGE_PROVIDER_POLICY", "stable-audio, songforge")
    monkeypatch.setenv("SONGFORGE_PROVIDER_FAILOVER_ON_REFUSAL", "true")
    policy = ProviderPolicy.from_settings(Settings())
    assert policy.default_order == ("stable-audio", "songforge")
    assert policy.failover_on_refusal
