"""Every provider at a glance — installed, configured, capabilities, price, masked settings
and (on request) health — for `songforge providers` and ``GET /v1/providers``."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from songforge.providers.redact import Redactor, mask
from songforge.providers.registry import ProviderRegistry
from songforge.providers.resilience import call_with_timeout
from songforge.settings import Settings

HEALTH_TIMEOUT_S = 10.0

SETTING_PREFIXES = {"stable-audio": ("stable_audio_", "stability_")}


def _owner(field: str, names: list[str]) -> str | None:
    """The provider a setting belongs to: the longest ``<name>_`` prefix it starts with."""
    best, best_len = None, 0
    for name in names:
        for prefix in SETTING_PREFIXES.get(name, (name.replace("-", "_") + "_",)):
            if field.startswith(prefix) and len(prefix) > best_len:
                best, best_len = name, len(prefix)
    return best


def provider_settings(settings: Settings, name: str, names: list[str]) -> dict[str, str]:
    """The settings that belong to provider ``name`` (named ``<name>_...``), secrets masked."""
    redactor = Redactor.from_settings(settings)
    shown: dict[str, str] = {}
    for field in type(settings).model_fields:
        if _owner(field, names) != name:
            continue
        value = getattr(settings, field)
        if isinstance(value, SecretStr) or (value is None and "token" in field):
            shown[field] = mask(value)
        elif value not in (None, "", [], {}):
            shown[field] = redactor.text(str(value))
    return shown


def describe_providers(
    settings: Settings, *, check: bool = False, registry: ProviderRegistry | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready row per provider: installed, configured, capabilities, price, health
    (``check``: asks each usable provider, with a timeout). ``registry`` reuses built
    providers (the server's); by default a fresh one is made from ``settings``."""
    registry = registry or ProviderRegistry(settings)
    redactor = Redactor.from_settings(settings)
    policy = list(settings.provider_policy)
    rows = []
    for name in registry.names():
        status = registry.status(name)
        spec = registry.spec(name)
        caps = status.capabilities
        row: dict[str, Any] = {
            "name": name,
            "kind": status.kind,
            "summary": status.summary,
            "installed": status.installed,
            "configured": status.configured,
            "reason": status.reason,
            "in_default_policy": name in policy,
            "install": spec.install_hint() if not status.installed and spec.extra else None,
            "capabilities": caps.model_dump(mode="json", exclude={"price"}) if caps else None,
            "price": caps.price.model_dump(mode="json") if caps else None,
            "settings": provider_settings(settings, name, registry.names()),
            "health": None,
        }
        if check and status.usable:
            provider = registry.get(name)
            try:
                health = call_with_timeout(provider.health, HEALTH_TIMEOUT_S, name)
                row["health"] = {"ok": health.ok, "detail": health.detail}
            except Exception as exc:
                row["health"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
        rows.append(redactor.data(row))
    return rows


__all__ = ["HEALTH_TIMEOUT_S", "describe_providers", "provider_settings"]
