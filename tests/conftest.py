"""Process-wide test settings."""

from __future__ import annotations

import os

# numba (librosa's beat tracker) and torch (the neural providers) both load threading runtimes;
# in one pytest worker that has imported torch, numba's OpenMP layer has segfaulted inside
# librosa.beat. The plain work-queue layer avoids the clash.
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
