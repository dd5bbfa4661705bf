"""The registry: every provider by name, built lazily from settings, with clear reasons when
one cannot be used here."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from songforge.errors import InvalidRequest, ProviderUnavailable
from songforge.providers import EngineProvider, FakeProvider, Provider
from songforge.providers.registry import BUILTIN_PROVIDERS, ProviderRegistry, ProviderSpec
from songforge.settings import Settings

NAMES = [
    "songforge",
    "musicgen",
    "stable-audio-open",
    "audioldm2",
    "riffusion",
    "replicate",
    "stable-audio",
    "suno",
    "ace-step",
    "lyria",
]
_modules = itertools.count()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, usage_backend="memory")


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "adapters"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def adapter(folder: Path, source: str) -> str:
    """Write an adapter module the registry can import; returns its (unique) name."""
    name = f"adapter_{next(_modules)}"
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def registry_with(settings: Settings, spec: ProviderSpec) -> ProviderRegistry:
    return ProviderRegistry(settings, specs={spec.name: spec})


def test_every_provider_is_known_by_name(settings: Settings) -> None:
    names = ProviderRegistry(settings).names()
    assert set(NAMES) <= set(names)
    assert "fake" in names
    assert len({spec.name for spec in BUILTIN_PROVIDERS}) == len(BUILTIN_PROVIDERS)


def test_the_engine_is_a_provider_built_once_on_first_use(settings: Settings) -> None:
    registry = ProviderRegistry(settings)
    engine = registry.get("songforge")
    assert isinstance(engine, EngineProvider) and isinstance(engine, Provider)
    assert registry.get("songforge") is engine


def test_the_fake_is_configured_from_settings(tmp_path: Path) -> None:
    settings = Settings(fake_provider="max_clip_s=12,price_usd=0.05,continuation=false")
    fake = ProviderRegistry(settings).get("fake")
    assert isinstance(fake, FakeProvider)
    assert fake.capabilities.max_clip_s == 12.0
    assert fake.capabilities.price.usd == 0.05 and not fake.capabilities.continuation


def test_an_unknown_name_is_a_bad_request_listing_the_choices(settings: Settings) -> None:
    with pytest.raises(InvalidRequest, match=r"unknown provider 'sunoo'.*songforge"):
        ProviderRegistry(settings).get("sunoo")


def test_a_provider_whose_module_does_not_exist_is_unavailable(settings: Settings) -> None:
    registry = registry_with(
        settings, ProviderSpec("ghost", "songforge.providers.not_written_yet", "local", "neural")
    )
    with pytest.raises(ProviderUnavailable, match="not part of this installation"):
        registry.get("ghost")
    status = registry.status("ghost")
    assert not status.installed and not status.usable


def test_a_missing_optional_extra_says_how_to_install_it(
    settings: Settings, module_dir: Path
) -> None:
    module = adapter(module_dir, "import torch_that_is_not_installed\n")
    registry = registry_with(settings, ProviderSpec("neuro", module, "local", "neural"))
    with pytest.raises(ProviderUnavailable) as caught:
        registry.get("neuro")
    assert "torch_that_is_not_installed" in caught.value.message
    assert "pip install 'songforge[neural]'" in caught.value.message


def test_an_adapter_can_register_its_factory_by_name(settings: Settings, module_dir: Path) -> None:
    module = adapter(
        module_dir,
        """
        from songforge.providers.fake import FakeProvider
        from songforge.providers.registry import register_provider

        @register_provider("decorated")
        class Decorated(FakeProvider):
            @classmethod
            def from_settings(cls, settings):
                return cls("decorated", max_clip_s=7.0)

        class Helper(FakeProvider):  # another class: the registration decides
            pass
        """,
    )
    provider = registry_with(settings, ProviderSpec("decorated", module, "remote")).get("decorated")
    assert provider.name == "decorated" and provider.capabilities.max_clip_s == 7.0


def test_a_module_level_from_settings_is_found_by_convention(
    settings: Settings, module_dir: Path
) -> None:
    module = adapter(
        module_dir,
        """
        from songforge.providers.fake import FakeProvider

        def from_settings(settings):
            return FakeProvider("conventional", max_clip_s=9.0)
        """,
    )
    registry = registry_with(settings, ProviderSpec("conventional", module, "remote"))
    assert registry.get("conventional").capabilities.max_clip_s == 9.0


def test_extra_providers_come_from_settings(module_dir: Path) -> None:
    module = adapter(
        module_dir,
        """
        from songforge.providers.fake import FakeProvider

        class Plugin:  # built as Plugin(settings)
            name = "plugin"

            def __init__(self, settings):
                self.inner = FakeProvider("plugin", max_clip_s=5.0)
                self.capabilities = self.inner.capabilities

            def configured(self):
                return True

            def health(self):
                return self.inner.health()

            def generate_clip(self, request, progress):
                return self.inner.generate_clip(request, progress)
        """,
    )
    settings = Settings(provider_factories=f"plugin={module}:Plugin")
    assert ProviderRegistry(settings).get("plugin").capabilities.max_clip_s == 5.0


def test_a_failing_constructor_is_unavailable_without_leaking_secrets(module_dir: Path) -> None:
    token = "r8_f4k3t0k3n5h0uldn3v3r4pp34r"
    module = adapter(
        module_dir,
        """
        def create_provider(settings):
            raise RuntimeError("bad key " + settings.fake_provider_token.get_secret_value())
        """,
    )
    settings = Settings(fake_provider_token=token)
    registry = registry_with(settings, ProviderSpec("leaky", module, "remote"))
    with pytest.raises(ProviderUnavailable) as caught:
        registry.get("leaky")
    assert token not in str(caught.value) and "could not be set up" in str(caught.value)


def test_status_of_every_provider_never_raises(settings: Settings) -> None:
    registry = ProviderRegistry(settings)
    for name in registry.names():
        status = registry.status(name)
        assert status.usable or status.reason
    assert registry.status("songforge").usable


def test_an_unconfigured_provider_is_installed_but_not_usable(settings: Settings) -> None:
    registry = ProviderRegistry.with_providers(
        settings, [FakeProvider("needs-key", is_configured=False)]
    )
    status = registry.status("needs-key")
    assert status.installed and not status.configured and not status.usable
    assert "not configured" in status.reason


def test_the_public_api_is_exported() -> None:
    import songforge.longform
    import songforge.providers

    for module in (songforge.providers, songforge.longform):
        assert sorted(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert getattr(module, name) is not None, name
