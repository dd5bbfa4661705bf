"""Providers by name, constructed lazily from settings.

Each name maps to an import string (``package.module:Class`` or just ``package.module``). Nothing
is imported until a provider is first asked for, so a missing optional extra (torch for the
neural models, google-auth for Lyria) only matters to whoever uses that provider — and then it
is a ``ProviderUnavailable`` with the ``pip install`` line that fixes it.

An adapter module can name its factory explicitly::

    @register_provider("musicgen")
    class MusicGenProvider: ...          # built as MusicGenProvider.from_settings(settings)
                                         # or MusicGenProvider(settings)

or rely on the conventions :func:`_factory_in` looks for (a module-level ``create_provider``, or
the one class in the module whose ``name`` is the provider's name)."""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from songforge.errors import InvalidRequest, ProviderError, ProviderUnavailable
from songforge.providers.base import Capabilities, Provider
from songforge.providers.redact import Redactor
from songforge.settings import Settings

Factory = Callable[[Settings], Provider]
Kind = Literal["engine", "local", "remote", "test"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Where a provider's code lives and what installing it takes."""

    name: str
    target: str  # "package.module:attribute" or "package.module"
    kind: Kind
    extra: str | None = None  # the optional dependency group it needs
    summary: str = ""

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def attribute(self) -> str | None:
        return self.target.partition(":")[2] or None

    def install_hint(self) -> str:
        return f"pip install 'songforge[{self.extra}]'" if self.extra else "pip install songforge"


_P = "songforge.providers."
BUILTIN_PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "songforge", _P + "engine_provider:EngineProvider", "engine", None, "the offline engine"
    ),
    ProviderSpec("musicgen", _P + "musicgen", "local", "neural", "Meta MusicGen (transformers)"),
    ProviderSpec(
        "stable-audio-open", _P + "stable_audio_open", "local", "neural", "Stable Audio Open"
    ),
    ProviderSpec("audioldm2", _P + "audioldm2", "local", "neural", "AudioLDM 2 (diffusers)"),
    ProviderSpec("riffusion", _P + "riffusion", "local", "neural", "Riffusion (diffusers)"),
    ProviderSpec("replicate", _P + "replicate", "remote", "remote", "models hosted on Replicate"),
    ProviderSpec("stable-audio", _P + "stable_audio", "remote", "remote", "Stability AI API"),
    ProviderSpec("suno", _P + "suno", "remote", "remote", "Suno-compatible gateways"),
    ProviderSpec("ace-step", _P + "ace_step", "remote", "remote", "a self-hosted ACE-Step server"),
    ProviderSpec("lyria", _P + "lyria", "remote", "lyria", "Google Lyria on Vertex AI"),
    ProviderSpec("fake", _P + "fake:FakeProvider", "test", None, "an instant fake for tests"),
)

_registered: dict[str, Factory] = {}
_registered_lock = threading.Lock()


def register_provider(name: str) -> Callable[[Any], Any]:
    """Class or function decorator: ``name`` is built by this factory when asked for."""

    def decorate(target: Any) -> Any:
        with _registered_lock:
            _registered[name] = _as_factory(target)
        return target

    return decorate


def _as_factory(target: Any) -> Factory:
    from_settings = getattr(target, "from_settings", None)
    if inspect.isclass(target) and callable(from_settings):
        return from_settings
    if callable(target):
        return target
    raise TypeError(f"not a provider factory: {target!r}")


def _factory_in(module: ModuleType, spec: ProviderSpec) -> Factory:
    """The factory a module offers for ``spec.name``, by registration or convention."""
    if spec.attribute:
        return _as_factory(getattr(module, spec.attribute))
    with _registered_lock:
        registered = _registered.get(spec.name)
    if registered is not None:
        return registered
    for function in ("create_provider", "from_settings"):
        if callable(getattr(module, function, None)):
            return _as_factory(getattr(module, function))
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and obj.__module__ == module.__name__
        and callable(getattr(obj, "generate_clip", None))
    ]
    named = [c for c in classes if getattr(c, "name", None) == spec.name]
    chosen = named or classes
    if len(chosen) != 1:
        raise ProviderUnavailable(
            f"provider {spec.name!r}: {module.__name__} does not say which class to build "
            "(use @register_provider or a create_provider(settings) function)",
            provider=spec.name,
        )
    return _as_factory(chosen[0])


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """What `songforge providers` shows about one provider (no network unless checked)."""

    name: str
    kind: Kind
    summary: str
    installed: bool
    configured: bool
    reason: str  # why it cannot be used, or ""
    capabilities: Capabilities | None

    @property
    def usable(self) -> bool:
        return self.installed and self.configured


@dataclass
class ProviderRegistry:
    """Providers by name for one settings object; each is built once, on first use."""

    settings: Settings
    specs: dict[str, ProviderSpec] = field(default_factory=dict)
    _instances: dict[str, Provider] = field(default_factory=dict, repr=False)
    _failures: dict[str, ProviderUnavailable] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.specs:
            self.specs = {spec.name: spec for spec in BUILTIN_PROVIDERS}
            for name, target in self.settings.provider_factories.items():
                self.specs[name] = ProviderSpec(name, target, "remote", None, "from settings")

    @classmethod
    def with_providers(cls, settings: Settings, providers: Iterable[Provider]) -> ProviderRegistry:
        """The built-in registry with some names answered by ready-made instances (tests)."""
        registry = cls(settings)
        for provider in providers:
            registry.add(provider)
        return registry

    def add(self, provider: Provider, kind: Kind = "test") -> None:
        """Answer ``provider.name`` with this instance (replacing any spec of that name)."""
        with self._lock:
            if provider.name not in self.specs:
                self.specs[provider.name] = ProviderSpec(provider.name, "<instance>", kind)
            self._instances[provider.name] = provider
            self._failures.pop(provider.name, None)

    def names(self) -> list[str]:
        return list(self.specs)

    def spec(self, name: str) -> ProviderSpec:
        spec = self.specs.get(name)
        if spec is None:
            raise InvalidRequest(
                "provider", f"unknown provider {name!r}; choose from: {', '.join(self.specs)}"
            )
        return spec

    def validate(self, names: Iterable[str]) -> list[str]:
        """The names, checked to exist (InvalidRequest names the first unknown one)."""
        return [self.spec(name).name for name in names]

    def get(self, name: str) -> Provider:
        """The provider called ``name``; ProviderUnavailable if it cannot be built here."""
        spec = self.spec(name)
        with self._lock:
            if name in self._instances:
                return self._instances[name]
            if name in self._failures:
                raise self._failures[name]
            try:
                provider = self._build(spec)
            except ProviderUnavailable as exc:
                self._failures[name] = exc
                raise
            self._instances[name] = provider
            return provider

    def _build(self, spec: ProviderSpec) -> Provider:
        redactor = Redactor.from_settings(self.settings)
        try:
            module = importlib.import_module(spec.module)
            provider = _factory_in(module, spec)(self.settings)
        except ProviderUnavailable:
            raise
        except ImportError as exc:
            missing = getattr(exc, "name", None) or ""
            if missing and (spec.module == missing or spec.module.startswith(missing + ".")):
                raise ProviderUnavailable(
                    f"provider {spec.name!r} is not part of this installation "
                    f"(no module {spec.module})",
                    provider=spec.name,
                ) from None
            raise ProviderUnavailable(
                f"provider {spec.name!r} needs {missing or 'an optional package'}: "
                f"{spec.install_hint()}",
                provider=spec.name,
            ) from None
        except ProviderError as exc:
            raise ProviderUnavailable(redactor.error(exc), provider=spec.name) from None
        except Exception as exc:  # an adapter's constructor failed: say so without secrets
            raise ProviderUnavailable(
                f"provider {spec.name!r} could not be set up: "
                f"{type(exc).__name__}: {redactor.error(exc)}",
                provider=spec.name,
            ) from None
        if not isinstance(provider, Provider):
            raise ProviderUnavailable(
                f"provider {spec.name!r}: {type(provider).__name__} is not a Provider",
                provider=spec.name,
            )
        return provider

    def status(self, name: str) -> ProviderStatus:
        spec = self.spec(name)
        try:
            provider = self.get(name)
        except ProviderUnavailable as exc:
            return ProviderStatus(name, spec.kind, spec.summary, False, False, exc.message, None)
        try:
            configured = bool(provider.configured())
        except Exception as exc:
            redactor = Redactor.from_settings(self.settings)
            reason = f"configuration check failed: {redactor.error(exc)}"
            return ProviderStatus(
                name, spec.kind, spec.summary, True, False, reason, provider.capabilities
            )
        reason = "" if configured else "not configured (see `songforge providers --json`)"
        return ProviderStatus(
            name, spec.kind, spec.summary, True, configured, reason, provider.capabilities
        )

    def usable(self, name: str) -> bool:
        return self.status(name).usable


def registered_factories() -> Mapping[str, Factory]:
    """Factories adapters registered with :func:`register_provider` (read-only view)."""
    with _registered_lock:
        return dict(_registered)


__all__ = [
    "BUILTIN_PROVIDERS",
    "Factory",
    "ProviderRegistry",
    "ProviderSpec",
    "ProviderStatus",
    "register_provider",
    "registered_factories",
]
