"""The sentence-embedding layer is optional: off by setting, skipped when not installed, and
blended into the genre scores when a model is there."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from songforge.prompt import embeddings, understand
from songforge.prompt.embeddings import (
    EmbeddingMatcher,
    EmbeddingsSetting,
    EmbeddingsUnavailable,
    matcher_for,
    setting_from_env,
)
from songforge.styles.catalog import StyleCatalog


class KeywordEncoder:
    """A stand-in model: 'zzgloop' means the same as the drone style, everything else is noise."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, sentences: list[str]) -> Any:
        self.calls.append(list(sentences))
        rows = []
        for text in sentences:
            lowered = text.lower()
            drone = 1.0 if lowered.startswith("drone music") or "zzgloop" in lowered else 0.0
            rock = 1.0 if lowered.startswith("rock music") else 0.0
            rows.append([drone, rock, 0.1])
        return np.array(rows)


class BrokenEncoder:
    def encode(self, sentences: list[str]) -> Any:
        raise RuntimeError("CUDA out of memory")


@pytest.mark.parametrize(
    ("environ", "setting"),
    [
        ({}, EmbeddingsSetting.AUTO),
        ({"SONGFORGE_EMBEDDINGS": "off"}, EmbeddingsSetting.OFF),
        ({"SONGFORGE_EMBEDDINGS": " ON "}, EmbeddingsSetting.ON),
        ({"SONGFORGE_EMBEDDINGS": "maybe"}, EmbeddingsSetting.AUTO),
    ],
)
def test_the_setting_is_read_from_the_environment(
    environ: dict[str, str], setting: EmbeddingsSetting
) -> None:
    assert setting_from_env(environ) is setting


def test_off_never_loads_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_installed", lambda: True)
    monkeypatch.setattr(embeddings, "_shared_matcher", lambda: pytest.fail("model loaded"))
    assert matcher_for("off") is None


def test_auto_without_the_extra_falls_back_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_installed", lambda: False)
    assert matcher_for("auto") is None


def test_on_without_the_extra_fails_with_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_installed", lambda: False)
    with pytest.raises(EmbeddingsUnavailable, match=r"pip install 'songforge\[embeddings\]'"):
        matcher_for("on")


def test_the_environment_switches_the_default_reader_off(
    monkeypatch: pytest.MonkeyPatch, small_catalog: StyleCatalog
) -> None:
    monkeypatch.setenv("SONGFORGE_EMBEDDINGS", "off")
    monkeypatch.setattr(embeddings, "_shared_matcher", lambda: pytest.fail("model loaded"))
    assert understand("zzgloop", small_catalog).fallback


def test_embedding_similarity_is_blended_into_the_genre_scores(
    small_catalog: StyleCatalog,
) -> None:
    matcher = EmbeddingMatcher(KeywordEncoder(), name="keyword model")
    reading = understand("zzgloop", small_catalog, embeddings=matcher)
    assert reading.style_id == "drone"
    assert not reading.fallback
    assert any("keyword model similarity" in e.reason for e in reading.evidence)


def test_style_texts_are_embedded_once_per_catalog(small_catalog: StyleCatalog) -> None:
    encoder = KeywordEncoder()
    matcher = EmbeddingMatcher(encoder)
    understand("zzgloop", small_catalog, embeddings=matcher)
    understand("zzgloop again", small_catalog, embeddings=matcher)
    batch_sizes = [len(call) for call in encoder.calls]
    assert batch_sizes == [len(small_catalog), 1, 1]


def test_a_model_failing_at_run_time_does_not_stop_the_reading(
    small_catalog: StyleCatalog,
) -> None:
    reading = understand(
        "grunge guitars", small_catalog, embeddings=EmbeddingMatcher(BrokenEncoder())
    )
    assert reading.style_id == "rock"
