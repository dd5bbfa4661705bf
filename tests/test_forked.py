"""A pure computation made in a forked child: the value is the same as computing it here, and
whatever goes wrong in the child only means it is computed here."""

from __future__ import annotations

import os
import threading

import pytest

from songforge.forked import ForkedCall, fork_is_safe

pytestmark = pytest.mark.skipif(not fork_is_safe(), reason="needs fork on the main thread")


def test_the_value_is_computed_in_another_process_and_sent_back() -> None:
    call = ForkedCall(lambda: (os.getpid(), [1.5, "two", {"three": 3}]))
    assert call.forked
    pid, value = call.result()
    assert pid != os.getpid()
    assert value == [1.5, "two", {"three": 3}]


def test_an_error_in_the_child_is_met_again_here_as_itself() -> None:
    def compute() -> int:
        raise LookupError(f"no such thing (in {os.getpid()})")

    call = ForkedCall(compute)
    with pytest.raises(LookupError, match=f"in {os.getpid()}"):
        call.result()


def test_a_child_that_dies_means_the_value_is_computed_here() -> None:
    parent = os.getpid()

    def compute() -> int:
        if os.getpid() != parent:
            os._exit(3)
        return 42

    assert ForkedCall(compute).result() == 42


def test_a_value_that_cannot_be_pickled_is_computed_here() -> None:
    parent = os.getpid()
    call = ForkedCall(lambda: (os.getpid(), threading.Lock()))
    pid, lock = call.result()
    assert pid == parent and lock.acquire(blocking=False)


def test_off_the_main_thread_nothing_is_forked() -> None:
    seen: list[tuple[bool, int]] = []

    def run() -> None:
        call = ForkedCall(os.getpid)
        seen.append((call.forked, call.result()))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [(False, os.getpid())]


def test_a_cancelled_call_leaves_no_child_behind() -> None:
    import multiprocessing
    import time

    call = ForkedCall(lambda: time.sleep(30))
    call.cancel()
    assert multiprocessing.active_children() == []
