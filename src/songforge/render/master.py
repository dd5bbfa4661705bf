"""CONTRACT (mix helper fills in): pre-master mix → mastered audio at the loudness target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.styles.schema import MasterSettings


@dataclass(frozen=True)
class MasterResult:
    audio: np.ndarray  # float32 (2, n), |x| < 1, true peak ≤ settings.true_peak_dbtp
    integrated_lufs: float
    true_peak_dbtp: float


def master(mix: np.ndarray, settings: MasterSettings, sample_rate_hz: int) -> MasterResult:
    raise NotImplementedError
