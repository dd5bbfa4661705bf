"""songforge: a text prompt becomes a finished, full-length, mastered song."""

from __future__ import annotations

__version__ = "0.1.0"

from songforge.errors import (
    BudgetExceeded,
    ContentRefused,
    InvalidRequest,
    OutputError,
    ProviderError,
    ProviderUnavailable,
    SongforgeError,
    SoundFontError,
    UnknownStyle,
)
from songforge.progress import Progress, ProgressCallback
from songforge.request import AudioFormat, SongRequest
from songforge.settings import Settings
from songforge.song import Song


def generate(
    request: SongRequest,
    *,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
) -> Song:
    """Make a song: ``songforge.generate(SongRequest(prompt=..., genre=..., seed=...))``.

    The request's ``provider`` list (or the configured policy: by default the offline engine)
    decides who makes it; the song's metadata says which provider made which segment."""
    from songforge.progress import ignore_progress
    from songforge.providers import ProviderGenerator

    return ProviderGenerator(settings or Settings()).generate(request, progress or ignore_progress)


def remix(
    sheet: dict[str, object],
    *,
    genre: str,
    seed: int | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
) -> Song:
    """Re-arrange a song's composition (from its metadata sheet) in another genre."""
    from songforge.engine import remix as _remix

    return _remix(sheet, genre=genre, seed=seed, settings=settings, progress=progress)


__all__ = [
    "AudioFormat",
    "BudgetExceeded",
    "ContentRefused",
    "InvalidRequest",
    "OutputError",
    "Progress",
    "ProgressCallback",
    "ProviderError",
    "ProviderUnavailable",
    "Settings",
    "Song",
    "SongRequest",
    "SongforgeError",
    "SoundFontError",
    "UnknownStyle",
    "__version__",
    "generate",
    "remix",
]
