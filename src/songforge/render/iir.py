"""IIR filtering and Butterworth design without importing ``scipy.signal``.

Importing ``scipy.signal`` runs its package init, which imports ``scipy.stats``, the
interpolators and the array-API layer: ~1.4 s of every ``songforge`` command, more than the
whole song is composed in. The engine needs two things from it: second-order-section
filtering and Butterworth designs. The filtering is scipy's own compiled ``_sosfilt`` kernel,
loaded from its file on its own; it is checked against a known answer when first loaded, and if
it is missing or answers wrong (another scipy layout), ``scipy.signal.sosfilt`` is used
instead, which gives the same result. The designs follow ``scipy.signal.butter`` (analogue
prototype, prewarped bilinear transform) and are tested against it."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
import sys
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
_MODULE = "scipy.signal._sosfilt"


def _answers_right(kernel: Kernel) -> bool:
    """The kernel filters an impulse as the direct-form II transposed recursion does."""
    sos = np.array([[0.5, 0.25, -0.125, 1.0, -0.5, 0.25]])
    x = np.zeros((1, 6))
    x[0, 0] = 1.0
    zi = np.zeros((1, 1, 2))
    kernel(sos, x, zi)
    b0, b1, b2, _, a1, a2 = sos[0]
    expected, s1, s2 = [], 0.0, 0.0
    for sample in (1.0, 0.0, 0.0, 0.0, 0.0, 0.0):
        y = b0 * sample + s1
        s1 = b1 * sample - a1 * y + s2
        s2 = b2 * sample - a2 * y
        expected.append(y)
    return bool(np.allclose(x[0], expected, rtol=0.0, atol=1e-12))


@cache
def _kernel() -> Kernel | None:
    """scipy's compiled kernel (sos, x, zi) → x and zi filtered in place; None if unusable."""
    try:
        module = sys.modules.get(_MODULE)
        if module is None:
            scipy = importlib.util.find_spec("scipy")
            roots = scipy.submodule_search_locations if scipy is not None else None
            candidates = [
                Path(root) / "signal" / f"_sosfilt{suffix}"
                for root in roots or ()
                for suffix in importlib.machinery.EXTENSION_SUFFIXES
            ]
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                return None
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(path))
            spec = importlib.util.spec_from_file_location(_MODULE, path, loader=loader)
            if spec is None:
                return None
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            sys.modules[_MODULE] = module  # scipy.signal, if imported later, reuses it
        kernel: Kernel = module._sosfilt
        return kernel if _answers_right(kernel) else None
    except Exception:  # any surprise: the public function instead
        return None


def sosfilt(
    sos: np.ndarray, x: np.ndarray, zi: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """``scipy.signal.sosfilt(sos, x, zi=zi)`` along the last axis of 1-D or 2-D ``x``: the
    filtered signal (float32 for float32 ``sos`` and ``x``, else float64), and the final state
    when ``zi`` (shape (sections, 2) or (sections, channels, 2)) is given."""
    kernel = _kernel()
    if kernel is None:
        from scipy import signal

        return signal.sosfilt(np.array(sos), x, axis=-1, zi=zi)  # (it too wants sos writable)
    dtype = np.result_type(sos, x, np.float32)
    if zi is not None:
        dtype = np.result_type(dtype, zi)
    sections = np.array(sos, dtype=dtype, order="C", copy=True)  # the kernel wants it writable
    rows = np.array(x, dtype=dtype, order="C", ndmin=2, copy=True)  # filtered in place
    state = np.zeros((rows.shape[0], sections.shape[0], 2), dtype=dtype)
    if zi is not None:  # (sections, [channels,] 2) → (channels, sections, 2)
        given = np.asarray(zi, dtype=dtype)
        state[...] = given[np.newaxis] if given.ndim == 2 else given.transpose(1, 0, 2)
    kernel(sections, rows, state)
    out = rows[0] if np.ndim(x) == 1 else rows
    if zi is None:
        return out
    final = state[0] if np.ndim(x) == 1 else state.transpose(1, 0, 2)
    return out, np.ascontiguousarray(final)


def biquad(
    b: np.ndarray, a: np.ndarray, x: np.ndarray, zi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.lfilter(b, a, x, zi=zi)`` for one second-order section (b, a of length 3,
    a[0] = 1, zi of length 2): the same direct-form II transposed state."""
    sos = np.concatenate([b, a])[np.newaxis, :]
    result = sosfilt(sos, x, np.asarray(zi, dtype=np.float64)[np.newaxis, :])
    assert isinstance(result, tuple)
    return result[0], result[1][0]


BandKind = Literal["lowpass", "highpass", "bandpass"]


# the synth designs one per rounded cutoff: the cache is bounded in a long-lived process
@lru_cache(maxsize=1024)
def butter(order: int, freqs_hz: tuple[float, ...], kind: BandKind, fs_hz: float) -> np.ndarray:
    """A digital Butterworth filter as second-order sections (the design of
    ``scipy.signal.butter(order, freqs, kind, fs=fs_hz, output="sos")``: the analogue prototype
    moved to the prewarped edges, then the bilinear transform). ``freqs_hz`` holds one edge,
    or two for a band-pass. Read-only."""
    if order < 1:
        raise ValueError(f"a Butterworth filter needs an order of 1 or more, not {order}")
    nyquist = fs_hz / 2.0
    if not all(0.0 < f < nyquist for f in freqs_hz) or len(freqs_hz) != (
        2 if kind == "bandpass" else 1
    ):
        raise ValueError(f"bad {kind} edges {freqs_hz} for a sample rate of {fs_hz} Hz")
    warped = [4.0 * math.tan(math.pi * f / fs_hz) for f in freqs_hz]  # at fs = 2, as scipy does
    m = np.arange(-order + 1, order, 2)
    poles = -np.exp(1j * np.pi * m / (2 * order))  # unit-cutoff analogue prototype
    zeros: np.ndarray = np.zeros(0, dtype=complex)
    gain = 1.0
    if kind == "lowpass":
        poles, gain = poles * warped[0], warped[0] ** order
    elif kind == "highpass":
        zeros = np.zeros(order, dtype=complex)
        gain = float(np.real(1.0 / np.prod(-poles)))
        poles = warped[0] / poles
    else:
        centre, width = math.sqrt(warped[0] * warped[1]), warped[1] - warped[0]
        scaled = poles * width / 2.0
        root = np.sqrt(scaled**2 - centre**2)
        poles = np.concatenate([scaled + root, scaled - root])
        zeros = np.zeros(order, dtype=complex)
        gain = width**order
    # bilinear transform at fs = 2
    digital_zeros = (4.0 + zeros) / (4.0 - zeros)
    digital_poles = (4.0 + poles) / (4.0 - poles)
    gain *= float(np.real(np.prod(4.0 - zeros) / np.prod(4.0 - poles)))
    digital_zeros = np.concatenate([digital_zeros, -np.ones(len(poles) - len(zeros))])
    sos = _sections(digital_zeros, digital_poles, gain)
    sos.flags.writeable = False
    return sos


def _sections(zeros: np.ndarray, poles: np.ndarray, gain: float) -> np.ndarray:
    """Pair poles (conjugate pairs, the real ones together) with zeros into biquads, the poles
    nearest the unit circle last; the gain goes into the first section."""
    paired: list[np.ndarray] = []
    remaining = list(poles)
    while remaining:
        remaining.sort(key=lambda p: (abs(abs(p) - 1.0), p.real, p.imag))
        p = remaining.pop()  # furthest from the unit circle first
        if abs(p.imag) > 1e-12:
            partner = min(range(len(remaining)), key=lambda i: abs(remaining[i] - np.conj(p)))
            paired.append(np.array([p, remaining.pop(partner)]))
        elif (reals := [i for i, q in enumerate(remaining) if abs(q.imag) <= 1e-12]) != []:
            paired.append(np.array([p, remaining.pop(reals[0])]))
        else:
            paired.append(np.array([p]))
    zero_pool = list(zeros)
    rows = []
    for group in paired:
        chosen = []
        for pole in group:
            index = min(range(len(zero_pool)), key=lambda i: abs(zero_pool[i] - pole))
            chosen.append(zero_pool.pop(index))
        b = np.real(np.poly(chosen)) if chosen else np.array([1.0])
        a = np.real(np.poly(group))
        b, a = np.pad(b, (0, 3 - len(b))), np.pad(a, (0, 3 - len(a)))
        rows.append(np.concatenate([b, a]))
    sos = np.array(rows, dtype=np.float64)
    sos[0, :3] *= gain
    return sos
