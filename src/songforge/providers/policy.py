"""Which providers a request goes to, in which order.

A request that names providers (``provider=["stable-audio", "songforge"]``) gets exactly that
fallback order. Otherwise the default policy applies: the ``provider_policy`` setting, with free
and local providers tried first when ``provider_prefer_free`` is on. Either way, providers that
are not installed or not configured are skipped (with the reason recorded), and so are paid
providers a key's budget cannot cover.

Refusals: a prompt refused by one provider's moderation is *not* sent on to the next provider
unless ``provider_failover_on_refusal`` is set. The refusal is about the words, not the
provider; quietly shopping a refused prompt around other services would surprise the user (and
the other services), so by default the job fails with a clear ``content_refused`` error."""

from __future__ import annotations

from dataclasses import dataclass

from songforge.errors import ProviderUnavailable
from songforge.providers.base import Capabilities, PriceKind, Provider
from songforge.providers.registry import ProviderRegistry
from songforge.request import SongRequest
from songforge.settings import Settings


@dataclass(frozen=True, slots=True)
class ProviderPolicy:
    """The rules for choosing providers, as a value (built from Settings at the edge)."""

    default_order: tuple[str, ...] = ("songforge",)
    prefer_free: bool = True
    failover_on_refusal: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderPolicy:
        return cls(
            default_order=tuple(settings.provider_policy) or ("songforge",),
            prefer_free=settings.provider_prefer_free,
            failover_on_refusal=settings.provider_failover_on_refusal,
        )

    def names(self, request: SongRequest, registry: ProviderRegistry) -> list[str]:
        """The fallback order for ``request`` (unknown names raise InvalidRequest)."""
        if request.provider:
            return _unique(registry.validate(request.provider))
        names = _unique(registry.validate(self.default_order))
        if not self.prefer_free:
            return names
        return sorted(names, key=lambda name: _cost_rank(registry, name))


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _cost_rank(registry: ProviderRegistry, name: str) -> int:
    """0 free and local, 1 free, 2 paid, 3 unknown (cannot be built here)."""
    try:
        caps = registry.get(name).capabilities
    except ProviderUnavailable:
        return 3
    if is_free(caps):
        return 0 if caps.local else 1
    return 2


def is_free(capabilities: Capabilities) -> bool:
    return capabilities.price.kind is PriceKind.FREE or capabilities.price.usd == 0.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """One provider in a request's chain: usable, or skipped with a reason."""

    name: str
    provider: Provider | None
    skipped: str = ""  # why it will not be tried ("" when usable)
    budget_skipped: bool = False

    @property
    def usable(self) -> bool:
        return self.provider is not None and not self.skipped


def candidates(
    request: SongRequest, registry: ProviderRegistry, policy: ProviderPolicy
) -> list[Candidate]:
    """Every provider of the request's chain, each usable or skipped with its reason."""
    chain = []
    for name in policy.names(request, registry):
        status = registry.status(name)
        if not status.usable:
            chain.append(Candidate(name, None, status.reason))
            continue
        chain.append(Candidate(name, registry.get(name)))
    return chain


__all__ = ["Candidate", "ProviderPolicy", "candidates", "is_free"]
