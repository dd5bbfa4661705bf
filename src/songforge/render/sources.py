"""CONTRACT (render helper fills in): a Part of notes → a dry stereo signal."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from songforge.compose.score import Part


class PartRenderer(Protocol):
    """Turns one part into audio: float32 array shaped (2, round(total_s * sample_rate_hz))."""

    def render(
        self, part: Part, tempo_bpm: float, total_s: float, sample_rate_hz: int
    ) -> np.ndarray: ...


def render_parts(
    parts: list[Part],
    tempo_bpm: float,
    total_s: float,
    sample_rate_hz: int,
    soundfont: Path | None,
) -> dict[str, np.ndarray]:
    """Render every part with the source its style asks for (SoundFont when one is available
    and the part asks for it, else the built-in synth). Dry, unpanned, float32 (2, n)."""
    raise NotImplementedError
