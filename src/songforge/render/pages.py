"""Song-length arrays on ordinary 4 KB pages rather than transparent huge pages.

numpy asks the kernel for huge pages (madvise MADV_HUGEPAGE) for every array of 4 MB or more.
Where the kernel then compacts memory to find them (its default "defrag=madvise"), a fresh
huge page costs more than the 512 small ones it replaces: 2.7 ms per MB against 0.65 ms,
measured for 85 MB buffers on the 2-core VM the benchmarks run on. A song allocates several
hundred MB of such arrays once each, so with huge pages off a 4-minute song took 8-11 % less
time (3 interleaved runs of each source: synth 4.95 → 4.49 s, SoundFont 5.59 → 5.12 s)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

_lock = threading.Lock()
_users = 0
_previous = True


def _setter() -> Callable[[bool], bool] | None:
    """numpy's switch (it returns the previous setting), or None where this numpy lacks it."""
    import importlib

    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        try:
            multiarray = importlib.import_module(name)
        except ImportError:
            continue
        break
    else:  # pragma: no cover - depends on numpy
        return None
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    return setter if callable(setter) else None


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Arrays allocated inside the block (in any thread: the setting is process-wide, and
    forked helpers inherit it) do not ask for huge pages; the setting is restored when the
    last overlapping block ends."""
    global _users, _previous
    setter = _setter()
    if setter is None:
        yield
        return
    with _lock:
        if _users == 0:
            _previous = setter(False)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                setter(_previous)
