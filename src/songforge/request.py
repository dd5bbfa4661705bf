"""The one request schema shared by the library, the CLI and the API."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from songforge.compose.score import SectionKind
from songforge.theory import Key, Mode, TimeSignature

MIN_DURATION_S = 30.0
MAX_DURATION_S = 600.0
MAX_PROMPT_CHARS = 1000
MAX_SEED = 2**32 - 1


class AudioFormat(StrEnum):
    WAV = "wav"
    FLAC = "flac"
    MP3 = "mp3"
    OGG = "ogg"

    @property
    def media_type(self) -> str:
        return {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg"}[
            self.value
        ]


SampleRate = Annotated[int, Field(description="Output sample rate in Hz: 44100 or 48000")]


def parse_duration_s(value: Any) -> float:
    """Seconds from 200, 200.5, '200', '200s', '3:20' or '1:02:00'. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("duration must be seconds or m:ss")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?\s*s?", text):
            return float(text.rstrip("s").strip())
        if re.fullmatch(r"\d+(:[0-5]\d){1,2}", text):
            seconds = 0.0
            for part in text.split(":"):
                seconds = seconds * 60 + int(part)
            return seconds
    raise ValueError(f"duration must be seconds or m:ss, not {value!r}")


class SongRequest(BaseModel):
    """What to make. Explicit fields win over what the prompt implies."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]
    genre: str | None = Field(None, description="A style id or alias; see GET /v1/styles")
    mood: Annotated[str, Field(max_length=100)] | None = None
    bpm: Annotated[float, Field(ge=40, le=240)] | None = None
    key: str | None = Field(
        None, description="Tonic and optional mode, e.g. 'E minor', 'F#m', 'Bb'"
    )
    mode: Mode | None = None
    time_signature: TimeSignature | None = None
    duration: float | None = Field(
        None, description="Seconds (30–600) or 'm:ss'; default per genre within 3–5 min"
    )
    structure: Annotated[list[SectionKind], Field(min_length=1, max_length=40)] | None = None
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None
    format: AudioFormat = AudioFormat.WAV
    sample_rate: SampleRate = 44100
    instruments: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=60)]], Field(max_length=16)
    ] = []
    provider: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=40)]],
            Field(min_length=1, max_length=8),
        ]
        | None
    ) = Field(
        None,
        description="Provider name or fallback order, e.g. ['stable-audio', 'songforge']; "
        "default: the configured policy (the offline engine)",
    )
    lyrics: Annotated[str, Field(max_length=5000)] | None = Field(
        None, description="Lyrics for providers that sing (suno); others ignore them"
    )

    @field_validator("provider", mode="before")
    @classmethod
    def _providers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("genre")
    @classmethod
    def _known_genre(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from songforge.styles.catalog import default_catalog

        style = default_catalog().find(value)
        if style is None:
            raise ValueError(
                f"unknown genre {value!r}; choose one of: {', '.join(default_catalog().ids())}"
            )
        return style.id

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return Key.parse(value).name
        except ValueError:
            raise ValueError(
                f"not a key: {value!r} (e.g. 'E minor', 'F#m', 'Bb major', 'D dorian')"
            ) from None

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        if value is None:
            return None
        seconds = parse_duration_s(value)
        if not (MIN_DURATION_S <= seconds <= MAX_DURATION_S):
            raise ValueError(
                f"duration must be between 30 s and 10 min (0:30–10:00), not {seconds:g} s"
            )
        return seconds

    @field_validator("structure", mode="before")
    @classmethod
    def _structure(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in re.split(r"[,\s]+", value) if v]
        if isinstance(value, list):
            out = []
            for item in value:
                if not isinstance(item, str):
                    raise ValueError("structure is a list of section names")
                try:
                    out.append(SectionKind.parse(item))
                except ValueError:
                    names = ", ".join(k.value for k in SectionKind)
                    raise ValueError(f"unknown section {item!r}; use: {names}") from None
            return out
        return value

    @field_validator("sample_rate")
    @classmethod
    def _rate(cls, value: int) -> int:
        if value not in (44100, 48000):
            raise ValueError("sample_rate must be 44100 or 48000")
        return value

    def resolved_key(self) -> Key | None:
        """The explicit key with the explicit mode applied, or None."""
        if self.key is None:
            return None
        return Key.parse(self.key, self.mode.value if self.mode else None)

    def cache_key_fields(self) -> dict[str, Any]:
        """The request as it decides the audio (normalised), for idempotency and caching."""
        return self.model_dump(mode="json")
