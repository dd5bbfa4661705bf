"""Progress reporting shared by the engine, the CLI bar and the job store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    """``done`` of ``total`` steps finished; ``stage`` names the step now running."""

    stage: str  # understand, compose, arrange, render:<part>, mix, master, encode
    done: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]
"""Called at every stage boundary; raising (e.g. ``Cancelled``) stops generation there."""


def ignore_progress(_: Progress) -> None:
    """The default callback."""
