"""Music generation providers: the protocol, a registry of providers by name, the policy that
orders them, resilience, cost accounting, and the orchestrator every entry point calls.

Adapters live in their own modules (``songforge.providers.musicgen`` …) and are imported only
when their provider is first used.

The names below are loaded on first use (PEP 562), so importing one submodule (the CLI's log
redaction, say) does not import the orchestrator and everything it needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from songforge.errors import (
        BudgetExceeded,
        ContentRefused,
        ProviderError,
        ProviderUnavailable,
    )
    from songforge.providers.base import (
        AudioPrompt,
        Capabilities,
        Clip,
        ClipRequest,
        Health,
        PriceKind,
        PriceModel,
        Provider,
    )
    from songforge.providers.cost import (
        BudgetGuard,
        BudgetPolicy,
        CostEstimate,
        InMemoryUsageLedger,
        ProviderEstimate,
        SqliteUsageLedger,
        UsageEntry,
        UsageLedger,
        UsageRow,
        open_ledger,
        record_usage,
    )
    from songforge.providers.engine_provider import EngineProvider, SongMaker
    from songforge.providers.fake import FakeProvider
    from songforge.providers.fetch import FetchPolicy, decode_audio, fetch_audio, validate_clip
    from songforge.providers.orchestrator import ProviderGenerator
    from songforge.providers.policy import ProviderPolicy
    from songforge.providers.redact import Redactor, mask
    from songforge.providers.registry import (
        BUILTIN_PROVIDERS,
        ProviderRegistry,
        ProviderSpec,
        ProviderStatus,
        register_provider,
    )
    from songforge.providers.resilience import (
        CircuitBreaker,
        CircuitBreakers,
        CircuitState,
        Resilience,
        RetryPolicy,
    )

_EXPORTS = {
    "BudgetExceeded": "songforge.errors",
    "ContentRefused": "songforge.errors",
    "ProviderError": "songforge.errors",
    "ProviderUnavailable": "songforge.errors",
    "AudioPrompt": "songforge.providers.base",
    "Capabilities": "songforge.providers.base",
    "Clip": "songforge.providers.base",
    "ClipRequest": "songforge.providers.base",
    "Health": "songforge.providers.base",
    "PriceKind": "songforge.providers.base",
    "PriceModel": "songforge.providers.base",
    "Provider": "songforge.providers.base",
    "BudgetGuard": "songforge.providers.cost",
    "BudgetPolicy": "songforge.providers.cost",
    "CostEstimate": "songforge.providers.cost",
    "InMemoryUsageLedger": "songforge.providers.cost",
    "ProviderEstimate": "songforge.providers.cost",
    "SqliteUsageLedger": "songforge.providers.cost",
    "UsageEntry": "songforge.providers.cost",
    "UsageLedger": "songforge.providers.cost",
    "UsageRow": "songforge.providers.cost",
    "open_ledger": "songforge.providers.cost",
    "record_usage": "songforge.providers.cost",
    "EngineProvider": "songforge.providers.engine_provider",
    "SongMaker": "songforge.providers.engine_provider",
    "FakeProvider": "songforge.providers.fake",
    "FetchPolicy": "songforge.providers.fetch",
    "decode_audio": "songforge.providers.fetch",
    "fetch_audio": "songforge.providers.fetch",
    "validate_clip": "songforge.providers.fetch",
    "ProviderGenerator": "songforge.providers.orchestrator",
    "ProviderPolicy": "songforge.providers.policy",
    "Redactor": "songforge.providers.redact",
    "mask": "songforge.providers.redact",
    "BUILTIN_PROVIDERS": "songforge.providers.registry",
    "ProviderRegistry": "songforge.providers.registry",
    "ProviderSpec": "songforge.providers.registry",
    "ProviderStatus": "songforge.providers.registry",
    "register_provider": "songforge.providers.registry",
    "CircuitBreaker": "songforge.providers.resilience",
    "CircuitBreakers": "songforge.providers.resilience",
    "CircuitState": "songforge.providers.resilience",
    "Resilience": "songforge.providers.resilience",
    "RetryPolicy": "songforge.providers.resilience",
}

__all__ = [
    "BUILTIN_PROVIDERS",
    "AudioPrompt",
    "BudgetExceeded",
    "BudgetGuard",
    "BudgetPolicy",
    "Capabilities",
    "CircuitBreaker",
    "CircuitBreakers",
    "CircuitState",
    "Clip",
    "ClipRequest",
    "ContentRefused",
    "CostEstimate",
    "EngineProvider",
    "FakeProvider",
    "FetchPolicy",
    "Health",
    "InMemoryUsageLedger",
    "PriceKind",
    "PriceModel",
    "Provider",
    "ProviderError",
    "ProviderEstimate",
    "ProviderGenerator",
    "ProviderPolicy",
    "ProviderRegistry",
    "ProviderSpec",
    "ProviderStatus",
    "ProviderUnavailable",
    "Redactor",
    "Resilience",
    "RetryPolicy",
    "SongMaker",
    "SqliteUsageLedger",
    "UsageEntry",
    "UsageLedger",
    "UsageRow",
    "decode_audio",
    "fetch_audio",
    "mask",
    "open_ledger",
    "record_usage",
    "register_provider",
    "validate_clip",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
