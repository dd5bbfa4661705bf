"""songforge: a text prompt becomes a finished, full-length, mastered song."""

from __future__ import annotations

__version__ = "0.1.0"

from songforge.errors import (
    InvalidRequest,
    OutputError,
    SongforgeError,
    SoundFontError,
    UnknownStyle,
)
from songforge.request import AudioFormat, SongRequest


def generate(request: SongRequest, **kwargs: object) -> "Song":  # noqa: UP037
    """Make a song: ``songforge.generate(SongRequest(prompt=..., genre=..., seed=...))``."""
    from songforge.engine import generate as _generate

    return _generate(request, **kwargs)  # type: ignore[arg-type]


from songforge.song import Song  # noqa: E402

__all__ = [
    "AudioFormat",
    "InvalidRequest",
    "OutputError",
    "Song",
    "SongRequest",
    "SongforgeError",
    "SoundFontError",
    "UnknownStyle",
    "__version__",
    "generate",
]
