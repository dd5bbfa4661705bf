"""Planning a long song as clips along its form: bar lines, sections, overlaps, limits, cues."""

from __future__ import annotations

import itertools
import math

import pytest

from songforge.errors import InvalidRequest
from songforge.longform import SongForm, clip_count, plan_segments, segment_prompt, song_form
from songforge.request import SongRequest


@pytest.fixture(scope="module")
def form() -> SongForm:
    request = SongRequest(prompt="driving synthwave at night, E minor", duration=180, seed=11)
    return song_form(request, seed=11)


def on_bar_line(seconds: float, form: SongForm) -> bool:
    bars = seconds / form.bar_s
    return math.isclose(bars, round(bars), abs_tol=1e-6)


def test_the_form_comes_from_the_engines_planning(form: SongForm) -> None:
    assert form.key == "E minor"
    assert form.duration_s == 180.0
    kinds = [s.kind for s in form.sections]
    assert kinds[0] == "intro" and "chorus" in kinds
    assert form.sections[0].start_s == 0.0
    assert all(a.end_bar == b.start_bar for a, b in itertools.pairwise(form.sections))


def test_segments_cover_the_song_without_gaps_and_meet_on_bar_lines(form: SongForm) -> None:
    plan = plan_segments(form, 30.0)
    segments = plan.segments
    assert segments[0].start_s == 0.0 and segments[-1].end_s == form.duration_s
    for before, after in itertools.pairwise(segments):
        assert before.end_s == after.start_s
        assert on_bar_line(after.start_s, form)
    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[-1].last and not any(s.last for s in segments[:-1])


def test_each_clip_fits_the_provider_and_overlaps_the_next_by_a_bar(form: SongForm) -> None:
    plan = plan_segments(form, 30.0, overlap_bars=1)
    assert plan.overlap_s == pytest.approx(form.bar_s)
    for segment in plan.segments:
        assert segment.clip_s <= 30.0
        assert segment.clip_s == int(segment.clip_s)  # whole seconds
        if not segment.last:
            assert segment.clip_s >= segment.kept_s + plan.overlap_s


def test_continuation_leaves_room_for_the_previous_clips_tail(form: SongForm) -> None:
    plan = plan_segments(form, 30.0, continuation=True, prompt_s=8.0)
    assert plan.prompt_s == 8.0
    assert plan.segments[0].clip_s <= 30.0
    for segment in plan.segments[1:]:
        assert segment.clip_s + plan.prompt_s <= 30.0 + 1e-9


def test_cuts_prefer_section_starts(form: SongForm) -> None:
    starts = {s.start_bar for s in form.sections}
    plan = plan_segments(form, 30.0)
    cut_bars = [s.start_bar for s in plan.segments[1:]]
    assert len(starts & set(cut_bars)) >= len(cut_bars) // 2


def test_a_provider_without_a_clip_limit_gets_one_segment(form: SongForm) -> None:
    plan = plan_segments(form, None)
    [only] = plan.segments
    assert (only.start_s, only.end_s, only.clip_s) == (0.0, 180.0, 180.0)
    assert plan_segments(form, 600.0).segments == plan.segments


def test_the_rest_of_a_song_can_be_planned_from_any_bar(form: SongForm) -> None:
    plan = plan_segments(form, 20.0, start_bar=24)
    assert plan.segments[0].start_bar == 24
    assert plan.segments[-1].end_s == form.duration_s


def test_a_short_last_clip_is_lengthened_to_the_providers_minimum(form: SongForm) -> None:
    plan = plan_segments(form, 30.0, min_clip_s=20.0)
    assert plan.segments[-1].clip_s >= 20.0


def test_clips_too_short_for_a_bar_and_its_overlap_are_refused(form: SongForm) -> None:
    with pytest.raises(InvalidRequest, match="cannot hold a bar"):
        plan_segments(form, form.bar_s * 1.5)


def test_each_segment_prompt_carries_section_tempo_key_and_energy(form: SongForm) -> None:
    plan = plan_segments(form, 30.0)
    count = len(plan.segments)
    first = segment_prompt("driving synthwave", form, plan.segments[0], count)
    later = segment_prompt("driving synthwave", form, plan.segments[1], count)
    last = segment_prompt("driving synthwave", form, plan.segments[-1], count)
    assert first.startswith("driving synthwave.")
    assert f"{form.tempo_bpm:.0f} bpm" in first and "E minor" in first
    assert f"Part 1 of {count}: intro" in first and "energy" in first
    assert "Continue the same song seamlessly" in later
    assert "ending" in last


def test_the_quick_clip_count_estimate_is_close_to_the_plan(form: SongForm) -> None:
    for limit, continuation in ((30.0, False), (30.0, True), (47.0, False), (None, False)):
        plan = plan_segments(form, limit, continuation=continuation)
        clips, audio_s = clip_count(
            form.duration_s, limit, bar_s=form.bar_s, continuation=continuation
        )
        assert abs(clips - len(plan.segments)) <= max(1, 0.25 * len(plan.segments))
        assert audio_s >= form.duration_s


def test_the_last_clip_is_not_a_sliver(form: SongForm) -> None:
    for limit in (20.0, 30.0, 47.0):
        plan = plan_segments(form, limit)
        assert plan.segments[-1].kept_s >= 0.3 * limit
