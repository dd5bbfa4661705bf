"""The packaged styles and lexicon with their prompt indexes, kept between runs.

Reading the style files and the lexicon and building the two prompt indexes took ~0.3 s of
every fresh process (every `songforge` command), while composing a song takes ~0.2 s. They
are pure functions of the package's data files, so they are pickled into the user's cache
directory (``$SONGFORGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/songforge``, else
``~/.cache/songforge``) under a name hashed from those files and the songforge and Python
versions: a changed file means another name, never a stale answer. A missing, unreadable or
unwritable cache only means building them here (~14 ms to load instead)."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from songforge import __version__
from songforge.fileio import write_bytes_atomic
from songforge.prompt import matching, similarity
from songforge.prompt.lexicon import Lexicon, load_lexicon_file
from songforge.styles.catalog import StyleCatalog

log = logging.getLogger(__name__)
ENV_VAR = "SONGFORGE_CACHE_DIR"


@dataclass(frozen=True)
class Knowledge:
    """What prompt understanding reads: the style catalog and the lexicon (their indexes are
    registered with :mod:`~songforge.prompt.similarity` and :mod:`~songforge.prompt.matching`)."""

    catalog: StyleCatalog
    lexicon: Lexicon


def cache_dir() -> Path:
    explicit = os.environ.get(ENV_VAR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "songforge"


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The package's catalog and lexicon, their indexes ready (from the cache when it holds
    them for exactly these files)."""
    styles = resources.files("songforge.styles") / "data"
    lexicon_file = resources.files("songforge.prompt") / "lexicon.yaml"
    with resources.as_file(styles) as style_dir, resources.as_file(lexicon_file) as lexicon_path:
        style_files = sorted(Path(style_dir).glob("*.yaml"))
        digest = hashlib.sha256(f"{__version__}|{sys.version}|{pickle.HIGHEST_PROTOCOL}".encode())
        for path in [*style_files, Path(lexicon_path)]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        cached = cache_dir() / f"prompt-{digest.hexdigest()[:32]}.pickle"
        loaded = _load(cached)
        if loaded is None:
            catalog = StyleCatalog.from_directory(Path(style_dir))
            lexicon = load_lexicon_file(Path(lexicon_path))
            loaded = (
                catalog,
                lexicon,
                similarity.build_style_index(catalog),
                matching.build_index(lexicon, catalog),
            )
            _store(cached, loaded)
    catalog, lexicon, style_index, phrase_index = loaded
    similarity.remember_style_index(catalog, style_index)
    matching.remember_phrase_index(lexicon, catalog, phrase_index)
    return Knowledge(catalog, lexicon)


_Entry = tuple[StyleCatalog, Lexicon, similarity.StyleIndex, matching.PhraseIndex]


def _trusted(path: Path) -> bool:
    """Only a file this user owns and no one else may write, in a directory where no one else
    may replace it (not writable by others, or sticky like ``/tmp``), is unpickled: a pickle
    can run code, and the cache directory may be shared."""
    if not hasattr(os, "getuid"):
        return True
    others_write = stat.S_IWGRP | stat.S_IWOTH
    mine = path.stat()
    folder = path.parent.stat()
    if mine.st_uid != os.getuid() or mine.st_mode & others_write:
        return False
    return not folder.st_mode & others_write or bool(folder.st_mode & stat.S_ISVTX)


def _load(path: Path) -> _Entry | None:
    try:
        if not _trusted(path):
            log.warning("ignoring the prompt cache %s: others may write it", path)
            return None
        data = path.read_bytes()
    except OSError:
        return None
    try:
        entry = pickle.loads(data)
    except Exception as exc:  # a damaged file: rebuilt (and rewritten) below
        log.warning("ignoring a damaged prompt cache %s: %s", path, exc)
        return None
    kinds = (StyleCatalog, Lexicon, similarity.StyleIndex, matching.PhraseIndex)
    if not (
        isinstance(entry, tuple)
        and len(entry) == len(kinds)
        and all(isinstance(part, kind) for part, kind in zip(entry, kinds, strict=True))
    ):
        return None
    return entry


def _store(path: Path, entry: _Entry) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL), mode=0o600)
    except OSError as exc:  # a read-only home: no cache, same answers
        log.debug("prompt cache not written to %s: %s", path, exc)
