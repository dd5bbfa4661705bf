"""The small effects beside pedalboard: duck and gate envelopes, pan law, soft clip, the
parallel split of the reverb and delay returns."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from songforge.render import effects, mix
from songforge.styles.schema import DelaySettings, MixSettings

RATE = 44100


def test_duck_is_full_on_each_hit_and_gone_after_the_release() -> None:
    hits = np.array([RATE // 2, RATE])
    envelope = effects.duck_envelope(hits, 2 * RATE, RATE, release_ms=100.0)
    assert envelope[RATE // 2] == pytest.approx(1.0)
    attack = round(effects.SIDECHAIN_ATTACK_MS * RATE / 1000)
    assert envelope[RATE // 2 - attack - 1] == 0.0  # starts only a few ms before the hit
    assert envelope[RATE // 2 + round(0.05 * RATE)] == pytest.approx(0.5, abs=0.01)
    assert envelope[RATE // 2 + round(0.101 * RATE)] == 0.0


def test_a_hit_during_a_recovery_ramps_on_from_where_it_was() -> None:
    hits = np.array([RATE // 2, RATE // 2 + round(0.05 * RATE)])  # 50 ms apart, 200 ms release
    envelope = effects.duck_envelope(hits, RATE * 2, RATE, release_ms=200.0)
    between = envelope[hits[0] : hits[1] + 1]
    assert between.min() > 0.8  # never springs back up before ducking again
    assert np.all(np.abs(np.diff(envelope)) < 0.3)  # no jumps


def test_duck_gain_reaches_the_depth() -> None:
    gain = effects.duck_gain(np.array([0.0, 1.0], np.float32), 6.0)
    assert 20 * math.log10(gain[1]) == pytest.approx(-6.0, abs=1e-4)
    assert gain[0] == 1.0


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.3, 1.0])
def test_pan_law_keeps_power_constant(pan: float) -> None:
    left, right = effects.pan_gains(pan)
    assert left**2 + right**2 == pytest.approx(1.0)


def test_soft_clip_leaves_the_body_and_rounds_the_peaks_under_the_ceiling() -> None:
    x = np.linspace(-3, 3, 10001, dtype=np.float32)
    y = x.copy()
    effects.soft_clip(y, knee=0.5, ceiling=0.9)
    body = np.abs(x) <= 0.5
    np.testing.assert_array_equal(y[body], x[body])
    assert np.abs(y).max() < 0.9
    assert np.all(np.diff(y) >= 0)  # still monotonic: no fold-over


def test_gate_opens_on_hits_and_closes_after_the_hold() -> None:
    key = np.zeros(RATE * 2, np.float32)
    key[RATE // 2 : RATE // 2 + 100] = 1.0
    gate = effects.gate_envelope(key, RATE, hold_ms=200.0)
    assert gate[RATE // 2 + round(0.1 * RATE)] == pytest.approx(1.0)
    assert gate[RATE // 2 + round(0.3 * RATE)] == pytest.approx(0.0, abs=1e-6)
    assert gate[: RATE // 2 - round(0.01 * RATE)].max() == 0.0


def test_the_gate_reopens_on_every_snare_over_busy_hats() -> None:
    rng = np.random.default_rng(4)
    key = (0.03 * rng.standard_normal(RATE * 3)).astype(np.float32)  # hats never stop
    hits = [round(t * RATE) for t in (0.25, 0.75, 1.25, 1.75, 2.25)]
    for hit in hits:
        key[hit : hit + 2000] += rng.standard_normal(2000).astype(np.float32)  # snares
    gate = effects.gate_envelope(key, RATE, hold_ms=200.0)
    for hit in hits:
        assert gate[hit + round(0.1 * RATE)] == pytest.approx(1.0)
        assert gate[hit + round(0.3 * RATE)] == pytest.approx(0.0, abs=1e-6)


def buses(send: np.ndarray) -> mix._Buses:
    both = mix._Buses(send.shape[0])
    both.send("reverb", 0, send)
    both.send("delay", 0, send)
    return both


def test_the_parallel_returns_split_matches_one_pass() -> None:
    n = round(mix.REVERB_SEGMENTS * mix.REVERB_MIN_SEGMENT_S * RATE) + RATE
    send = np.zeros(n, np.float32)
    send[:: RATE // 3] = 1.0  # a click every third of a second, across the split
    settings = MixSettings(delay=DelaySettings(feedback=0.4))
    split = np.zeros((2, n), np.float32)
    whole = np.zeros((2, n), np.float32)
    with ThreadPoolExecutor(2) as pool:
        mix._add_returns(buses(send), split, 120.0, settings, RATE, pool)
        original = mix.REVERB_SEGMENTS
        try:
            mix.REVERB_SEGMENTS = 1
            mix._add_returns(buses(send), whole, 120.0, settings, RATE, pool)
        finally:
            mix.REVERB_SEGMENTS = original
    assert np.abs(whole).max() > 0.1
    assert np.abs(split - whole).max() < 1e-3 * np.abs(whole).max()  # under -60 dB
