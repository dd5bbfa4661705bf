"""A pure computation done in a forked child while this process does work that holds the GIL.

Some work in C never releases the GIL (tinysoundfont parses a large font for ~0.5 s that way),
so a thread beside it makes no progress. A forked child has its own interpreter: it computes the
value and sends it back pickled, and this process only pays for the pickles. The value must not
depend on where it is computed; then any failure of the child (an exception, a crash, no fork
on this platform, not the main thread) simply means computing it here, which also raises the
real error where there is one."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

T = TypeVar("T")


def fork_is_safe() -> bool:
    """Whether a child may be forked here: fork exists, this is the main thread (other threads'
    locks are not inherited mid-use) and this process may have children (not a daemon)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    return not multiprocessing.current_process().daemon


def _child(compute: Callable[[], object], conn: Connection) -> None:
    try:
        payload = pickle.dumps(("ok", compute()), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # the parent computes it again and meets the error itself
        payload = pickle.dumps(("failed", None))
    try:
        conn.send_bytes(payload)
    finally:
        conn.close()


class ForkedCall(Generic[T]):
    """``compute()`` started in a forked child at construction; :meth:`result` returns its value
    (or computes it here if the child could not)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        if not fork_is_safe():
            return
        context = multiprocessing.get_context("fork")
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(compute, writer), name="songforge-ahead", daemon=True
        )
        try:
            process.start()
        except OSError:  # no room for another process: it is computed here instead
            reader.close()
            return
        finally:
            writer.close()
        self._process, self._conn = process, reader

    @property
    def forked(self) -> bool:
        """Whether a child was started (else :meth:`result` computes here)."""
        return self._process is not None

    def result(self) -> T:
        """The value: the child's, else computed here."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None or conn is None:
            return self._compute()
        try:
            status, value = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError):
            status, value = "failed", None
        finally:
            conn.close()
            process.join()
        if status != "ok":
            return self._compute()
        return value

    def cancel(self) -> None:
        """Stop the child (if still running) without waiting for its value."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join()
