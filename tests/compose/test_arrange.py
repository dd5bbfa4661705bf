"""Arranging: the style's parts with their sounds, energy-driven dynamics, remixing into another
style, instrument hints, determinism and every shipped style file end to end."""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from compose_helpers import composed, make_plan, rock, song, song_plan, style_variant

from songforge.compose.composer import arrange, compose
from songforge.compose.context import DEFAULT_RANGES
from songforge.compose.instruments import assign_hints, match_instrument
from songforge.compose.score import PartRole, SectionKind
from songforge.plan import resolve_plan
from songforge.prompt.understand import understand
from songforge.request import SongRequest
from songforge.styles.catalog import default_catalog
from songforge.styles.schema import Feel, SynthPatch
from songforge.theory import TimeSignature


def test_each_part_carries_its_specs_instrument_and_mix() -> None:
    style = rock()
    _, score = song("rock")
    assert score.style_id == "rock"
    assert score.tempo_bpm == score.composition.tempo_bpm
    for spec in style.parts:
        part = score.part(spec.name)
        assert part.role is spec.role
        assert part.instrument == spec.instrument
        assert part.mix == spec.mix


def test_parts_follow_the_style_order_after_the_drums() -> None:
    _, score = song("rock")
    names = [p.name for p in score.parts]
    expected = ["drums"] + [p.name for p in rock().parts if p.name in names]
    assert names == expected


def test_the_score_lasts_the_requested_duration() -> None:
    for duration_s in (30.0, 200.0, 600.0):
        _, score = song("rock", duration_s=duration_s)
        assert score.duration_s == pytest.approx(duration_s, abs=0.1)


def test_the_chorus_is_louder_and_fuller_than_the_verse() -> None:
    composition, score = song("rock")
    bar = composition.beats_per_bar

    def stats(kind: SectionKind) -> tuple[float, int]:
        section = next(s for s in composition.sections if s.kind is kind)
        start, end = section.start_bar * bar, section.end_bar * bar
        playing = [
            [n for n in p.notes if start <= n.start_beat < end]
            for p in score.parts
            if p.role is not PartRole.DRUMS
        ]
        notes = [n for notes in playing for n in notes]
        return statistics.mean(n.velocity for n in notes), sum(1 for notes in playing if notes)

    verse_velocity, verse_parts = stats(SectionKind.VERSE)
    chorus_velocity, chorus_parts = stats(SectionKind.CHORUS)
    assert chorus_velocity > verse_velocity
    assert chorus_parts > verse_parts


def test_the_bass_and_harmony_parts_end_on_the_tonic_chord() -> None:
    composition, score = song("pop", minor=False)
    end = composition.total_beats
    bass = [n for n in score.part("bass").notes if abs(n.start_beat - end) < 0.05]
    assert bass and all(n.pitch % 12 == composition.key.tonic_pc for n in bass)
    final = composition.chords[-1].chord.pitch_classes
    for part in score.parts:
        if part.role in (PartRole.CHORDS, PartRole.PAD):
            last = [n for n in part.notes if abs(n.start_beat - end) < 0.05]
            assert all(n.pitch % 12 in final for n in last), part.name


def test_remixing_arranges_the_same_composition_in_another_style() -> None:
    composition = composed("rock", seed=5)
    house = default_catalog().get("house")
    plan = song_plan("rock", seed=5)
    score = arrange(composition, house, plan)
    assert score.composition is composition
    assert score.style_id == "house"
    assert score.tempo_bpm == composition.tempo_bpm
    lead = next(p for p in score.parts if p.role is PartRole.LEAD)
    melody_classes = {n.pitch % 12 for n in composition.melody}
    assert lead.notes and {n.pitch % 12 for n in lead.notes} <= melody_classes | {
        composition.key.tonic_pc
    }


def test_an_instrument_hint_gives_the_lead_that_instrument() -> None:
    style = rock()
    plan = make_plan(style, instrument_hints=("saxophone",))
    score = arrange(compose(plan), style, plan)
    lead = score.part("lead_guitar")
    assert lead.instrument.gm_program == 65
    assert lead.instrument.synth is SynthPatch.BRASS
    assert score.extras["instrument_hints"] == {"lead_guitar": "saxophone"}


def test_hints_go_to_the_closest_part_and_unknown_words_are_ignored() -> None:
    parts, applied = assign_hints(rock().parts, ["strings", "kazoo", "upright bass", "piano"])
    by_name = {p.name: p for p in parts}
    assert by_name["organ"].instrument.gm_program == 48, "a pad takes the strings"
    assert by_name["bass"].instrument.synth is SynthPatch.UPRIGHT_BASS
    assert by_name["lead_guitar"].instrument.synth is SynthPatch.PIANO
    assert "kazoo" not in applied.values()
    electric_piano = match_instrument("electric piano")
    synth_bass = match_instrument("a warm synth bass line")
    assert electric_piano is not None and electric_piano.synth is SynthPatch.ELECTRIC_PIANO
    assert synth_bass is not None and synth_bass.synth is SynthPatch.FM_BASS


def test_the_same_plan_gives_the_same_score() -> None:
    plan = make_plan(seed=42, instrument_hints=("piano",))
    first = compose(plan)
    second = compose(plan)
    assert first == second
    assert arrange(first, rock(), plan) == arrange(second, rock(), plan)


def test_another_seed_changes_the_melody_and_the_arrangement() -> None:
    one, score_one = song("rock", seed=1)
    two, score_two = song("rock", seed=2)
    assert one.melody != two.melody
    assert score_one.part("drums").notes != score_two.part("drums").notes


def test_one_parts_choices_never_shift_anothers() -> None:
    style = rock()
    without_organ = style_variant(
        style, parts=[p.model_dump(mode="python") for p in style.parts if p.name != "organ"]
    )
    plan = make_plan(style, seed=9)
    composition = compose(plan)
    full = arrange(composition, style, plan)
    fewer = arrange(composition, without_organ, plan)
    for part in fewer.parts:
        assert part.notes == full.part(part.name).notes, part.name


@pytest.mark.parametrize("style_id", default_catalog().ids())
def test_every_style_file_composes_and_arranges(style_id: str) -> None:
    style = default_catalog().get(style_id)
    for meter in style.time_signatures:
        plan = make_plan(style, time_signature=meter, duration_s=90.0, seed=13)
        composition = compose(plan)
        score = arrange(composition, style, plan)
        assert score.duration_s == pytest.approx(plan.duration_s, abs=1.0)
        assert (style.drums is not None) == any(p.name == "drums" for p in score.parts)
        assert any(p.role is PartRole.LEAD and p.notes for p in score.parts), (
            "someone carries the tune"
        )
        end = score.total_beats
        specs = {p.name: p for p in style.parts}
        for part in score.parts:
            assert part.notes
            for n in part.notes:
                assert n.start_beat >= 0.0 and n.end_beat <= end + 1e-6
                assert 1 <= n.velocity <= 127 and n.duration_beats > 0
            spec = specs.get(part.name)
            if spec is not None and not part.is_drums and spec.role is not PartRole.FX:
                low, high = spec.pitch_range or DEFAULT_RANGES[spec.role]
                assert all(low <= n.pitch <= high for n in part.notes), (style_id, part.name)


@pytest.mark.parametrize("meter", list(TimeSignature), ids=[m.value for m in TimeSignature])
def test_every_meter_arranges(meter: TimeSignature) -> None:
    composition, score = song("rock", meter=meter, duration_s=60.0)
    assert score.duration_s == pytest.approx(60.0, abs=0.1)
    assert all(p.notes for p in score.parts)
    assert composition.time_signature is meter


def test_rubato_loosens_the_grid() -> None:
    style = default_catalog().get("ambient")
    _, score = song("ambient", duration_s=90.0)
    assert style.feel is Feel.RUBATO
    onsets = [n.start_beat for p in score.parts for n in p.notes if n.start_beat > 0.0]
    off_grid_ms = [abs(t * 4 - round(t * 4)) / 4 * 60000 / score.tempo_bpm for t in onsets]
    assert statistics.mean(off_grid_ms) > 5.0


def test_a_follow_kick_bass_plays_with_the_kick() -> None:
    style = style_variant(
        rock(),
        parts=[
            {**p.model_dump(mode="python"), "pattern": "follow_kick"}
            if p.name == "bass"
            else p.model_dump(mode="python")
            for p in rock().parts
        ],
    )
    plan = make_plan(style, seed=4, duration_s=60.0, time_signature=TimeSignature.FOUR_FOUR)
    composition = compose(plan)
    score = arrange(composition, style, plan)
    changes = {round(e.start_beat, 2) for e in composition.chords}
    kicks = score.kick_beats
    for n in score.part("bass").notes:
        near_kick = any(abs(n.start_beat - k) < 0.05 for k in kicks)
        assert near_kick or any(abs(n.start_beat - c) < 0.05 for c in changes), n


def _digest() -> str:
    composition, score = song("funk", seed=21, duration_s=45.0)
    return hashlib.sha256(repr((composition, score.parts, score.kick_beats)).encode()).hexdigest()


_CHILD = """
import sys
sys.path.insert(0, {helpers!r})
from test_arrange import _digest
print(_digest())
"""


def test_the_score_is_identical_in_a_fresh_process_with_another_hash_seed() -> None:
    code = _CHILD.format(helpers=str(Path(__file__).parent))
    child = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == _digest()


@pytest.mark.parametrize(
    "prompt",
    ["driving 90s alternative rock anthem, 140 bpm, E minor, 3 minutes", "a sad lofi waltz in 3/4"],
)
def test_a_plan_resolved_from_a_prompt_composes_to_its_duration(
    prompt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONGFORGE_EMBEDDINGS", "off")
    catalog = default_catalog()
    request = SongRequest(prompt=prompt, seed=3)
    plan = resolve_plan(request, understand(prompt, catalog), catalog, seed=3)
    score = arrange(compose(plan), plan.style, plan)
    assert score.duration_s == pytest.approx(plan.duration_s, abs=1.0)
    if plan.tempo_locked:
        assert score.tempo_bpm == plan.tempo_bpm
