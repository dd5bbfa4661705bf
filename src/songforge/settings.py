"""The one settings object, read at the edge (CLI, server, worker) and passed down.

Environment variables use the SONGFORGE_ prefix (SONGFORGE_SOUNDFONT, SONGFORGE_DATA_DIR, ...);
a TOML/env config file can be named by SONGFORGE_CONFIG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SONGFORGE_", extra="ignore")

    # engine
    soundfont: Path | None = Field(None, description="General MIDI .sf2/.sf3; default: search")
    use_soundfont: bool = Field(True, description="Off: every part uses the built-in synth")
    render_workers: int = Field(2, ge=1, le=64, description="Parallel part renderers")

    # service: `songforge serve | worker | keys | jobs` (API, job workers, stores)
    data_dir: Path = Field(
        default_factory=lambda: _default_data_dir(),
        description="Job database and song files (SONGFORGE_DATA_DIR)",
    )
    host: str = Field("127.0.0.1", description="API bind address")
    port: int = Field(8000, ge=1, le=65535, description="API port")
    auth: bool = Field(True, description="Require API keys; off only on a loopback host")
    workers: int = Field(1, ge=0, le=64, description="Job workers `serve` runs beside the API")
    worker_mode: Literal["process", "thread"] = Field(
        "process", description="Run `serve`'s job workers as subprocesses or threads"
    )
    api_processes: int = Field(1, ge=1, le=32, description="uvicorn worker processes for the API")
    store_backend: Literal["sqlite", "memory"] = Field(
        "sqlite", description="Job store, queue and key store (memory: one process, volatile)"
    )
    blob_backend: Literal["filesystem", "memory"] = Field(
        "filesystem", description="Where song files go (memory: one process, volatile)"
    )
    generator: str = Field(
        "engine", description="'engine' (the composer) or 'tone' (an instant offline test fake)"
    )
    lease_s: float = Field(30.0, gt=0, description="A worker's claim on a job lasts this long")
    heartbeat_s: float = Field(5.0, gt=0, description="Workers renew their lease this often")
    max_attempts: int = Field(3, ge=1, le=20, description="Tries per job before it fails")
    retry_backoff_s: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [2.0, 10.0, 60.0],
        description="Delay before each retry (comma-separated seconds; the last one repeats)",
    )
    progress_interval_s: float = Field(0.5, ge=0, description="Throttle for progress writes")
    rate_limit_per_s: float = Field(50.0, ge=0, description="Requests per key per second; 0 = off")
    rate_limit_burst: int = Field(100, ge=1, description="Token-bucket size for requests")
    submit_rate_per_s: float = Field(2.0, ge=0, description="Song submits per key per s; 0 = off")
    submit_burst: int = Field(10, ge=1, description="Token-bucket size for submits")
    max_active_jobs: int = Field(10, ge=0, description="Queued + running jobs per key; 0 = no cap")
    cache_scope: Literal["owner", "global", "off"] = Field(
        "owner", description="Who may be served a stored identical song: the same key, anyone, no one"
    )
    max_body_bytes: int = Field(65536, ge=1024, description="Largest accepted request body")
    webhook_secret: SecretStr | None = Field(
        None, description="whsec_<base64> key signing outbound webhooks (Standard Webhooks)"
    )
    webhook_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts or CIDRs callbacks may reach despite the SSRF rules (comma-separated)",
    )
    webhook_timeout_s: float = Field(15.0, gt=0, description="Per delivery attempt")
    webhook_retry_s: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0],
        description="Delay before each webhook retry (comma-separated seconds)",
    )

    @field_validator("retry_backoff_s", "webhook_retry_s", "webhook_allow", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then SONGFORGE_* variables, then the SONGFORGE_CONFIG file (TOML)."""
        sources = [init_settings, env_settings, dotenv_settings]
        config = os.environ.get("SONGFORGE_CONFIG")
        if config:
            path = Path(config).expanduser()
            if not path.is_file():
                from songforge.errors import InvalidRequest

                raise InvalidRequest("SONGFORGE_CONFIG", f"no such config file: {path}")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        sources.append(file_secret_settings)
        return tuple(sources)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "songforge"
