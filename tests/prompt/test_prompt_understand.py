"""Reading prompts: genre, mood, mode, tempo, energy and the evidence behind each choice."""

from __future__ import annotations

import pytest

from songforge.prompt import Interpretation, explain_text, understand
from songforge.styles.catalog import StyleCatalog
from songforge.theory import Mode, TimeSignature

# Natural prompts and the styles a genre-savvy musician would accept for each.
NATURAL_PROMPTS: list[tuple[str, set[str]]] = [
    ("music for a rainy night drive through Tokyo", {"synthwave", "lofi"}),
    ("songs like early Metallica", {"metal"}),
    ("something to cook dinner to", {"jazz", "funk", "lofi"}),
    ("melancholic piano lofi for studying", {"lofi"}),
    ("deep house for a sunset rooftop", {"house"}),
    ("epic trailer music", {"cinematic"}),
    ("a sad country ballad about trains", {"country"}),
    ("gym workout", {"metal", "punk", "trap", "techno", "drum_and_bass"}),
    ("chill beats", {"lofi", "hip_hop"}),
    ("a Berlin warehouse at 4am", {"techno"}),
    ("sunday morning coffee", {"jazz", "lofi"}),
    ("hands in the air festival euphoria", {"trance", "house"}),
    ("smoky bar, late night saxophone", {"jazz", "blues"}),
    ("music to fall asleep to", {"ambient", "lofi"}),
    ("meditation and yoga", {"ambient"}),
    ("whiskey, pickup trucks and dirt roads", {"country"}),
    ("Delta crossroads at midnight with a slide guitar", {"blues"}),
    ("Hans Zimmer style battle music", {"cinematic"}),
    ("slap bass and horn stabs, 70s groove", {"funk"}),
    ("like James Brown", {"funk"}),
    ("angry teenage rebellion, fast and loud", {"punk"}),
    ("Atlanta 808s with hi hat rolls", {"trap"}),
    ("old school boom bap like Dr. Dre", {"hip_hop"}),
    ("neon-lit 80s retro arcade", {"synthwave"}),
    ("rolling amen breaks, jungle pressure", {"drum_and_bass"}),
    ("radio-friendly catchy summer hit", {"pop"}),
    ("stadium anthem with big guitar riffs", {"rock", "metal"}),
    ("floating in outer space, weightless", {"ambient", "cinematic"}),
    ("a romantic candlelit dinner", {"jazz", "pop", "lofi", "funk"}),
    ("running playlist to push my pace", {"drum_and_bass", "house", "trance", "techno", "pop"}),
    ("Daft Punk style disco", {"house", "funk"}),
    ("Aphex Twin", {"techno", "ambient"}),
    ("Johnny Cash", {"country"}),
    ("Miles Davis at the Blue Note", {"jazz"}),
    ("Ramones", {"punk"}),
    ("wedding first dance", {"pop", "jazz", "country", "cinematic"}),
    ("video game boss fight", {"cinematic", "metal", "synthwave", "drum_and_bass", "techno"}),
    ("hacker in a cyberpunk city", {"synthwave", "techno"}),
    ("muddy waters style shuffle", {"blues"}),
    ("banjo and fiddle hoedown", {"country"}),
    ("a tense heist scene", {"cinematic"}),
    ("mellow Rhodes and vinyl crackle", {"lofi", "jazz", "hip_hop"}),
    ("sunny beach party", {"house", "pop"}),
    ("dark cinematic horror", {"cinematic", "ambient"}),
    ("a summer road trip with the windows down", {"rock", "pop", "country"}),
    ("music for programming late at night", {"lofi", "ambient", "synthwave", "techno"}),
    ("a melancolic synthwav night", {"synthwave"}),
    ("songs for a forest walk at dawn", {"ambient"}),
    ("a sad song", {"pop", "lofi", "blues", "country", "ambient"}),
    ("happy upbeat song", {"pop", "funk", "house"}),
    ("a lullaby for my daughter", {"ambient", "lofi", "pop"}),
    ("make me a banger for the club", {"house", "techno", "trap", "hip_hop"}),
    ("soundtrack for a documentary about glaciers", {"cinematic", "ambient"}),
    ("bossa nova by the pool", {"jazz"}),
    ("a protest song", {"punk", "rock", "country"}),
    ("relaxing spa music", {"ambient"}),
]


def read(prompt: str, catalog: StyleCatalog) -> Interpretation:
    return understand(prompt, catalog, embeddings="off")


@pytest.mark.parametrize(("prompt", "acceptable"), NATURAL_PROMPTS)
def test_natural_prompts_land_on_a_sensible_genre(
    prompt: str, acceptable: set[str], catalog: StyleCatalog
) -> None:
    if not acceptable & set(catalog.ids()):
        pytest.skip(f"none of {sorted(acceptable)} is installed yet")
    assert read(prompt, catalog).style_id in acceptable


@pytest.mark.parametrize(
    ("prompt", "style_id"),
    [
        ("drum and bass", "drum_and_bass"),
        ("some heavy drum & bass", "drum_and_bass"),
        ("lo-fi hip hop", "lofi"),
        ("lofi hip hop radio", "lofi"),
        ("hip hop", "hip_hop"),
        ("deep house", "house"),
        ("dnb", "drum_and_bass"),
        ("synthwave", "synthwave"),
        ("Synth-Wave please", "synthwave"),
        ("heavy metal", "metal"),
        ("punk rock", "punk"),
        ("trap", "trap"),
    ],
)
def test_genre_names_and_aliases_win_and_the_longest_match_wins(
    prompt: str, style_id: str, catalog: StyleCatalog
) -> None:
    if style_id not in catalog.ids():
        pytest.skip(f"{style_id} is not installed yet")
    assert read(prompt, catalog).style_id == style_id


def test_a_genre_named_as_a_seasoning_loses_to_the_main_genre(catalog: StyleCatalog) -> None:
    assert read("jazz with a lofi feel", catalog).style_id == "jazz"
    assert read("lofi with jazz chords", catalog).style_id == "lofi"


def test_a_genre_word_used_as_an_ordinary_noun_is_not_a_genre(catalog: StyleCatalog) -> None:
    assert read("a song about my house", catalog).style_id == "pop"


def test_explicit_values_reach_the_interpretation(catalog: StyleCatalog) -> None:
    reading = read("slow rock ballad in F# minor at 140 bpm, 3:30 long, in 6/8", catalog)
    assert reading.style_id == "rock"
    assert reading.key is not None and reading.key.name == "F# minor"
    assert reading.mode is Mode.MINOR
    assert (reading.tempo_bpm, reading.tempo_explicit) == (140.0, True)  # beats "slow"
    assert reading.duration_s == 210.0
    assert reading.time_signature is TimeSignature.SIX_EIGHT


def test_a_waltz_is_in_three(catalog: StyleCatalog) -> None:
    assert read("a country waltz", catalog).time_signature is TimeSignature.THREE_FOUR


def test_a_workout_has_more_energy_than_studying(catalog: StyleCatalog) -> None:
    gym, study = read("gym workout", catalog), read("music for studying", catalog)
    assert gym.energy is not None and study.energy is not None
    assert gym.energy > study.energy + 0.3


def test_energy_words_move_energy_within_a_genre(catalog: StyleCatalog) -> None:
    calm, wild = read("soft gentle rock", catalog), read("loud explosive rock", catalog)
    style_energy = catalog.get("rock").energy
    assert calm.energy is not None and wild.energy is not None
    assert calm.energy < style_energy < wild.energy


@pytest.mark.parametrize(
    ("prompt", "mood", "mode"),
    [
        ("a sad song", "sad", Mode.MINOR),
        ("a happy song", "happy", Mode.MAJOR),
        ("dark and sinister", "dark", Mode.MINOR),
        ("chill beats", "chill", None),
        ("something melancholy", "melancholic", Mode.MINOR),
        ("a romantic song for my wife", "romantic", Mode.MAJOR),
        ("tense and suspenseful", "tense", Mode.MINOR),
    ],
)
def test_moods_are_canonical_and_imply_a_mode(
    prompt: str, mood: str, mode: Mode | None, catalog: StyleCatalog
) -> None:
    reading = read(prompt, catalog)
    assert (reading.mood, reading.mode) == (mood, mode)


def test_an_explicit_key_beats_the_mood_for_the_mode(catalog: StyleCatalog) -> None:
    reading = read("a happy song in E minor", catalog)
    assert reading.mood == "happy"
    assert reading.mode is Mode.MINOR


def test_a_neutral_prompt_leaves_mood_mode_tempo_and_energy_to_the_style(
    catalog: StyleCatalog,
) -> None:
    reading = read("synthwave", catalog)
    assert (reading.mood, reading.mode, reading.tempo_bpm, reading.energy) == (None,) * 4


def test_slow_and_fast_place_the_tempo_inside_the_chosen_styles_range(
    catalog: StyleCatalog,
) -> None:
    slow, fast = read("very slow house", catalog), read("fast house", catalog)
    low, high = catalog.get("house").tempo_bpm
    assert slow.tempo_bpm is not None and fast.tempo_bpm is not None
    assert not slow.tempo_explicit and not fast.tempo_explicit
    assert low <= slow.tempo_bpm < catalog.get("house").default_tempo_bpm < fast.tempo_bpm <= high


@pytest.mark.parametrize(("prompt", "_acceptable"), NATURAL_PROMPTS)
def test_inferred_values_stay_in_range(
    prompt: str, _acceptable: set[str], catalog: StyleCatalog
) -> None:
    reading = read(prompt, catalog)
    low, high = catalog.get(reading.style_id).tempo_bpm
    if reading.tempo_bpm is not None:
        assert low <= reading.tempo_bpm <= high
    if reading.energy is not None:
        assert 0.0 <= reading.energy <= 1.0
    if reading.mood is not None:
        from songforge.prompt.lexicon import default_lexicon

        assert reading.mood in default_lexicon().moods()


def test_instruments_are_canonical_and_negation_excludes_them(catalog: StyleCatalog) -> None:
    reading = read("sad piano and saxophone, no drums or bass", catalog)
    assert reading.instruments == ("piano", "saxophone")
    assert reading.excluded_instruments == ("drums", "bass")


def test_a_negated_mood_is_not_the_mood(catalog: StyleCatalog) -> None:
    reading = read("a rock song that is not sad", catalog)
    assert reading.mood != "sad"
    assert any(e.field == "ignored" and "sad" in e.words for e in reading.evidence)


def test_eras_are_read(catalog: StyleCatalog) -> None:
    assert read("an 80s power ballad", catalog).era == "80s"
    assert read("vintage 1920s speakeasy", catalog).era == "vintage"


def test_evidence_names_the_words_and_says_why(catalog: StyleCatalog) -> None:
    reading = read("songs like early Metallica", catalog)
    genre = [e for e in reading.evidence if e.field == "genre" and e.value == "metal"]
    assert any("metallica" in e.words and "artist marker for metal" in e.reason for e in genre)
    night = read("music for a rainy night drive", catalog)
    words = {w for e in night.evidence for w in e.words}
    assert {"rainy", "night drive"} <= words
    assert any(e.field == "mood" and "rainy" in e.words for e in night.evidence)


def test_a_misspelling_is_read_and_the_evidence_says_so(catalog: StyleCatalog) -> None:
    reading = read("songs like metalica", catalog)
    assert reading.style_id == "metal"
    assert any("read as 'metallica'" in e.reason for e in reading.evidence)


@pytest.mark.parametrize("prompt", ["asdkjh qwpoeiru zzkx", "make me a song", "!!!", "42"])
def test_a_prompt_without_genre_cues_falls_back_to_pop_and_says_so(
    prompt: str, catalog: StyleCatalog
) -> None:
    reading = read(prompt, catalog)
    assert reading.style_id == "pop"
    assert reading.fallback
    assert reading.style_scores[0] == ("pop", 0.0)
    assert any(e.field == "genre" and "no genre cue" in e.reason for e in reading.evidence)


def test_style_scores_rank_every_installed_style(catalog: StyleCatalog) -> None:
    reading = read("music for a rainy night drive through Tokyo", catalog)
    ids = [sid for sid, _ in reading.style_scores]
    scores = [score for _, score in reading.style_scores]
    assert sorted(ids) == sorted(catalog.ids())
    assert ids[0] == reading.style_id
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-3)


def test_reading_is_deterministic(catalog: StyleCatalog) -> None:
    prompt = "melancholic piano lofi for studying, 3 minutes"
    assert read(prompt, catalog) == read(prompt, catalog)


def test_styles_missing_from_the_catalog_are_ignored(small_catalog: StyleCatalog) -> None:
    assert read("songs like Metallica", small_catalog).style_id == "drone"  # first id, no pop
    assert read("songs like Metallica", small_catalog).fallback
    assert read("grunge with loud guitars", small_catalog).style_id == "rock"
    sleepy = read("something to fall asleep to", small_catalog)
    assert sleepy.style_id == "drone"
    assert sleepy.tempo_bpm is not None and 50 <= sleepy.tempo_bpm < 60  # drone's own range


def test_explain_text_lists_each_value_with_its_reasons(catalog: StyleCatalog) -> None:
    text = explain_text(read("songs like early Metallica at 180 bpm", catalog))
    assert text.splitlines()[0].startswith("genre:")
    assert "metal" in text.splitlines()[0]
    assert "'metallica' is an artist marker for metal" in text
    assert "180 bpm (as written)" in text
    assert "[" not in text  # rich-style markup would swallow bracketed text in the CLI


def test_the_public_api_is_exported() -> None:
    import songforge.prompt as prompt

    assert set(prompt.__all__) == {"Evidence", "Interpretation", "explain_text", "understand"}
