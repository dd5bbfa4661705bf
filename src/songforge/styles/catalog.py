"""Loads and validates the style data files; resolves genre names and aliases to styles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from songforge.errors import StyleFileError, UnknownStyle
from songforge.styles.schema import Style

Model = TypeVar("Model", bound=BaseModel)


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def load_data_file(path: Path, model: type[Model]) -> Model:
    """One YAML data file validated as ``model``; StyleFileError names the file (and the
    field). YAML is read with libyaml's safe loader when present (~5x faster than the
    pure-Python one) and imported here, on first use: a run that finds the prompt cache fresh
    never reads YAML (its import is ~20 ms of start-up)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        raise StyleFileError(f"{path.name}: cannot read YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StyleFileError(f"{path.name}: {where}: {first['msg']}") from exc


def load_style_file(path: Path) -> Style:
    """Parse and validate one style YAML file; errors name the file and the field."""
    return load_data_file(path, Style)


class StyleCatalog:
    """All installed styles, addressable by id, name or alias."""

    def __init__(self, styles: list[Style]) -> None:
        self._by_id = {s.id: s for s in sorted(styles, key=lambda s: s.id)}
        self._by_name: dict[str, str] = {}
        if len(self._by_id) != len(styles):
            raise StyleFileError("two style files share one id")
        for style in self._by_id.values():
            for name in {_normalise(n) for n in (style.id, style.name, *style.aliases)}:
                owner = self._by_name.setdefault(name, style.id)
                if owner != style.id:
                    raise StyleFileError(
                        f"{style.id}: the name or alias {name!r} already belongs to {owner}"
                    )

    def __iter__(self) -> Iterator[Style]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, style_id: str) -> Style:
        return self._by_id[style_id]

    def find(self, name: str) -> Style | None:
        """The style a genre name or alias names, or None."""
        style_id = self._by_name.get(_normalise(name))
        return self._by_id[style_id] if style_id else None

    def resolve(self, name: str) -> Style:
        """Like :meth:`find` but raises :class:`UnknownStyle` naming the choices."""
        style = self.find(name)
        if style is None:
            raise UnknownStyle(
                "genre", f"unknown genre {name!r}; choose one of: {', '.join(self.ids())}"
            )
        return style

    def aliases(self) -> dict[str, str]:
        """Every normalised name and alias → style id."""
        return dict(self._by_name)

    @classmethod
    def from_directory(cls, directory: Path) -> StyleCatalog:
        return cls([load_style_file(p) for p in sorted(directory.glob("*.yaml"))])


def default_catalog() -> StyleCatalog:
    """The styles shipped in the package (read once per process, or loaded from the prompt
    cache: :mod:`songforge.prompt.knowledge`)."""
    from songforge.prompt.knowledge import default_knowledge

    return default_knowledge().catalog
