"""Process-wide test settings, applied before any test imports numba (through librosa)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# librosa's numba kernels are compiled with cache=True into librosa's own __pycache__; two
# pytest-xdist workers compiling them at once on a fresh install raced on those cache files and
# one worker segfaulted inside librosa.beat. Each worker gets its own cache directory.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    os.path.join(tempfile.gettempdir(), f"songforge-numba-{os.getuid()}-{_worker}"),
)
# numba and torch both bring threading runtimes; the plain work-queue layer avoids any clash.
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
# the prompt cache (songforge.prompt.knowledge) goes to a per-run directory, not the user's home
if "SONGFORGE_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix=f"songforge-cache-{_worker}-")
    os.environ["SONGFORGE_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
