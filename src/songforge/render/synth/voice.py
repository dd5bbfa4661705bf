"""What every patch receives to render one note, and small helpers the patches share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from songforge.render.synth.envelopes import ramp_in
from songforge.theory import midi_to_hz


@dataclass(frozen=True, slots=True)
class NoteSpec:
    """One note to synthesize: held for ``hold_samples``; ``velocity`` in (0, 1] drives timbre
    (level is applied by the caller, so a cached note can be reused at any velocity)."""

    pitch: int
    hold_samples: int
    velocity: float
    sample_rate_hz: int
    seconds_per_beat: float = 0.5  # the part's tempo: lets FX tell a bar-long riser from a hit
    glide_from_pitch: int | None = None  # a legato note on a mono patch slides from this pitch

    @property
    def hold_beats(self) -> float:
        return self.hold_s / self.seconds_per_beat

    @property
    def freq_hz(self) -> float:
        return midi_to_hz(self.pitch)

    @property
    def hold_s(self) -> float:
        return self.hold_samples / self.sample_rate_hz

    def samples(self, seconds: float) -> int:
        return max(1, round(seconds * self.sample_rate_hz))


# A patch: a note and a seeded generator → mono float32 audio (hold + release tail), peak ≲ 1.
# Sustaining patches scale their tone, then apply the envelope, so a note released during a
# slow attack stays as quiet as it would on a real synth.
PatchVoice = Callable[[NoteSpec, np.random.Generator], np.ndarray]


def vibrato_hz(
    note: NoteSpec,
    n: int,
    rate_hz: float,
    depth_cents: float,
    delay_s: float,
    scoop_cents: float = 0.0,
) -> np.ndarray:
    """Per-sample frequency with a delayed sine vibrato and an optional pitch scoop into the
    note (brass and voices start slightly flat)."""
    sr = note.sample_rate_hz
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    cents = np.float32(depth_cents) * np.sin(np.float32(2 * np.pi * rate_hz) * t)
    cents *= ramp_in(n, delay_s, sr) if delay_s > 0 else np.float32(1.0)
    if scoop_cents:
        cents += np.float32(scoop_cents) * np.exp(-t / np.float32(0.035))
    return np.float32(note.freq_hz) * np.exp2(cents * np.float32(1.0 / 1200.0))


def normalise(x: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale to the given peak (silence stays silent)."""
    top = float(max(x.max(), -x.min())) if len(x) else 0.0
    if not top > 1e-9:  # silence (or NaN, which the caller reports)
        return x.astype(np.float32, copy=False)
    return (x * np.float32(peak / top)).astype(np.float32, copy=False)


def brightness_hz(note: NoteSpec, low_hz: float, high_hz: float) -> float:
    """A cutoff between ``low_hz`` and ``high_hz`` by velocity (harder notes are brighter)."""
    return low_hz * (high_hz / low_hz) ** note.velocity
