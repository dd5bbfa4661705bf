"""Stitching: equal-power crossfades, loudness matching, beat alignment, exact length — and
the seam metrics that judge them."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.longform import (
    Placement,
    conform,
    equal_power_gains,
    score_seams,
    stitch,
    to_song_format,
)
from songforge.longform.stitch import best_shift, short_term_loudness_db
from songforge.providers.fake import groove
from songforge.theory import Key

RATE = 22050
TEMPO = 120.0
BAR_S = 2.0
BEAT_S = 0.5


def stereo(mono: np.ndarray) -> np.ndarray:
    return np.stack([mono, mono]).astype(np.float32)


def music(seconds: float, key: str = "A minor", seed: int = 0, timbre: int = 0) -> np.ndarray:
    return stereo(
        groove(round(seconds * RATE), RATE, TEMPO, Key.parse(key), seed=seed, timbre=timbre)
    )


def cut(signal: np.ndarray, segment_bars: int, overlap_bars: int = 1) -> list[Placement]:
    """Overlapping pieces of one continuous signal, as a provider would return them."""
    pieces, bar = [], 0
    total_bars = signal.shape[1] / RATE / BAR_S
    while bar < total_bars:
        start = round(bar * BAR_S * RATE)
        stop = round((bar + segment_bars + overlap_bars) * BAR_S * RATE)
        pieces.append(Placement(signal[:, start:stop], bar * BAR_S))
        bar += segment_bars
    return pieces


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x.astype(np.float64)))))


def test_segments_of_one_continuous_signal_stitch_back_into_it() -> None:
    song = music(60.0)
    stitched = stitch(cut(song, 7), RATE, overlap_s=BAR_S, beat_s=BEAT_S)
    assert stitched.audio.shape == song.shape
    assert np.max(np.abs(stitched.audio - song)) < 1e-4
    assert all(seam.shift_s == 0.0 and abs(seam.gain_db) < 0.01 for seam in stitched.seams)


def test_segments_of_one_continuous_signal_score_as_seamless() -> None:
    stitched = stitch(cut(music(60.0), 7), RATE, overlap_s=BAR_S, beat_s=BEAT_S)
    report = score_seams(stitched.audio, RATE, [(s.start_s, s.crossfade_s) for s in stitched.seams])
    assert len(report.seams) == 4
    assert report.seamless, report.to_dict()


def test_a_hard_cut_between_unlike_signals_scores_worse_than_a_crossfade() -> None:
    one, other = music(32.0), music(32.0, key="C# major", seed=3, timbre=1)
    hard = np.concatenate([one[:, : 30 * RATE], other[:, : 30 * RATE]], axis=1)
    hard_report = score_seams(hard, RATE, [(30.0, 0.0)])
    faded = stitch(
        [Placement(one, 0.0), Placement(other, 30.0)], RATE, overlap_s=BAR_S, beat_s=BEAT_S
    )
    faded_report = score_seams(faded.audio, RATE, [(30.0, BAR_S)])
    assert not hard_report.seamless
    assert hard_report.worst_flux_ratio > faded_report.worst_flux_ratio


def test_a_cut_from_a_tone_into_noise_is_far_from_seamless() -> None:
    t = np.arange(20 * RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = 0.3 * np.random.default_rng(0).standard_normal(20 * RATE)
    report = score_seams(stereo(np.concatenate([tone, noise])), RATE, [(20.0, 0.0)])
    assert report.seams[0].flux_ratio > 10 and report.seams[0].flux_percentile == 1.0


def test_the_crossfade_is_equal_power_with_no_dip_for_uncorrelated_signals() -> None:
    rng = np.random.default_rng(1)
    a = stereo(0.2 * rng.standard_normal(12 * RATE))
    b = stereo(0.2 * rng.standard_normal(12 * RATE))
    out = stitch(
        [Placement(a, 0.0), Placement(b, 10.0)],
        RATE,
        overlap_s=BAR_S,
        beat_s=BEAT_S,
        align=False,
        match_loudness=False,
    ).audio
    level = db(out[:, 2 * RATE : 8 * RATE])
    for start in np.arange(10.0, 12.0, 0.25):  # every quarter second through the fade
        window = out[:, round(start * RATE) : round((start + 0.25) * RATE)]
        assert db(window) == pytest.approx(level, abs=0.5)


def test_identical_material_crossfades_without_a_bump() -> None:
    fade_out, fade_in = equal_power_gains(1000, correlation=1.0)
    assert np.allclose(fade_out + fade_in, 1.0, atol=1e-6)
    fade_out, fade_in = equal_power_gains(1000, correlation=0.0)
    assert np.allclose(fade_out**2 + fade_in**2, 1.0, atol=1e-6)


def test_a_quieter_clip_is_matched_to_the_loudness_around_the_seam() -> None:
    song = music(40.0)
    pieces = cut(song, 9)
    quiet = Placement(pieces[1].audio * np.float32(10 ** (-6 / 20)), pieces[1].start_s)
    stitched = stitch([pieces[0], quiet], RATE, overlap_s=BAR_S, beat_s=BEAT_S)
    assert stitched.seams[0].gain_db == pytest.approx(6.0, abs=0.1)


def test_a_clip_that_starts_late_is_pulled_back_onto_the_beat() -> None:
    song = music(30.0)
    bar = round(BAR_S * RATE)
    late = np.concatenate([np.zeros((2, round(0.03 * RATE)), np.float32), song[:, 8 * bar :]], 1)
    assert best_shift(song[:, 8 * bar : 9 * bar], late[:, :bar], RATE, BEAT_S / 4) == -0.03
    stitched = stitch(
        [Placement(song[:, : 9 * bar], 0.0), Placement(late, 8 * BAR_S)],
        RATE,
        overlap_s=BAR_S,
        beat_s=BEAT_S,
    )
    assert stitched.seams[0].shift_s == pytest.approx(-0.03, abs=0.006)


def test_unrelated_material_is_not_shifted() -> None:
    rng = np.random.default_rng(4)
    noise = stereo(0.1 * rng.standard_normal(4 * RATE))
    assert best_shift(music(4.0), noise, RATE, BEAT_S / 4) == 0.0


def test_a_song_is_conformed_to_exactly_its_length_with_a_fade_out() -> None:
    long = music(65.0)
    out = conform(long, RATE, 60.0, fade_s=4.0)
    assert out.shape[1] == 60 * RATE
    assert np.max(np.abs(out[:, -10:])) < 1e-3  # faded to silence at the very end
    assert np.array_equal(out[:, : 50 * RATE], long[:, : 50 * RATE])
    short = conform(music(58.5), RATE, 60.0, fade_s=4.0)
    assert short.shape[1] == 60 * RATE and not short[:, round(58.6 * RATE) :].any()


def test_clips_of_any_rate_and_width_become_song_stereo() -> None:
    mono = np.zeros((1, 32000), np.float32)
    out = to_song_format(mono, 32000, 44100)
    assert out.shape == (2, 44100) and out.dtype == np.float32


def test_short_term_loudness_follows_level() -> None:
    loud = music(5.0)
    assert short_term_loudness_db(loud * np.float32(0.5), RATE) == pytest.approx(
        short_term_loudness_db(loud, RATE) - 6.02, abs=0.05
    )
