"""Songs made once per test session and shared: generating is the expensive part."""

from __future__ import annotations

from pathlib import Path

import pytest

from songforge.engine import generate
from songforge.request import SongRequest
from songforge.song import Song

SHORT_S = 30.0


@pytest.fixture(scope="session")
def song_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("songs")


def make_song(**fields: object) -> Song:
    """A short song from request fields (30 s unless given)."""
    fields.setdefault("duration", SHORT_S)
    return generate(SongRequest.model_validate(fields))
