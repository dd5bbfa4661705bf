"""Filtering and Butterworth designs without importing scipy.signal: the same answers as
scipy.signal's functions, with or without the directly loaded kernel, and the engine's import
no longer pays for scipy.signal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from songforge.render import iir

RATE = 44100.0
DESIGNS = [
    ("lowpass", (180.0,)),
    ("lowpass", (6500.0,)),
    ("lowpass", (19800.0,)),
    ("highpass", (30.0,)),
    ("highpass", (2500.0,)),
    ("bandpass", (1500.0, 6000.0)),
    ("bandpass", (330.0, 1980.0)),
]


@pytest.mark.parametrize(("kind", "edges"), DESIGNS)
@pytest.mark.parametrize("order", [1, 2, 4])
def test_butterworth_designs_respond_as_scipys(
    kind: str, edges: tuple[float, ...], order: int
) -> None:
    ours = iir.butter(order, edges, kind, RATE)  # type: ignore[arg-type]
    theirs = signal.butter(
        order, edges[0] if len(edges) == 1 else edges, btype=kind, fs=RATE, output="sos"
    )
    _, h_ours = signal.sosfreqz(ours, 2048, fs=RATE)
    _, h_theirs = signal.sosfreqz(theirs, 2048, fs=RATE)
    np.testing.assert_allclose(h_ours, h_theirs, rtol=0, atol=1e-10)
    noise = np.random.default_rng(order).standard_normal(8000)
    np.testing.assert_allclose(iir.sosfilt(ours, noise), signal.sosfilt(theirs, noise), atol=1e-9)


def test_impossible_designs_are_refused() -> None:
    with pytest.raises(ValueError):
        iir.butter(0, (100.0,), "lowpass", RATE)
    with pytest.raises(ValueError):
        iir.butter(2, (30000.0,), "lowpass", RATE)
    with pytest.raises(ValueError):
        iir.butter(2, (100.0,), "bandpass", RATE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_filtering_with_state_matches_scipy_in_one_and_two_dimensions(dtype: type) -> None:
    rng = np.random.default_rng(3)
    sos = signal.butter(4, 1000.0, fs=RATE, output="sos").astype(dtype)
    mono = rng.standard_normal(5000).astype(dtype)
    state = rng.standard_normal((2, 2)).astype(dtype)
    ours, ours_final = iir.sosfilt(sos, mono, state)
    theirs, theirs_final = signal.sosfilt(sos, mono, zi=state)
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours_final, theirs_final)
    stereo = rng.standard_normal((2, 5000)).astype(dtype)
    states = rng.standard_normal((2, 2, 2)).astype(dtype)
    ours, ours_final = iir.sosfilt(sos, stereo, states)
    theirs, theirs_final = signal.sosfilt(sos, stereo, axis=-1, zi=states)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours_final, theirs_final)
    assert np.array_equal(iir.sosfilt(sos, stereo), signal.sosfilt(sos, stereo, axis=-1))


def test_one_biquad_matches_lfilter() -> None:
    rng = np.random.default_rng(5)
    b, a = np.array([0.2, 0.3, 0.1]), np.array([1.0, -0.4, 0.2])
    x, zi = rng.standard_normal(3000), np.array([0.1, -0.2])
    ours, ours_final = iir.biquad(b, a, x, zi)
    theirs, theirs_final = signal.lfilter(b, a, x, zi=zi)
    np.testing.assert_allclose(ours, theirs, atol=1e-14)
    np.testing.assert_allclose(ours_final, theirs_final, atol=1e-14)


def test_without_the_kernel_scipys_function_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    sos = iir.butter(2, (500.0,), "highpass", RATE)
    x = np.random.default_rng(7).standard_normal(4000)
    zi = np.zeros((1, 2))
    with_kernel = iir.sosfilt(sos, x, zi)
    monkeypatch.setattr(iir, "_kernel", lambda: None)
    without = iir.sosfilt(sos, x, zi)
    np.testing.assert_array_equal(with_kernel[0], without[0])
    np.testing.assert_array_equal(with_kernel[1], without[1])


def test_a_kernel_that_answers_wrong_is_not_used() -> None:
    assert iir._answers_right(lambda sos, x, zi: None) is False
    kernel = iir._kernel()
    assert kernel is None or iir._answers_right(kernel)


def test_making_a_song_does_not_import_scipy_signal() -> None:
    code = (
        "import sys, songforge.cli, songforge.engine, songforge.providers.orchestrator; "
        "from songforge.render import iir, meter; "
        "meter.integrated_loudness(__import__('numpy').ones((2, 44100)), 44100); "
        "print('scipy.signal' in sys.modules, iir._kernel() is not None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
