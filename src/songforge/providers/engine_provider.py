"""The ``songforge`` provider: the offline engine behind the provider protocol.

It makes whole songs of any length (no clip limit), for free, on this machine, with stems and
MIDI. The orchestrator asks it for a whole song through :class:`SongMaker` (so the engine's own
metadata, stems and score are kept); ``generate_clip`` serves anyone who wants just audio."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from songforge import __version__
from songforge.progress import ProgressCallback
from songforge.providers.base import Capabilities, Clip, ClipRequest, Health, PriceModel
from songforge.request import MAX_DURATION_S, MAX_PROMPT_CHARS, MIN_DURATION_S, SongRequest
from songforge.settings import Settings
from songforge.song import Song

ENGINE_PROVIDER = "songforge"
ENGINE_MODEL = f"songforge-engine {__version__}"


@runtime_checkable
class SongMaker(Protocol):
    """A provider that makes a whole finished song from the request itself."""

    def generate_song(self, request: SongRequest, progress: ProgressCallback) -> Song: ...


class EngineProvider:
    """The composer, renderer, mixer and master of :mod:`songforge.engine`."""

    name = ENGINE_PROVIDER
    capabilities = Capabilities(
        max_clip_s=None,
        min_clip_s=MIN_DURATION_S,
        continuation=False,
        vocals=False,
        lyrics=False,
        stems=True,
        midi=True,
        stereo=True,
        sample_rate_hz=44100,
        mode="sync",
        webhooks=False,
        local=True,
        price=PriceModel(notes="free: runs on this machine"),
    )

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineProvider:
        return cls(settings)

    def configured(self) -> bool:
        return True

    def health(self) -> Health:
        return Health(True, "offline engine (no network)")

    def generate_song(self, request: SongRequest, progress: ProgressCallback) -> Song:
        from songforge.engine import generate

        return generate(request, settings=self.settings, progress=progress)

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        """A song of the clip's length (at least 30 s, cut to length) in the clip's tempo/key."""
        fields: dict[str, object] = {
            "prompt": request.prompt[:MAX_PROMPT_CHARS],
            "genre": request.genre,
            "bpm": request.tempo_bpm,
            "key": request.key,
            "duration": min(max(request.duration_s, MIN_DURATION_S), MAX_DURATION_S),
            "seed": request.seed,
        }
        song_request = SongRequest.model_validate(
            {k: v for k, v in fields.items() if v is not None}
        )
        song = self.generate_song(song_request, progress)
        samples = round(request.duration_s * song.sample_rate_hz)
        return Clip(
            audio=song.audio[:, :samples],
            sample_rate_hz=song.sample_rate_hz,
            provider=self.name,
            cost_usd=0.0,
            info={"model": ENGINE_MODEL, "seed": song.metadata.get("seed")},
        )


__all__ = ["ENGINE_MODEL", "ENGINE_PROVIDER", "EngineProvider", "SongMaker"]
