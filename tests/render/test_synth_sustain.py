"""Long held notes loop a prototype's sustain and still sound like one long note."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.compose.score import Note, Part, PartRole
from songforge.render.synth import render_note, render_synth_part
from songforge.render.synth.sustain import (
    LOOP_AFTER_S,
    LOOPED_PATCHES,
    PROTOTYPE_HOLD_S,
    crossfade,
    extend_sustain,
    loop_length,
)
from songforge.styles.schema import InstrumentSpec, PartMix, SynthPatch
from songforge.theory import midi_to_hz

SR = 44100


def _looped_and_direct(
    patch: SynthPatch, pitch: int, hold_s: float
) -> tuple[np.ndarray, np.ndarray]:
    proto = render_note(
        patch, pitch, round(PROTOTYPE_HOLD_S * SR), 0.8, SR, np.random.default_rng(3)
    )
    looped = extend_sustain(proto, round(hold_s * SR), midi_to_hz(pitch), SR)
    direct = render_note(patch, pitch, round(hold_s * SR), 0.8, SR, np.random.default_rng(3))
    return looped, direct


def _window_rms_db(
    audio: np.ndarray, start_s: float, end_s: float, window_s: float = 0.02
) -> np.ndarray:
    window = int(window_s * SR)
    segment = audio[int(start_s * SR) : int(end_s * SR)].astype(np.float64)
    blocks = segment[: len(segment) // window * window].reshape(-1, window)
    return 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-20)


def test_the_loop_is_a_whole_number_of_periods() -> None:
    for pitch in (28, 45, 69, 96):
        length = loop_length(midi_to_hz(pitch), SR)
        periods = length * midi_to_hz(pitch) / SR
        assert abs(periods - round(periods)) * SR / midi_to_hz(pitch) <= 0.5


def test_a_crossfade_keeps_the_level_of_related_and_unrelated_audio() -> None:
    rng = np.random.default_rng(0)
    tone = np.sin(np.arange(4000) * 0.05).astype(np.float32)
    noise_a, noise_b = rng.standard_normal((2, 4000)).astype(np.float32)
    assert np.allclose(crossfade(tone, tone), tone, atol=1e-5)
    middle = crossfade(noise_a, noise_b)[1500:2500]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    "patch", sorted(LOOPED_PATCHES, key=lambda p: p.value), ids=lambda p: p.value
)
def test_a_looped_note_sounds_like_the_note_played_straight(patch: SynthPatch) -> None:
    pitch, hold_s = (33 if "bass" in patch.value else 57), 9.37
    looped, direct = _looped_and_direct(patch, pitch, hold_s)
    period = SR / midi_to_hz(pitch)
    assert abs(len(looped) - len(direct)) <= period + 1, "released at most one period early"
    steady_looped = _window_rms_db(looped, 2.5, hold_s - 0.1)
    steady_direct = _window_rms_db(direct, 2.5, hold_s - 0.1)
    assert steady_looped.min() > np.median(steady_looped) - 3.0 - (
        np.median(steady_direct) - steady_direct.min()
    ), "no dips at the seams"
    assert abs(np.median(steady_looped) - np.median(steady_direct)) < 1.5, "the same level"
    biggest_step = float(np.max(np.abs(np.diff(looped))))
    assert biggest_step <= 1.5 * float(np.max(np.abs(np.diff(direct)))) + 0.01, "no clicks"
    assert abs(float(looped[-1])) < 1e-3


def test_the_part_renderer_holds_long_pad_notes_steadily_then_releases_them() -> None:
    hold_beats = (LOOP_AFTER_S + 3.0) * 2  # at 120 bpm
    hold_s = hold_beats * 0.5
    part = Part(
        "pad",
        PartRole.PAD,
        (Note(0.0, hold_beats, 48, 100),),
        InstrumentSpec(synth=SynthPatch.WARM_PAD),
        PartMix(),
    )
    audio = render_synth_part(part, 120.0, hold_s + 2.0, SR)[0]
    direct = render_note(
        SynthPatch.WARM_PAD, 48, round(hold_s * SR), 0.9, SR, np.random.default_rng(1)
    )
    looped_levels = _window_rms_db(audio, 2.5, hold_s - 0.1, window_s=0.1)
    direct_levels = _window_rms_db(direct, 2.5, hold_s - 0.1, window_s=0.1)
    spread = direct_levels.max() - direct_levels.min()
    assert looped_levels.max() - looped_levels.min() < spread + 1.5
    after = audio[int((hold_s + 1.5) * SR) :]
    assert float(np.max(np.abs(after))) < 0.01 * float(np.max(np.abs(audio))), "released"
