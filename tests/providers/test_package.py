"""The providers package exports its names lazily: every one resolves, and importing one
submodule does not drag in every provider's dependencies."""

from __future__ import annotations

import subprocess
import sys

import songforge.providers as providers


def test_every_exported_name_resolves() -> None:
    for name in providers.__all__:
        assert getattr(providers, name) is not None, name
    assert set(dir(providers)) >= set(providers.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        providers.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_the_cli_starts_without_the_long_form_stitcher() -> None:
    """`songforge --help` and log redaction need neither scipy.signal nor the orchestrator."""
    code = (
        "import sys; import songforge.cli as cli; cli._register_commands(); cli._redact_logs(); "
        "print(sorted(m for m in ('scipy.signal', 'songforge.providers.orchestrator') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
