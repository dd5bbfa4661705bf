"""CONTRACT (mix helper fills in): dry stems → processed stems that sum to the pre-master mix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.compose.score import Score
from songforge.styles.schema import MixSettings


@dataclass(frozen=True)
class MixResult:
    stems: dict[str, np.ndarray]  # per part, post-fader and panned, plus "returns" (reverb/delay)
    mix: np.ndarray  # the sum of ``stems``: the pre-master mix, float32 (2, n)


def mix(
    dry: dict[str, np.ndarray], score: Score, settings: MixSettings, sample_rate_hz: int
) -> MixResult:
    raise NotImplementedError
