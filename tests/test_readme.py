"""The README's promises: its first lines are the two commands, its Python example runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import songforge

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.read_text().split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_the_python_example_runs(tmp_path: Path, monkeypatch: object) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    source = code.group(1).replace('"4:00"', '"0:30"')  # a short song keeps the test quick
    import os

    os.chdir(tmp_path)
    exec(compile(source, "README.md", "exec"), {})
    assert (tmp_path / "house.wav").exists() and (tmp_path / "house.json").exists()


def test_all_lists_the_public_api() -> None:
    public = {
        name
        for name, value in vars(songforge).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(songforge.__all__) - {"__version__"} == public
