"""Fixtures shared by the render tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from songforge.render import soundfont as sf

SMALL_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


@pytest.fixture(scope="module")
def font_path() -> Path:
    """A real General MIDI font, the small one when present (fast to load)."""
    candidates = [Path(p) for p in (os.environ.get(sf.ENV_VAR, ""),) if p] + [SMALL_FONT]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None and sf.tinysoundfont_available():
        saved = os.environ.pop(sf.ENV_VAR, None)
        try:
            path = sf.find_soundfont()
        finally:
            if saved is not None:
                os.environ[sf.ENV_VAR] = saved
    if path is None or not sf.tinysoundfont_available():
        reason = "no General MIDI SoundFont (or no tinysoundfont) on this machine"
        if os.environ.get("SONGFORGE_REQUIRE_SOUNDFONT") == "1":
            pytest.fail(f"SONGFORGE_REQUIRE_SOUNDFONT=1 but {reason}")
        pytest.skip(reason)
    return path
