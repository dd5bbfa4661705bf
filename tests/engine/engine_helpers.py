"""Making short songs for the engine's tests."""

from __future__ import annotations

from songforge.engine import generate
from songforge.request import SongRequest
from songforge.song import Song

SHORT_S = 30.0


def make_song(**fields: object) -> Song:
    """A short song from request fields (30 s unless given)."""
    fields.setdefault("duration", SHORT_S)
    return generate(SongRequest.model_validate(fields))
