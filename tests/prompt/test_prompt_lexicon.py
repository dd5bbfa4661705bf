"""The concept lexicon is valid data that covers the vocabulary prompts actually use."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from songforge.errors import StyleFileError
from songforge.prompt.lexicon import default_lexicon, load_lexicon_file
from songforge.prompt.matching import normalised_terms

STYLE_IDS = {
    "rock", "metal", "punk", "pop", "house", "techno", "trance", "drum_and_bass", "synthwave",
    "hip_hop", "trap", "lofi", "ambient", "jazz", "funk", "blues", "country", "cinematic",
}  # fmt: skip


@cache
def all_terms() -> frozenset[str]:
    return frozenset(" ".join(t) for c in default_lexicon().concepts for t in normalised_terms(c))


def test_the_lexicon_has_several_hundred_terms() -> None:
    assert len(all_terms()) >= 600


def test_it_votes_only_for_known_styles_and_for_all_of_them() -> None:
    assert default_lexicon().style_ids() == STYLE_IDS


def test_a_term_belongs_to_one_concept_only() -> None:
    owners: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for number, concept in enumerate(default_lexicon().concepts):
        for term in normalised_terms(concept):
            owners[term].add(number)
    shared = sorted(" ".join(t) for t, who in owners.items() if len(who) > 1)
    assert shared == []


def test_the_canonical_moods_cover_the_issue() -> None:
    wanted = {
        "happy", "uplifting", "sad", "melancholic", "dark", "epic", "chill", "relaxed",
        "aggressive", "dreamy", "romantic", "nostalgic", "tense", "hopeful",
    }  # fmt: skip
    assert wanted <= default_lexicon().moods()


@pytest.mark.parametrize(
    "term",
    [
        "study", "sleep", "workout", "gym", "running", "party", "dinner", "cooking", "driving",
        "night drive", "rainy", "sunset", "beach", "forest", "space", "city", "trailer",
        "wedding", "video game", "meditation", "70s", "80s", "90s", "2000s", "retro", "vintage",
        "modern", "piano", "guitar", "synth", "808", "saxophone", "strings", "violin", "fiddle",
        "banjo", "organ", "brass", "choir", "rhodes", "tokyo", "neon", "metallica", "slayer",
        "daft punk", "hans zimmer", "miles davis", "james brown", "johnny cash", "ramones",
        "aphex twin", "dr dre",
    ],
)  # fmt: skip
def test_the_issue_vocabulary_is_present(term: str) -> None:
    assert term in all_terms()


def test_a_bad_lexicon_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "lexicon.yaml"
    bad.write_text("concepts:\n  - kind: mood\n    terms: [x]\n    energy: 3\n", encoding="utf-8")
    with pytest.raises(StyleFileError, match=r"lexicon.yaml: concepts\.0\.energy"):
        load_lexicon_file(bad)
