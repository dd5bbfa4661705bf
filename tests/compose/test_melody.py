"""The melody: built from motifs into question/answer phrases that keep the classic rules."""

from __future__ import annotations

import statistics
from itertools import pairwise

import pytest
from compose_helpers import composed, notes_in, relative, section_beats, sections_of

from songforge.compose.melody import HOOK_KINDS, PHRASE_BARS
from songforge.compose.rhythm import is_strong
from songforge.compose.score import Composition, Note, SectionKind
from songforge.compose.timeline import ChordTimeline
from songforge.theory import TimeSignature

SONGS = [
    ("rock", 1, TimeSignature.FOUR_FOUR),
    ("pop", 2, TimeSignature.FOUR_FOUR),
    ("jazz", 3, TimeSignature.FOUR_FOUR),
    ("blues", 4, TimeSignature.FOUR_FOUR),
    ("trance", 5, TimeSignature.FOUR_FOUR),
    ("country", 6, TimeSignature.THREE_FOUR),
    ("cinematic", 7, TimeSignature.SIX_EIGHT),
    ("lofi", 8, TimeSignature.FOUR_FOUR),
]


def phrases(composition: Composition) -> list[list[Note]]:
    """The melody cut into the 4-bar phrases each section is written in."""
    bar = composition.beats_per_bar
    out = []
    for section in composition.sections:
        start, end = section_beats(composition, section)
        t = start
        while t < end:
            chunk = notes_in(composition.melody, t, min(t + PHRASE_BARS * bar, end))
            if chunk:
                out.append(chunk)
            t += PHRASE_BARS * bar
    return out


@pytest.fixture(params=SONGS, ids=[f"{s}-{m.value}" for s, _, m in SONGS])
def composition(request: pytest.FixtureRequest) -> Composition:
    style_id, seed, meter = request.param
    return composed(style_id, seed=seed, meter=meter)


def test_strong_beats_carry_chord_tones(composition: Composition) -> None:
    timeline = ChordTimeline(composition.chords)
    strong = [n for n in composition.melody if is_strong(n.start_beat, composition.time_signature)]
    fitting = [n for n in strong if n.pitch % 12 in timeline.chord_at(n.start_beat).pitch_classes]
    assert strong and len(fitting) / len(strong) >= 0.8


def test_the_melody_stays_within_a_twelfth(composition: Composition) -> None:
    pitches = [n.pitch for n in composition.melody]
    assert max(pitches) - min(pitches) <= 19


def test_the_melody_moves_mostly_by_step_and_rarely_by_octave(composition: Composition) -> None:
    moves = [abs(b.pitch - a.pitch) for p in phrases(composition) for a, b in pairwise(p)]
    small = sum(1 for m in moves if m <= 4)
    octaves = sum(1 for m in moves if m >= 12)
    assert small / len(moves) >= 0.6
    assert octaves / len(moves) <= 0.05


def test_a_leap_over_a_fifth_is_followed_by_a_move_back(composition: Composition) -> None:
    for phrase in phrases(composition):
        pitches = [n.pitch for n in phrase]
        for a, b, c in zip(pitches, pitches[1:], pitches[2:], strict=False):
            leap, after = b - a, c - b
            if abs(leap) > 7:
                assert after != 0 and (after > 0) != (leap > 0), pitches


def test_each_phrase_has_one_high_point(composition: Composition) -> None:
    for phrase in phrases(composition):
        top = max(n.pitch for n in phrase)
        assert sum(1 for n in phrase if n.pitch == top) == 1, [n.pitch for n in phrase]


def test_phrases_end_with_a_rest(composition: Composition) -> None:
    bar = composition.beats_per_bar
    for section in composition.sections:
        start, _ = section_beats(composition, section)
        for k in range(section.bars // PHRASE_BARS):
            phrase_end = start + (k + 1) * PHRASE_BARS * bar
            chunk = notes_in(composition.melody, phrase_end - PHRASE_BARS * bar, phrase_end)
            if chunk:
                assert phrase_end - max(n.end_beat for n in chunk) >= 1.0 - 1e-6


def test_phrases_end_on_a_chord_tone(composition: Composition) -> None:
    timeline = ChordTimeline(composition.chords)
    for phrase in phrases(composition):
        last = phrase[-1]
        assert last.pitch % 12 in timeline.chord_at(last.start_beat).pitch_classes


def test_the_chorus_sits_a_few_semitones_above_the_verse() -> None:
    for style_id, seed in (("rock", 1), ("pop", 2), ("country", 3), ("metal", 4), ("trap", 5)):
        composition = composed(style_id, seed=seed)
        bar = composition.beats_per_bar

        def mean_pitch(
            kind: SectionKind, composition: Composition = composition, bar: float = bar
        ) -> float:
            return statistics.mean(
                n.pitch
                for s in sections_of(composition, kind)
                for n in notes_in(composition.melody, s.start_bar * bar, s.end_bar * bar)
            )

        lift = mean_pitch(SectionKind.CHORUS) - mean_pitch(SectionKind.VERSE)
        assert 1.5 <= lift <= 8.0, (style_id, lift)


def chorus_heads(composition: Composition) -> list[list[tuple[float, float, int]]]:
    kind = next(k for k in HOOK_KINDS if sections_of(composition, k))
    choruses = sections_of(composition, kind)
    bar = composition.beats_per_bar
    bars = min(c.bars for c in choruses) - 1  # a section's last bar turns toward what follows
    heads = []
    for chorus in choruses:
        start, _ = section_beats(composition, chorus)
        end = start + bars * bar - (bar if chorus is composition.sections[-1] else 0)
        heads.append(relative(notes_in(composition.melody, start, end), start))
    return heads


@pytest.mark.parametrize("style_id", ["rock", "pop", "trance", "trap"])
def test_every_chorus_repeats_the_same_melody_and_hook(style_id: str) -> None:
    composition = composed(style_id)
    heads = chorus_heads(composition)
    assert len(heads) >= 2
    for head in heads[1:]:
        assert head == heads[0][: len(head)]
    hook = relative(list(composition.hook), 0.0)
    assert hook and heads[0][: len(hook)] == hook


def test_the_hook_is_short_and_rhythmic() -> None:
    composition = composed("pop")
    hook = composition.hook
    assert 2 <= len(hook) <= 16
    assert max(n.end_beat for n in hook) <= 2 * composition.beats_per_bar + 1e-6


def test_the_hook_returns_at_the_head_of_every_chorus_phrase() -> None:
    composition = composed("rock", seed=11)
    chorus = sections_of(composition, SectionKind.CHORUS)[0]
    start, _ = section_beats(composition, chorus)
    phrase = PHRASE_BARS * composition.beats_per_bar
    first = relative(notes_in(composition.melody, start, start + 1.0), start)
    second = relative(
        notes_in(composition.melody, start + phrase, start + phrase + 1.0), start + phrase
    )
    assert [d for _, d, _ in first] == [d for _, d, _ in second], "the hook's rhythm comes back"


def contour(notes: list[Note]) -> list[int]:
    return [(b.pitch > a.pitch) - (b.pitch < a.pitch) for a, b in pairwise(notes)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_second_verse_varies_the_first_but_keeps_its_contour(seed: int) -> None:
    composition = composed("rock", seed=seed)
    first, second = sections_of(composition, SectionKind.VERSE)[:2]
    bars = min(first.bars, second.bars)
    bar = composition.beats_per_bar
    one = notes_in(composition.melody, first.start_bar * bar, (first.start_bar + bars) * bar)
    two = notes_in(composition.melody, second.start_bar * bar, (second.start_bar + bars) * bar)
    assert relative(one, first.start_bar * bar) != relative(two, second.start_bar * bar)
    assert len(one) == len(two)
    assert contour(one) == contour(two)


def test_the_intro_leaves_the_melody_silent() -> None:
    composition = composed("rock")
    intro = sections_of(composition, SectionKind.INTRO)[0]
    assert not notes_in(composition.melody, *section_beats(composition, intro))


def test_the_counter_melody_answers_in_the_melodys_rests(composition: Composition) -> None:
    counter = composition.counter_melody
    assert counter
    assert len(counter) < len(composition.melody)
    timeline = ChordTimeline(composition.chords)
    for c in counter:
        assert c.pitch % 12 in timeline.chord_at(c.start_beat).pitch_classes
        for m in composition.melody:
            assert c.end_beat <= m.start_beat + 1e-6 or c.start_beat >= m.end_beat - 1e-6, (c, m)


def test_the_melody_never_runs_past_the_song() -> None:
    composition = composed("house")
    assert all(
        n.start_beat >= 0 and n.end_beat <= composition.total_beats for n in composition.melody
    )
