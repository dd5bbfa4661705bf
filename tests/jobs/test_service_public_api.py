"""The service packages export what they document."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "name", ["songforge.jobs", "songforge.storage", "songforge.service", "songforge.api"]
)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {n for n, v in vars(module).items() if not n.startswith("_") and not
              (getattr(v, "__module__", None) is None or isinstance(v, type(module)))}  # fmt: skip
    assert sorted(module.__all__) == sorted(set(module.__all__))
    assert set(module.__all__) <= set(vars(module))
    assert public <= set(module.__all__), public - set(module.__all__)
