"""What the worker calls to make a song. Generation sits behind this small protocol so the
engine, the provider layer, or a fake can be swapped without touching the job machinery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from songforge.errors import InvalidRequest
from songforge.progress import ProgressCallback
from songforge.request import SongRequest
from songforge.settings import Settings
from songforge.song import Song

if TYPE_CHECKING:
    from songforge.providers.cost import UsageLedger

GENERATORS = ("providers", "engine", "tone")


@runtime_checkable
class SongGenerator(Protocol):
    def generate(
        self,
        request: SongRequest,
        progress: ProgressCallback,
        *,
        key_id: str | None = None,
        job_id: str | None = None,
    ) -> Song:
        """Make the song; call ``progress`` at every stage boundary (raising there stops it).
        ``key_id`` (who pays) and ``job_id`` let a generator account for spend; others ignore
        them."""
        ...


class EngineGenerator:
    """The offline engine (``songforge.engine.generate``)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def generate(
        self,
        request: SongRequest,
        progress: ProgressCallback,
        *,
        key_id: str | None = None,
        job_id: str | None = None,
    ) -> Song:
        from songforge.engine import generate

        return generate(request, settings=self.settings, progress=progress)


def make_generator(
    spec: str, settings: Settings | None = None, *, ledger: UsageLedger | None = None
) -> SongGenerator:
    """A generator by name: ``providers`` (the provider layer: failover, long-form, cost; its
    default policy is the offline engine), ``engine``, or ``tone`` /
    ``tone:stage_delay_s=0.05,duration_s=2`` (the instant fake, for tests and demos).
    ``ledger`` is where the provider layer records spend (the process's one ledger)."""
    name, _, options = spec.partition(":")
    if name == "providers":
        from songforge.providers.orchestrator import ProviderGenerator

        return ProviderGenerator(settings, ledger=ledger)
    if name == "engine":
        return EngineGenerator(settings)
    if name == "tone":
        from songforge.jobs.fakes import ToneGenerator

        kwargs: dict[str, float] = {}
        for item in filter(None, options.split(",")):
            key, _, value = item.partition("=")
            if key not in ("stage_delay_s", "duration_s"):
                raise InvalidRequest("generator", f"unknown tone option {key!r}")
            kwargs[key] = float(value)
        return ToneGenerator(**kwargs)
    raise InvalidRequest(
        "generator", f"unknown generator {spec!r}; use one of: {', '.join(GENERATORS)}"
    )
