"""The one settings object, read at the edge (CLI, server, worker) and passed down.

Environment variables use the SONGFORGE_ prefix (SONGFORGE_SOUNDFONT, SONGFORGE_DATA_DIR, ...);
a TOML/env config file can be named by SONGFORGE_CONFIG."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SONGFORGE_", extra="ignore")

    # engine
    soundfont: Path | None = Field(None, description="General MIDI .sf2/.sf3; default: search")
    use_soundfont: bool = Field(True, description="Off: every part uses the built-in synth")
    render_workers: int = Field(2, ge=1, le=64, description="Parallel part renderers")
