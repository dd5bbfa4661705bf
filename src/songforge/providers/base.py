"""The provider contract: every generator — our offline engine, self-hosted neural models,
hosted APIs — declares what it can do and what it costs, and makes clips or whole songs.

CONTRACT shared by the provider core, the remote adapters and the local neural adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from songforge.progress import ProgressCallback


class PriceKind(StrEnum):
    FREE = "free"
    PER_REQUEST = "per_request"  # a flat price per generation call
    PER_AUDIO_SECOND = "per_audio_second"  # priced by seconds of audio made
    PER_COMPUTE_SECOND = "per_compute_second"  # priced by hardware time (Replicate)


class PriceModel(BaseModel):
    """How a provider charges; ``estimate_usd`` predicts, the adapter reports the actual."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PriceKind = PriceKind.FREE
    usd: float = Field(0.0, ge=0.0)  # per request, per audio second or per compute second
    compute_s_per_audio_s: float = Field(1.0, ge=0.0)  # for PER_COMPUTE_SECOND estimates
    notes: str = ""

    def estimate_usd(self, audio_s: float, requests: int = 1) -> float:
        if self.kind is PriceKind.FREE:
            return 0.0
        if self.kind is PriceKind.PER_REQUEST:
            return self.usd * requests
        if self.kind is PriceKind.PER_AUDIO_SECOND:
            return self.usd * audio_s
        return self.usd * audio_s * self.compute_s_per_audio_s


class Capabilities(BaseModel):
    """What a provider can do; the orchestrator plans around these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_clip_s: float | None = None  # None: whole songs of any requested length
    min_clip_s: float = 1.0
    continuation: bool = False  # accepts an audio prompt to continue from
    vocals: bool = False
    lyrics: bool = False
    stems: bool = False
    midi: bool = False
    stereo: bool = True
    sample_rate_hz: int = 44100
    mode: Literal["sync", "async"] = "sync"
    webhooks: bool = False  # can call us back when done
    local: bool = False  # runs on this machine (no network)
    price: PriceModel = PriceModel()


@dataclass(frozen=True)
class AudioPrompt:
    """Audio the provider should continue from (the tail of the previous segment)."""

    audio: np.ndarray  # float32 (channels, n)
    sample_rate_hz: int


@dataclass(frozen=True)
class ClipRequest:
    """One generation call: a segment of a song, or a whole song for full-length providers."""

    prompt: str  # the text sent to the provider (the orchestrator adds tempo/key/section cues)
    duration_s: float
    seed: int | None = None
    tempo_bpm: float | None = None
    key: str | None = None  # e.g. "E minor"
    genre: str | None = None
    section: str | None = None  # e.g. "chorus 2" when planned along a song form
    continuation: AudioPrompt | None = None
    lyrics: str | None = None
    instrumental: bool = True
    negative_prompt: str | None = None
    time_signature: str | None = None  # e.g. "4/4", "6/8" (ACE-Step takes it)
    # Extend a clip this provider made earlier (Suno's extend): its id from Clip.info["clip_id"]
    # and the second of that clip to continue from (None: its end).
    extend_clip_id: str | None = None
    extend_at_s: float | None = None


@dataclass
class Clip:
    """Audio a provider returned, validated, plus what it cost and where it came from."""

    audio: np.ndarray  # float32 (channels, n), finite, |x| <= 1 after validation
    sample_rate_hz: int
    provider: str
    cost_usd: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)  # model, prediction id, timings...
    includes_prompt_audio: bool = False  # the clip starts with the continuation audio


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""


@runtime_checkable
class Provider(Protocol):
    """A music generator. Adapters raise ProviderError (retryable or not), ContentRefused,
    ProviderUnavailable — never raw HTTP or library exceptions."""

    name: str
    capabilities: Capabilities

    def configured(self) -> bool:
        """Whether its settings (token, URL, model path) are present; no network call."""
        ...

    def health(self) -> Health:
        """A cheap reachability check (may call the provider)."""
        ...

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        """Make one clip of ``request.duration_s`` (≤ capabilities.max_clip_s)."""
        ...
