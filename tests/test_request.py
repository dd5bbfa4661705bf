"""The request schema: explicit, validated, the same for library, CLI and API."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from songforge.compose.score import SectionKind
from songforge.request import AudioFormat, SongRequest, parse_duration_s
from songforge.theory import Mode, TimeSignature


def field_of(exc: ValidationError) -> str:
    return ".".join(str(p) for p in exc.errors()[0]["loc"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(200, 200.0), ("200", 200.0), ("200s", 200.0), ("3:20", 200.0), ("0:30", 30.0), (45.5, 45.5)],
)
def test_duration_reads_seconds_and_minutes(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == seconds
    assert SongRequest(prompt="x", duration=text).duration == seconds if seconds >= 30 else True


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"bpm": 300}, "bpm"),
        ({"bpm": 39.9}, "bpm"),
        ({"duration": 29}, "duration"),
        ({"duration": "10:01"}, "duration"),
        ({"duration": "soon"}, "duration"),
        ({"key": "H minor"}, "key"),
        ({"genre": "polka-step"}, "genre"),
        ({"time_signature": "5/4"}, "time_signature"),
        ({"structure": ["intro", "kazoo"]}, "structure"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"format": "aiff"}, "format"),
        ({"sample_rate": 22050}, "sample_rate"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 1001}, "prompt"),
        ({"tempo": 120}, "tempo"),
    ],
)
def test_invalid_values_name_their_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SongRequest.model_validate({"prompt": "a song", **fields})
    assert field_of(info.value) == field


def test_unknown_genre_lists_the_choices() -> None:
    with pytest.raises(ValidationError) as info:
        SongRequest(prompt="x", genre="polka-step")
    assert "rock" in str(info.value)


def test_explicit_fields_are_normalised() -> None:
    request = SongRequest(
        prompt="  anthem  ",
        genre="Alt Rock",
        key="f# m",
        mode="dorian",
        time_signature="6/8",
        structure="intro, verse, pre-chorus, hook, outro",
        format="mp3",
    )
    assert request.prompt == "anthem"
    assert request.genre == "rock"
    assert request.key == "F# minor"
    assert request.resolved_key() is not None and request.resolved_key().mode is Mode.DORIAN
    assert request.time_signature is TimeSignature.SIX_EIGHT
    assert request.structure == [
        SectionKind.INTRO,
        SectionKind.VERSE,
        SectionKind.PRE_CHORUS,
        SectionKind.CHORUS,
        SectionKind.OUTRO,
    ]
    assert request.format is AudioFormat.MP3


def test_cache_key_fields_are_stable_and_json_ready() -> None:
    a = SongRequest(prompt="x", duration="3:00", seed=4)
    b = SongRequest(prompt="x", duration=180, seed=4)
    assert a.cache_key_fields() == b.cache_key_fields()
