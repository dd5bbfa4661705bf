"""The one settings object, read at the edge (CLI, server, worker) and passed down.

Environment variables use the SONGFORGE_ prefix (SONGFORGE_SOUNDFONT, SONGFORGE_DATA_DIR, ...);
a TOML/env config file can be named by SONGFORGE_CONFIG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
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
    render_workers: int = Field(2, ge=1, le=64, description="Threads for the per-part mix chains")
    keep_stems: bool = Field(
        True, description="Keep each part's mixed stem (about 100 MB per part per 5 minutes)"
    )

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
    worker_nice: int = Field(
        10, ge=0, le=19, description="Job workers run this much nicer than the API (0: as high)"
    )
    key_cache_s: float = Field(
        5.0,
        ge=0,
        le=300,
        description="A verified API key is looked up again after this long (revocation is "
        "seen at once)",
    )
    store_backend: Literal["sqlite", "memory"] = Field(
        "sqlite", description="Job store, queue and key store (memory: one process, volatile)"
    )
    blob_backend: Literal["filesystem", "memory"] = Field(
        "filesystem", description="Where song files go (memory: one process, volatile)"
    )
    generator: str = Field(
        "providers",
        description="What job workers run: 'providers' (the provider layer; its default policy "
        "is the offline engine), 'engine' (the composer alone) or 'tone' (an instant test fake)",
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
        "owner",
        description="Who may be served a stored identical song: the same key, anyone, no one",
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

    # remote provider adapters: providers/replicate.py, stable_audio.py, suno.py, ace_step.py,
    # lyria.py (tokens are also read from each provider's conventional variable, such as
    # REPLICATE_API_TOKEN or STABILITY_API_KEY)
    public_base_url: str | None = Field(
        None,
        description="Our https URL as the internet sees it; when set, Replicate and Suno call "
        "POST {url}/v1/providers/{name}/webhook instead of only being polled",
    )
    replicate_api_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "replicate_api_token", "SONGFORGE_REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN"
        ),
        description="Replicate API token (r8_...)",
    )
    replicate_base_url: str = Field("https://api.replicate.com/v1", description="Replicate API")
    replicate_model: str = Field(
        "meta/musicgen", description="owner/name or owner/name:version of the model to run"
    )
    replicate_musicgen_model: str = Field(
        "stereo-melody-large", description="meta/musicgen's model_version input"
    )
    replicate_usd_per_s: float = Field(
        0.000975, ge=0, description="Price of the model's hardware per second (L40S by default)"
    )
    replicate_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "replicate_webhook_secret",
            "SONGFORGE_REPLICATE_WEBHOOK_SECRET",
            "REPLICATE_WEBHOOK_SECRET",
        ),
        description="whsec_ key of Replicate's webhooks; unset: fetched from the API",
    )
    replicate_wait_s: int = Field(60, ge=1, le=60, description="Prefer: wait=N on create")
    replicate_poll_s: float = Field(
        2.0, gt=0, description="Polling interval (and webhook fallback)"
    )
    replicate_max_clip_s: float = Field(30.0, gt=0, le=300, description="Longest clip asked for")
    replicate_create_retries: int = Field(
        3, ge=0, le=10, description="Creates answered 429 that the adapter itself retries"
    )
    stability_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "stability_api_key", "SONGFORGE_STABILITY_API_KEY", "STABILITY_API_KEY"
        ),
        description="Stability AI API key (sk-...)",
    )
    stability_base_url: str = Field("https://api.stability.ai", description="Stability AI API")
    stability_model: str = Field("stable-audio-2.5", description="Hosted Stable Audio model")
    stability_steps: int | None = Field(None, ge=1, le=100, description="Diffusion steps")
    stability_cfg_scale: float | None = Field(None, ge=1, le=25, description="CFG scale")
    stability_format: Literal["wav", "mp3"] = Field("wav", description="Format asked for")
    stability_usd: float = Field(0.20, ge=0, description="Price per generation (20 credits)")
    suno_shape: Literal["suno-api", "hosted"] = Field(
        "suno-api", description="Gateway shape: the open-source suno-api, or a hosted reseller"
    )
    suno_base_url: str | None = Field(None, description="The Suno-compatible gateway's URL")
    suno_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("suno_api_key", "SONGFORGE_SUNO_API_KEY", "SUNO_API_KEY"),
        description="Bearer key of a hosted gateway (suno-api needs none)",
    )
    suno_model: str | None = Field(
        None, description="Model name; default chirp-v3-5 (suno-api) or V4_5 (hosted)"
    )
    suno_audio_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cdn1.suno.ai", "cdn2.suno.ai"],
        description="Hosts Suno audio may be downloaded from besides the gateway's own",
    )
    suno_usd: float = Field(0.06, ge=0, description="Estimated price per generation")
    suno_poll_s: float = Field(5.0, gt=0, description="Polling interval")
    ace_step_base_url: str | None = Field(None, description="ACE-Step 1.5 API server URL")
    ace_step_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "ace_step_api_key", "SONGFORGE_ACE_STEP_API_KEY", "ACESTEP_API_KEY"
        ),
        description="The server's ACESTEP_API_KEY, if it has one",
    )
    ace_step_model: str | None = Field(None, description="DiT model; default: the server's")
    ace_step_steps: int | None = Field(None, ge=1, le=200, description="Inference steps")
    ace_step_thinking: bool = Field(False, description="Let the 5 Hz LM plan the audio codes")
    ace_step_format: Literal["flac", "wav", "mp3"] = Field("flac", description="Result format")
    ace_step_poll_s: float = Field(2.0, gt=0, description="Polling interval")
    lyria_project: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "lyria_project", "SONGFORGE_LYRIA_PROJECT", "GOOGLE_CLOUD_PROJECT"
        ),
        description="Google Cloud project for Vertex AI",
    )
    lyria_location: str = Field("us-central1", description="Vertex AI region")
    lyria_model: str = Field("lyria-002", description="Lyria model")
    lyria_base_url: str | None = Field(
        None, description="Vertex AI endpoint; default https://{location}-aiplatform.googleapis.com"
    )
    lyria_usd: float = Field(0.06, ge=0, description="Price per ~30 s clip")

    # providers (the provider core): choice, resilience, cost, downloads, long-form
    provider_policy: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["songforge"],
        description="Default provider fallback order when a request names none (comma-separated)",
    )
    provider_prefer_free: bool = Field(
        True, description="The default policy tries free and local providers before paid ones"
    )
    provider_failover_on_refusal: bool = Field(
        False, description="A prompt refused by one provider's moderation goes on to the next"
    )
    provider_timeout_s: float = Field(900.0, gt=0, description="Per provider call (default)")
    provider_timeouts: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, description="Per-provider call timeouts, e.g. 'suno=600,lyria=120'"
    )
    provider_deadline_s: float = Field(3600.0, gt=0, description="Whole song, all providers")
    provider_retry_attempts: int = Field(3, ge=1, le=10, description="Tries per provider call")
    provider_retry_base_s: float = Field(1.0, ge=0, description="First backoff before jitter")
    provider_retry_max_s: float = Field(30.0, ge=0, description="Longest backoff (and Retry-After)")
    provider_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures that open a provider's circuit"
    )
    provider_breaker_cooldown_s: float = Field(
        60.0, ge=0, description="An open circuit lets one trial call through after this long"
    )
    provider_factories: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Extra providers: 'name=package.module:Class' (comma-separated)",
    )
    fake_provider: str = Field(
        "", description="Options of the 'fake' provider, e.g. 'max_clip_s=30,price_usd=0.01'"
    )
    fake_provider_token: SecretStr | None = Field(
        None, description="A token the 'fake' provider treats as its API key (redaction demos)"
    )
    provider_fetch_max_bytes: int = Field(
        200_000_000, ge=1024, description="Largest provider audio file downloaded"
    )
    provider_fetch_timeout_s: float = Field(120.0, gt=0, description="Per provider download")
    provider_fetch_allow_http: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts provider audio may come from over plain http (test emulators only, "
        "e.g. '127.0.0.1')",
    )
    budget_usd_per_month: float | None = Field(
        None, ge=0, description="Default monthly spend per API key on paid providers; unset: none"
    )
    budget_usd_per_key: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, description="Per-key monthly budgets, e.g. 'key_ab12=5,key_cd34=50'"
    )
    usage_backend: Literal["sqlite", "memory"] = Field(
        "sqlite", description="Where provider spend is recorded (memory: one process, volatile)"
    )
    usage_db: Path | None = Field(None, description="Usage ledger file; default DATA_DIR/usage.db")
    longform_overlap_bars: int = Field(
        1, ge=1, le=4, description="Bars two long-form segments overlap for the crossfade"
    )
    longform_prompt_s: float = Field(
        8.0, ge=1.0, le=30.0, description="Audio of the previous segment a continuation hears"
    )

    @field_validator("provider_policy", "provider_fetch_allow_http", mode="before")
    @classmethod
    def _provider_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("provider_timeouts", "provider_factories", "budget_usd_per_key", mode="before")
    @classmethod
    def _provider_map(cls, value: Any) -> Any:
        """'a=1,b=2' or a JSON object (environment variables and config files alike)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                import json

                return json.loads(text)
            pairs = (item.partition("=") for item in text.split(",") if item.strip())
            return {name.strip(): setting.strip() for name, _, setting in pairs}
        return value

    # self-hosted neural providers (the `neural` extra): a model is a local directory or a
    # Hugging Face model id (downloaded on first use); none is set by default
    neural_dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Neural providers' weights; auto: float16 on CUDA, else float32"
    )
    musicgen_model: str | None = Field(
        None, description="MusicGen directory or model id, e.g. facebook/musicgen-small"
    )
    musicgen_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA if any")
    musicgen_max_window_s: float = Field(
        30.0, gt=0, le=30.0, description="Longest single MusicGen generation, prompt included"
    )
    musicgen_extend_stride_s: float = Field(
        18.0, gt=0, description="Long-form window advance; the rest of a window is its prompt"
    )
    musicgen_guidance_scale: float = Field(3.0, ge=0, description="Classifier-free guidance")
    musicgen_top_k: int = Field(250, ge=0, description="Sampling: keep the k likeliest tokens")
    musicgen_temperature: float = Field(1.0, gt=0, description="Sampling temperature")
    stable_audio_model: str | None = Field(
        None, description="Stable Audio Open directory or id: stabilityai/stable-audio-open-1.0"
    )
    stable_audio_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA")
    stable_audio_max_clip_s: float = Field(47.0, gt=0, description="Longest clip (model: 47 s)")
    stable_audio_steps: int = Field(100, ge=1, le=1000, description="Diffusion steps")
    stable_audio_guidance_scale: float = Field(7.0, ge=0, description="Classifier-free guidance")
    audioldm2_model: str | None = Field(
        None, description="AudioLDM 2 directory or id, e.g. cvssp/audioldm2-music"
    )
    audioldm2_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA")
    audioldm2_max_clip_s: float = Field(10.24, gt=0, description="Longest clip (trained on 10 s)")
    audioldm2_steps: int = Field(200, ge=1, le=1000, description="Diffusion steps")
    audioldm2_guidance_scale: float = Field(3.5, ge=0, description="Classifier-free guidance")
    riffusion_model: str | None = Field(
        None, description="Riffusion directory or id, e.g. riffusion/riffusion-model-v1"
    )
    riffusion_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA")
    riffusion_max_clip_s: float = Field(
        5.12, gt=0, description="Longest clip: image width × 10 ms (trained on 512 px)"
    )
    riffusion_steps: int = Field(50, ge=1, le=1000, description="Diffusion steps")
    riffusion_guidance_scale: float = Field(7.0, ge=0, description="Classifier-free guidance")
    riffusion_griffin_lim_iters: int = Field(
        32, ge=1, le=1000, description="Phase-reconstruction iterations per clip"
    )

    @field_validator("retry_backoff_s", "webhook_retry_s", "webhook_allow", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("suno_audio_hosts", mode="before")
    @classmethod
    def _adapter_list(cls, value: Any) -> Any:
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
