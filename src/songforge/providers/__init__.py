"""Music generation providers: the protocol, a registry of providers by name, the policy that
orders them, resilience, cost accounting, and the orchestrator every entry point calls.

Adapters live in their own modules (``songforge.providers.musicgen`` …) and are imported only
when their provider is first used."""

from __future__ import annotations

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
