"""Long held notes from a short prototype, the way a sampler loops a sustain.

A pad held for 16 bars costs as much to synthesize as 16 bars of audio; once its attack and
decay are over, though, its sound is steady. So a note longer than :data:`LOOP_AFTER_S` is
built from a prototype held :data:`PROTOTYPE_HOLD_S`: the prototype's opening, then a loop of
its steady part repeated to the note's length, then the prototype's own release. The loop is a
whole number of the note's periods and its seam is cross-faded against the audio before the
loop, so periodic tones join without a click or a dip; the release is spliced where the loop is
in the same phase as at the prototype's key-up (at most one period early)."""

from __future__ import annotations

import numpy as np

from songforge.styles.schema import SynthPatch

# Patches whose sound settles to a steady state while the key is held (decaying patches such as
# pianos and plucks are not looped: they fall silent on their own).
LOOPED_PATCHES = frozenset(
    {
        SynthPatch.SAW_LEAD,
        SynthPatch.SQUARE_LEAD,
        SynthPatch.SUPERSAW,
        SynthPatch.WARM_PAD,
        SynthPatch.STRING_PAD,
        SynthPatch.GLASS_PAD,
        SynthPatch.ORGAN,
        SynthPatch.ACID_BASS,
        SynthPatch.SUB_BASS,
        SynthPatch.REESE_BASS,
        SynthPatch.FM_BASS,
        SynthPatch.DISTORTED_GUITAR,
        SynthPatch.OVERDRIVEN_GUITAR,
        SynthPatch.STRINGS,
        SynthPatch.BRASS,
        SynthPatch.CHOIR,
        SynthPatch.FLUTE,
    }
)
LOOP_AFTER_S = 5.0  # notes held longer than this are looped
PROTOTYPE_HOLD_S = 4.5  # the prototype is held this long ...
LOOP_START_S = 2.0  # ... and loops from here (every looped patch has settled by then)
CROSSFADE_S = 0.03


def loop_length(freq_hz: float, sample_rate_hz: int) -> int:
    """Samples in the loop: the whole number of periods closest to the loop's nominal span."""
    span_s = PROTOTYPE_HOLD_S - LOOP_START_S - CROSSFADE_S
    periods = max(1, int(span_s * freq_hz))
    return max(1, round(periods * sample_rate_hz / freq_hz))


def crossfade(leaving: np.ndarray, arriving: np.ndarray) -> np.ndarray:
    """Fade from ``leaving`` to ``arriving`` (same length) keeping the level steady whatever
    their correlation: linear gains divided by the expected level of their sum, so in-phase
    audio fades linearly and unrelated audio with equal power (no dip in the middle)."""
    n = len(leaving)
    if n == 0:
        return leaving.copy()
    t = np.linspace(0.0, 1.0, n, dtype=np.float64)
    a, b = leaving.astype(np.float64), arriving.astype(np.float64)
    power = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    correlation = float(np.dot(a, b)) / power if power > 0 else 1.0
    level = np.sqrt(np.maximum((1 - t) ** 2 + t**2 + 2.0 * correlation * t * (1 - t), 0.25))
    return (((1 - t) * a + t * b) / level).astype(np.float32)


def extend_sustain(
    prototype: np.ndarray, hold_samples: int, freq_hz: float, sample_rate_hz: int
) -> np.ndarray:
    """A note held ``hold_samples`` (≥ the prototype's hold) made from ``prototype``, a note of
    the same patch, pitch and velocity held :data:`PROTOTYPE_HOLD_S` and then released."""
    sr = sample_rate_hz
    proto_hold = round(PROTOTYPE_HOLD_S * sr)
    start = round(LOOP_START_S * sr)
    length = loop_length(freq_hz, sr)
    fade_n = min(round(CROSSFADE_S * sr), start, length)
    end = start + length
    cycle = prototype[start:end].copy()
    # the loop's last samples blend into the audio just before its start: a seamless wrap
    cycle[-fade_n:] = crossfade(prototype[end - fade_n : end], prototype[start - fade_n : start])
    period = sr / freq_hz
    release = prototype[proto_hold:]
    # splice the release where the loop is in the same phase as at the prototype's key-up
    splice = max(start, hold_samples - round((hold_samples - proto_hold) % period))
    body = np.tile(cycle, (splice - start) // length + 1)[: splice - start]
    out = np.concatenate([prototype[:start], body, release])
    if fade_n and splice - fade_n >= start:
        # a short cross-fade from the loop into the release hides any residual mismatch
        head = out[splice : splice + fade_n].copy()
        tail = np.tile(cycle, 2)[(splice - start) % length :][: len(head)]
        out[splice : splice + len(head)] = crossfade(tail, head)
    return out.astype(np.float32, copy=False)
