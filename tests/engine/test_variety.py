"""Seeds and genres change the song; the same request never does."""

from __future__ import annotations

from songforge.compose.composer import arrange, compose
from songforge.compose.score import Score
from songforge.plan import resolve_plan
from songforge.prompt.understand import understand
from songforge.request import SongRequest
from songforge.styles.catalog import default_catalog


def score_for(**fields: object) -> Score:
    request = SongRequest.model_validate({"duration": 180, **fields})
    catalog = default_catalog()
    seed = request.seed if request.seed is not None else 0
    plan = resolve_plan(request, understand(request.prompt, catalog), catalog, seed)
    return arrange(compose(plan), plan.style, plan)


def groove(score: Score) -> list[tuple[float, int]]:
    drums = score.part("drums")
    return [(round(n.start_beat, 2), n.pitch) for n in drums.notes[:64]]


def test_other_seeds_of_one_prompt_change_melody_or_harmony_or_groove() -> None:
    first = score_for(prompt="deep house for a sunset rooftop", seed=1)
    for seed in (2, 3, 4):
        other = score_for(prompt="deep house for a sunset rooftop", seed=seed)
        changed = (
            other.composition.melody != first.composition.melody,
            other.composition.chords != first.composition.chords,
            groove(other) != groove(first),
        )
        assert any(changed), seed


def test_one_seed_in_two_genres_differs_in_tempo_instruments_and_groove() -> None:
    rock = score_for(prompt="a song", genre="rock", seed=5)
    house = score_for(prompt="a song", genre="house", seed=5)
    assert rock.tempo_bpm != house.tempo_bpm
    assert {p.instrument for p in rock.parts} != {p.instrument for p in house.parts}
    assert groove(rock) != groove(house)


def test_explicit_fields_win_over_the_prompt() -> None:
    score = score_for(
        prompt="slow sad jazz ballad in C major at 70 bpm",
        genre="techno",
        bpm=131,
        key="A minor",
        seed=3,
    )
    assert score.style_id == "techno"
    assert score.tempo_bpm == 131
    assert score.composition.key.name == "A minor"
