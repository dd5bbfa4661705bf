"""The concept lexicon: words and phrases that evoke genres, moods, tempos, eras and instruments.

The data lives in ``lexicon.yaml`` beside this module and is validated here at load. Each concept
lists its terms and what they vote for: style ids with weights, a canonical mood, a mode, and
shifts of energy and tempo. Style ids missing from the installed catalog are simply ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from songforge.styles.catalog import load_data_file

ConceptKind = Literal[
    "mood", "activity", "scene", "weather", "season", "place", "era", "instrument", "artist",
    "genre", "tempo", "energy", "texture", "media",
]  # fmt: skip

# How strongly one hit of a kind votes for its styles, relative to a plain scene word.
# Artists and genre words name a sound almost outright; moods say little about genre.
KIND_STYLE_WEIGHT: dict[str, float] = {
    "artist": 2.5,
    "genre": 2.0,
    "place": 1.2,
    "media": 1.2,
    "instrument": 0.8,
    "era": 0.8,
    "mood": 0.7,
}
# How strongly a kind's mood counts: a mood word outright, an activity only by association.
KIND_MOOD_WEIGHT: dict[str, float] = {"mood": 1.0}
DEFAULT_KIND_MOOD_WEIGHT = 0.45


class Concept(BaseModel):
    """One idea and the words for it, with what it implies musically."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ConceptKind
    terms: Annotated[tuple[str, ...], Field(min_length=1)]
    styles: dict[str, Annotated[float, Field(ge=0.0, le=2.0)]] = {}
    mood: str | None = None
    mode: Literal["major", "minor"] | None = None
    energy: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.0  # shift of the 0..1 energy
    tempo: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0  # -1 bottom .. +1 top of the range
    tempo_cue: bool = False  # the concept speaks about tempo even when its shift is 0 ("mid tempo")
    era: str | None = None
    instrument: str | None = None

    @field_validator("terms", mode="before")
    @classmethod
    def _lower(cls, terms: object) -> object:
        if isinstance(terms, list | tuple):  # YAML reads 808 as a number: terms are words
            return tuple(str(t).strip().lower() for t in terms)
        return terms

    @property
    def style_weight(self) -> float:
        return KIND_STYLE_WEIGHT.get(self.kind, 1.0)

    @property
    def mood_weight(self) -> float:
        return KIND_MOOD_WEIGHT.get(self.kind, DEFAULT_KIND_MOOD_WEIGHT)

    @property
    def speaks_of_tempo(self) -> bool:
        return self.tempo_cue or self.tempo != 0.0


class Lexicon(BaseModel):
    """All concepts, in file order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concepts: tuple[Concept, ...]

    def moods(self) -> frozenset[str]:
        """The canonical mood words."""
        return frozenset(c.mood for c in self.concepts if c.mood)

    def style_ids(self) -> frozenset[str]:
        """Every style id some concept votes for."""
        return frozenset(s for c in self.concepts for s in c.styles)


def load_lexicon_file(path: Path) -> Lexicon:
    """Parse and validate a lexicon YAML file; errors name the file and the field."""
    return load_data_file(path, Lexicon)


def default_lexicon() -> Lexicon:
    """The lexicon shipped with the package (read once per process, or loaded from the prompt
    cache: :mod:`songforge.prompt.knowledge`)."""
    from songforge.prompt.knowledge import default_knowledge

    return default_knowledge().lexicon


__all__ = [
    "KIND_MOOD_WEIGHT",
    "KIND_STYLE_WEIGHT",
    "Concept",
    "ConceptKind",
    "Lexicon",
    "default_lexicon",
    "load_lexicon_file",
]
