"""BLAS runs on one thread while a song is made, and a process that only makes songs keeps it
so without setting it again around each song. Each test runs in a fresh interpreter: the BLAS
thread count is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

pytest.importorskip("threadpoolctl")


def run(code: str) -> Any:
    """What the child prints as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "2"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


PRELUDE = """
    import json
    from threadpoolctl import ThreadpoolController
    from songforge.render import meter

    def libraries():
        return ThreadpoolController().select(user_api="blas").lib_controllers

    def threads():
        return [lib.num_threads for lib in libraries()]

    calls = []
    def counting(library_class):
        original = library_class.set_num_threads
        def wrapped(self, n):
            calls.append(n)
            return original(self, n)
        library_class.set_num_threads = wrapped
    for lib in libraries():
        counting(type(lib))
"""


def test_a_song_s_block_limits_blas_to_one_thread_and_restores_it() -> None:
    out = run(
        PRELUDE
        + """
    before = threads()
    with meter.single_threaded_blas():
        inside = threads()
    print(json.dumps([before, inside, threads()]))
    """
    )
    before, inside, after = out
    if 2 not in before:
        pytest.skip(f"this BLAS does not run on two threads here: {out}")
    assert set(inside) == {1}
    assert after == before


def test_already_single_threaded_blas_is_left_alone() -> None:
    """After a fork OpenBLAS restarts its thread pool when its thread count is set, and the new
    thread spins a core for ~0.1 s: a process already on one thread makes no such call."""
    out = run(
        PRELUDE
        + """
    meter.single_threaded_blas_from_now()
    first = list(calls)
    with meter.single_threaded_blas():
        with meter.single_threaded_blas():
            pass
    print(json.dumps([threads(), first, calls]))
    """
    )
    threads, first, calls = out
    assert set(threads) == {1}
    assert first and set(first) == {1}
    assert calls == first  # nothing was set after that
