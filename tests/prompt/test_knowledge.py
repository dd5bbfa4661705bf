"""The packaged styles, lexicon and prompt indexes are kept in a cache between runs: the same
answers from the cache as from the files, a name that changes with what it was built from, and
a damaged or unwritable cache costs only the time to build them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from songforge.prompt import knowledge, matching, similarity
from songforge.prompt.understand import understand

PROMPTS = ["driving 90s alternative rock anthem", "rainy night drive through Tokyo", "lo-fi"]


def answers(k: knowledge.Knowledge) -> list[object]:
    return [
        understand(p, k.catalog, lexicon=k.lexicon, embeddings="off").style_scores[:3]
        for p in PROMPTS
    ]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(knowledge.ENV_VAR, str(tmp_path / "cache"))
    knowledge.default_knowledge.cache_clear()
    yield tmp_path / "cache"
    knowledge.default_knowledge.cache_clear()


def fresh() -> knowledge.Knowledge:
    knowledge.default_knowledge.cache_clear()
    return knowledge.default_knowledge()


def test_a_second_process_loads_what_the_first_built(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = fresh()
    [entry] = cache.glob("prompt-*.pickle")
    expected = answers(built)

    def no_building(*_: object) -> None:
        raise AssertionError("built again instead of loaded")

    monkeypatch.setattr(similarity, "build_style_index", no_building)
    monkeypatch.setattr(matching, "build_index", no_building)
    loaded = fresh()
    assert loaded.catalog is not built.catalog  # really read back
    assert [s.id for s in loaded.catalog] == [s.id for s in built.catalog]
    assert answers(loaded) == expected
    assert list(cache.glob("prompt-*.pickle")) == [entry]


def test_the_cache_name_follows_what_it_was_built_from(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh()
    monkeypatch.setattr(knowledge, "__version__", "0.0.0-other")
    fresh()
    assert len(list(cache.glob("prompt-*.pickle"))) == 2


def test_a_damaged_cache_is_rebuilt_and_rewritten(cache: Path) -> None:
    expected = answers(fresh())
    [entry] = cache.glob("prompt-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert answers(fresh()) == expected
    assert entry.read_bytes() != b"not a pickle"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_cache_only_means_building(cache: Path) -> None:
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert answers(fresh())
        assert list(cache.glob("prompt-*")) == []
    finally:
        cache.chmod(stat.S_IRWXU)


def test_a_cache_path_that_is_a_file_only_means_building(cache: Path) -> None:
    cache.write_text("in the way")
    assert answers(fresh())


def test_a_cache_file_others_may_write_is_not_unpickled(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pickle can run code: a cache file writable by others is rebuilt, never loaded."""
    expected = answers(fresh())
    [entry] = cache.glob("prompt-*.pickle")
    entry.chmod(0o666)
    loads: list[bytes] = []
    monkeypatch.setattr(knowledge.pickle, "loads", lambda data: loads.append(data))
    assert answers(fresh()) == expected
    assert loads == []
