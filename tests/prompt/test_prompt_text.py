"""Prompts are normalised so that spellings, inflections and small typos meet."""

from __future__ import annotations

import pytest

from songforge.prompt.text import FuzzyIndex, normalise_phrase, stem, tokenize


@pytest.mark.parametrize(
    "family",
    [
        ("driving", "drives", "drive"),
        ("melancholy", "melancholic"),
        ("dreamy", "dreams", "dreaming"),
        ("studying", "study", "studies"),
        ("relaxing", "relaxed", "relax"),
        ("rainy", "raining", "rain"),
    ],
)
def test_word_families_share_a_stem(family: tuple[str, ...]) -> None:
    assert len({stem(word) for word in family}) == 1


@pytest.mark.parametrize("pair", [("bass", "base"), ("house", "horse"), ("chill", "child")])
def test_different_words_keep_different_stems(pair: tuple[str, str]) -> None:
    assert stem(pair[0]) != stem(pair[1])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Lo-Fi Hip-Hop", ("lo", "fi", "hip", "hop")),
        ("drum'n'bass", ("drum", "and", "bass")),
        ("Drum & Bass", ("drum", "and", "bass")),
        ("rock 'n' roll", ("rock", "and", "roll")),
        ("the '90s, 80's", ("the", "90s", "80s")),
        ("Beyoncé and Motörhead", ("beyonce", "and", "motorhead")),
    ],
)
def test_spellings_normalise_to_the_same_words(text: str, words: tuple[str, ...]) -> None:
    assert normalise_phrase(text) == words


def test_tokens_keep_their_place_in_the_prompt() -> None:
    prompt = "Dark   TECHNO!"
    assert [prompt[t.start : t.end] for t in tokenize(prompt)] == ["Dark", "TECHNO"]


def test_misspellings_find_the_closest_known_word() -> None:
    index = FuzzyIndex(frozenset({"metallica", "melancholic", "synthwave", "saxophone"}))
    assert index.closest("metalica") is not None
    assert index.closest("metalica")[0] == "metallica"  # type: ignore[index]
    assert index.closest("melancolic")[0] == "melancholic"  # type: ignore[index]


def test_short_or_distant_words_are_not_guessed() -> None:
    index = FuzzyIndex(frozenset({"metallica", "trance"}), min_length=6)
    assert index.closest("trace") is None  # too short to guess safely
    assert index.closest("elephant") is None
