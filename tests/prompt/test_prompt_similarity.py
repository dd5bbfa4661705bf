"""The TF-IDF layer finds a style from words only its data mentions, misspelt or not."""

from __future__ import annotations

from songforge.prompt.similarity import style_index
from songforge.styles.catalog import StyleCatalog


def test_a_tag_word_pulls_towards_its_style(small_catalog: StyleCatalog) -> None:
    sims = style_index(small_catalog).similarities("a big arena show")
    assert sims["rock"] > 0.05 > sims["drone"]


def test_character_ngrams_forgive_misspellings(small_catalog: StyleCatalog) -> None:
    sims = style_index(small_catalog).similarities("meditaton and stilnes")
    assert sims["drone"] > sims["rock"]
    assert sims["drone"] > 0.05


def test_unrelated_text_is_not_similar_to_anything(small_catalog: StyleCatalog) -> None:
    sims = style_index(small_catalog).similarities("qwzx vvkj")
    assert max(sims.values()) < 0.03


def test_the_words_behind_a_similarity_are_named(small_catalog: StyleCatalog) -> None:
    _, top = style_index(small_catalog).analyse("loud arena show with pads")
    assert "arena" in top["rock"]
    assert "pads" in top["drone"]


def test_the_index_is_built_once_per_catalog(small_catalog: StyleCatalog) -> None:
    assert style_index(small_catalog) is style_index(small_catalog)
