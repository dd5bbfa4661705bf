"""A song's arrays are made on small pages, and numpy's setting comes back afterwards."""

from __future__ import annotations

import threading

import pytest

from songforge.render import pages


def huge_pages_asked() -> bool:
    setter = pages._setter()
    assert setter is not None
    current = setter(True)
    setter(current)
    return current


@pytest.fixture(autouse=True)
def numpy_asks_for_huge_pages() -> None:
    setter = pages._setter()
    if setter is None:
        pytest.skip("this numpy has no huge-page switch")
    setter(True)


def test_inside_the_block_numpy_does_not_ask_for_huge_pages() -> None:
    with pages.small_pages():
        assert not huge_pages_asked()
    assert huge_pages_asked()


def test_overlapping_blocks_restore_the_setting_when_the_last_one_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with pages.small_pages():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with pages.small_pages():
        second_in.set()
        first_out.wait(5)
        assert not huge_pages_asked()  # the other block ended, this one still runs
    thread.join()
    assert huge_pages_asked()


def test_an_error_inside_the_block_still_restores_the_setting() -> None:
    with pytest.raises(RuntimeError), pages.small_pages():
        raise RuntimeError("boom")
    assert huge_pages_asked()
