"""The provider orchestrator: one request → one finished song, whichever providers make it.

:class:`ProviderGenerator` is what the CLI, the Python API and the job worker call (it is a
``jobs.generator.SongGenerator``). For each request it

1. picks the fallback chain (policy.py) and skips providers that are not usable or that the
   key's budget cannot cover;
2. asks the first provider for the song — the offline engine whole, any other provider in
   clips planned along the song's form (long-form), continuing from the previous clip's audio
   where the provider can — with timeouts, retries and a circuit breaker on every call
   (resilience.py) and an overall deadline;
3. on a provider's failure goes on with the next one: a clip provider continues the song from
   the segment that failed, the engine starts the song afresh;
4. stitches, masters and measures the clips (longform/), records who made which segment and
   what it cost in the song's metadata and the usage ledger — with every secret redacted."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from songforge import __version__
from songforge.errors import (
    BudgetExceeded,
    ContentRefused,
    InvalidRequest,
    ProviderError,
    ProviderUnavailable,
    SongforgeError,
)
from songforge.longform.assemble import assemble
from songforge.longform.plan import (
    Segment,
    SegmentPlan,
    SongForm,
    plan_segments,
    segment_prompt,
    song_form,
)
from songforge.longform.stitch import Placement, to_song_format
from songforge.progress import Progress, ProgressCallback, ignore_progress
from songforge.prompt.understand import Interpretation, understand
from songforge.providers.base import AudioPrompt, ClipRequest, Provider
from songforge.providers.cost import (
    LOCAL_KEY,
    BudgetGuard,
    BudgetPolicy,
    CostEstimate,
    ProviderEstimate,
    UsageEntry,
    UsageLedger,
    open_ledger,
    record_usage,
    spend_from_metadata,
)
from songforge.providers.engine_provider import ENGINE_MODEL, SongMaker
from songforge.providers.fetch import validate_clip
from songforge.providers.policy import Candidate, ProviderPolicy, candidates, is_free
from songforge.providers.redact import Redactor
from songforge.providers.registry import ProviderRegistry
from songforge.providers.resilience import (
    Attempts,
    DeadlineExceeded,
    Resilience,
    RetryPolicy,
    describe,
    is_retryable,
    process_breakers,
    timeout_for,
)
from songforge.request import MAX_SEED, SongRequest
from songforge.settings import Settings
from songforge.song import Song
from songforge.styles.catalog import StyleCatalog, default_catalog

log = logging.getLogger(__name__)
T = TypeVar("T")
READINGS_KEPT = 32


@dataclass
class _Stages:
    """Overall progress: planning, each segment, stitching+mastering."""

    callback: ProgressCallback
    done: int = 0
    total: int = 2

    def start(self, stage: str) -> None:
        self.callback(Progress(stage, self.done, self.total))

    def finish(self) -> None:
        self.done += 1

    def inner(self, prefix: str) -> ProgressCallback:
        """A provider's own progress, reported as part of the current stage."""

        def report(progress: Progress) -> None:
            self.callback(Progress(f"{prefix}:{progress.stage}", self.done, self.total))

        return report


@dataclass
class _Run:
    """The state of one generation: what is made so far and what it cost."""

    request: SongRequest
    seed: int
    stages: _Stages
    deadline: float
    key_id: str | None
    job_id: str
    estimate: CostEstimate | None = None
    form: SongForm | None = None
    placements: list[Placement] = field(default_factory=list)
    clip_ids: list[tuple[str, str | None]] = field(default_factory=list)  # provider, its clip id
    segments: list[dict[str, Any]] = field(default_factory=list)
    next_bar: int = 0
    spend: dict[str, tuple[float, float]] = field(default_factory=dict)  # provider → usd, s
    discarded: list[dict[str, Any]] = field(default_factory=list)
    chain_log: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)

    def spent(self, provider: str, usd: float, seconds: float) -> None:
        old_usd, old_s = self.spend.get(provider, (0.0, 0.0))
        self.spend[provider] = (old_usd + usd, old_s + seconds)


class ProviderGenerator:
    """Songs from providers with failover, long-form stitching and cost accounting.

    ``generate(request, progress)`` implements ``jobs.generator.SongGenerator``; the service
    also passes ``key_id`` and ``job_id`` so spend is recorded and budgets apply."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: ProviderRegistry | None = None,
        policy: ProviderPolicy | None = None,
        resilience: Resilience | None = None,
        ledger: UsageLedger | None = None,
        budgets: BudgetPolicy | None = None,
        wall_clock: Callable[[], float] = time.time,
        catalog: StyleCatalog | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.registry = registry or ProviderRegistry(self.settings)
        self.policy = policy or ProviderPolicy.from_settings(self.settings)
        self.resilience = resilience or Resilience(
            retry=RetryPolicy.from_settings(self.settings),
            breakers=process_breakers(self.settings),
        )
        self._ledger = ledger
        self.budgets = budgets or BudgetPolicy.from_settings(self.settings)
        self.wall_clock = wall_clock
        self.catalog = catalog
        self.redactor = Redactor.from_settings(self.settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderGenerator:
        return cls(settings)

    # --- cost and budget ------------------------------------------------------------------
    @property
    def ledger(self) -> UsageLedger:
        """The usage ledger (opened from settings on first use)."""
        if self._ledger is None:
            self._ledger = open_ledger(self.settings)
        return self._ledger

    def budget_guard(self) -> BudgetGuard:
        return BudgetGuard(self.ledger, self.budgets, self.wall_clock)

    def estimate(self, request: SongRequest) -> CostEstimate:
        """What each provider of the request's chain would charge for the whole song."""
        return self._estimate_chain(request, self._candidates(request))

    def check_budget(self, key_id: str, request: SongRequest) -> None:
        """At submit: InvalidRequest for unknown providers; BudgetExceeded when every usable
        provider of the chain is paid and the key's monthly budget cannot cover any of them."""
        if self.budgets.budget_for(key_id) is None:
            self.policy.names(request, self.registry)
            return
        estimate = self.estimate(request)
        usable = [item for item in estimate.items if item.available]
        guard = self.budget_guard()
        if not usable or any(guard.allows(key_id, item.usd) for item in usable):
            return
        cheapest = min(usable, key=lambda item: item.usd)
        raise guard.refusal(key_id, cheapest.usd, cheapest.provider)

    def record_usage(
        self, *, key_id: str, job_id: str, metadata: dict[str, Any]
    ) -> list[UsageEntry]:
        """Record a finished song's spend from its metadata (for callers that generate without
        passing ``key_id``/``job_id`` to :meth:`generate`)."""
        return record_usage(
            self.ledger,
            key_id=key_id,
            job_id=job_id,
            spend=spend_from_metadata(metadata),
            when=self.wall_clock(),
        )

    # --- generation -----------------------------------------------------------------------
    def generate(
        self,
        request: SongRequest,
        progress: ProgressCallback = ignore_progress,
        *,
        key_id: str | None = None,
        job_id: str | None = None,
    ) -> Song:
        """Make the song (see the module docstring). Raises ContentRefused, BudgetExceeded,
        ProviderUnavailable or ProviderError with a message naming each provider's failure."""
        from songforge.engine import choose_seed

        clock = self.resilience.clock
        run = _Run(
            request=request,
            seed=choose_seed(request),
            stages=_Stages(progress),
            deadline=clock() + self.settings.provider_deadline_s,
            key_id=key_id,
            job_id=job_id or f"local-{uuid.uuid4().hex[:12]}",
        )
        chain = self._chain(request, run)
        for skipped in (c for c in chain if not c.usable):
            run.chain_log.append(
                {
                    "provider": skipped.name,
                    "outcome": "skipped",
                    "reason": self.redactor.text(skipped.skipped),
                }
            )
        try:
            return self._generate(run, [c for c in chain if c.usable], chain)
        finally:
            self._record(run)

    def _generate(self, run: _Run, usable: list[Candidate], chain: list[Candidate]) -> Song:
        if not usable:
            raise self._nothing_usable(run, chain)
        run.estimate = self._estimate_chain(run.request, usable, run)
        for position, candidate in enumerate(usable):
            provider = candidate.provider
            if provider is None:  # pragma: no cover - usable candidates have providers
                continue
            try:
                if isinstance(provider, SongMaker):
                    return self._whole_song(run, candidate.name, provider, position)
                return self._longform(run, candidate.name, provider, position)
            except ContentRefused as exc:
                self._note_failure(run, candidate.name, exc)
                if not self.policy.failover_on_refusal:
                    raise self._redacted(exc) from None
            except DeadlineExceeded as exc:
                self._note_failure(run, candidate.name, exc)
                raise self._all_failed(run) from None
            except ProviderError as exc:
                self._note_failure(run, candidate.name, exc)
        raise self._all_failed(run)

    def _whole_song(self, run: _Run, name: str, provider: Any, failovers: int) -> Song:
        """The engine (or any SongMaker) makes the whole song; its metadata is kept."""
        if run.placements:  # an earlier provider made part of the song: start afresh
            run.discarded.extend(run.segments)
            run.segments, run.placements, run.clip_ids, run.next_bar = [], [], [], 0
        attempts = Attempts()
        maker: SongMaker = provider
        if provider.capabilities.local:  # on this thread, timed out at its stage boundaries

            def make(limit: float) -> Song:
                progress = _time_limited(run.stages.callback, name, limit, self.resilience.clock)
                return maker.generate_song(run.request, progress)

            song = self._call(name, make, attempts, run, inline=True)
        else:
            song = self._call(
                name, lambda _: maker.generate_song(run.request, run.stages.callback), attempts, run
            )
        run.spent(name, 0.0, song.duration_s)
        segment = {
            "index": 0,
            "start_s": 0.0,
            "end_s": round(song.duration_s, 3),
            "provider": name,
            "model": ENGINE_MODEL if name == "songforge" else name,
            "cost_usd": 0.0,
            "attempts": attempts.count,
            "failovers": failovers,
            "sections": [s["name"] for s in song.metadata.get("sections", [])],
        }
        run.segments = [segment]
        run.chain_log.append({"provider": name, "outcome": "made", "attempts": attempts.count})
        song.metadata.update(self._provider_metadata(run))
        song.metadata = self.redactor.data(song.metadata)
        return song

    def _longform(self, run: _Run, name: str, provider: Provider, failovers: int) -> Song:
        caps = provider.capabilities
        run.stages.start("plan")
        form = self._form(run.request, run.seed, run)
        run.stages.finish()
        plan = plan_segments(
            form,
            caps.max_clip_s,
            min_clip_s=caps.min_clip_s,
            overlap_bars=self.settings.longform_overlap_bars,
            continuation=caps.continuation,
            prompt_s=self.settings.longform_prompt_s,
            start_bar=run.next_bar,
        )
        count = len(run.placements) + len(plan.segments)
        run.stages.total = run.stages.done + len(plan.segments) + 1
        for segment in plan.segments:
            self._segment(run, name, provider, plan, segment, count, failovers)
        return self._finish(run, plan)

    def _segment(
        self,
        run: _Run,
        name: str,
        provider: Provider,
        plan: SegmentPlan,
        segment: Segment,
        count: int,
        failovers: int,
    ) -> None:
        form = plan.form
        index = len(run.placements)
        numbered = dataclasses.replace(segment, index=index)
        cue = self._continuation(run, segment.start_s, plan.prompt_s) if plan.prompt_s else None
        extend_id, extend_at = self._extension(run, name, segment.start_s)
        clip_request = ClipRequest(
            prompt=segment_prompt(run.request.prompt, form, numbered, count),
            duration_s=segment.clip_s,
            seed=(run.seed + index) % (MAX_SEED + 1),
            tempo_bpm=round(form.tempo_bpm, 3),
            key=form.key,
            genre=form.plan.style.id,
            section=", ".join(segment.sections),
            continuation=cue,
            lyrics=run.request.lyrics,
            instrumental=run.request.lyrics is None,
            time_signature=form.plan.time_signature.value,
            extend_clip_id=extend_id,
            extend_at_s=extend_at,
        )
        run.stages.start(f"segment {index + 1}/{count}")
        attempts = Attempts()
        inner = run.stages.inner(f"segment {index + 1}/{count}")
        clip = self._call(
            name, lambda _: provider.generate_clip(clip_request, inner), attempts, run
        )
        if clip.includes_prompt_audio and cue is not None:
            skip = round(cue.audio.shape[-1] / cue.sample_rate_hz * clip.sample_rate_hz)
            clip.audio = clip.audio[..., skip:]
        clip = validate_clip(clip, clip_request, name)
        audio = to_song_format(clip.audio, clip.sample_rate_hz, run.request.sample_rate)
        made_s = audio.shape[1] / run.request.sample_rate
        run.spent(name, clip.cost_usd, made_s)
        run.placements.append(Placement(audio, segment.start_s))
        clip_id = clip.info.get("clip_id")
        run.clip_ids.append((name, str(clip_id) if clip_id else None))
        run.segments.append(
            {
                "index": index,
                "start_s": round(segment.start_s, 3),
                "end_s": round(segment.end_s, 3),
                "provider": name,
                "model": str(clip.info.get("model", name)),
                "cost_usd": round(clip.cost_usd, 6),
                "attempts": attempts.count,
                "failovers": failovers,
                "sections": list(segment.sections),
                "clip_s": round(made_s, 3),
                "continued": cue is not None,
            }
        )
        run.next_bar = segment.end_bar
        run.stages.finish()

    def _extension(self, run: _Run, name: str, start_s: float) -> tuple[str | None, float | None]:
        """The previous clip to extend, when this provider made it and named it (Suno)."""
        if not run.clip_ids or run.clip_ids[-1][0] != name or run.clip_ids[-1][1] is None:
            return None, None
        return run.clip_ids[-1][1], round(start_s - run.placements[-1].start_s, 3)

    def _continuation(self, run: _Run, start_s: float, prompt_s: float) -> AudioPrompt | None:
        """The song's audio just before ``start_s``: the tail the provider continues from."""
        if not run.placements:
            return None
        last = run.placements[-1]
        rate = run.request.sample_rate
        stop = min(round((start_s - last.start_s) * rate), last.audio.shape[1])
        first = max(0, stop - round(prompt_s * rate))
        if stop - first <= 0:
            return None
        return AudioPrompt(last.audio[:, first:stop].copy(), rate)

    def _finish(self, run: _Run, plan: SegmentPlan) -> Song:
        form = plan.form
        rate = run.request.sample_rate
        duration_s = form.duration_s
        if len(run.placements) == 1 and run.request.duration is None:
            duration_s = min(duration_s, run.placements[0].audio.shape[1] / rate)
        run.stages.start("stitch")
        assembled = assemble(
            run.placements,
            rate,
            duration_s=duration_s,
            bar_s=form.bar_s,
            beat_s=form.beat_s,
            overlap_s=plan.overlap_s,
            master_settings=form.plan.style.mix.master,
        )
        run.stages.finish()
        starts = list(assembled.starts_s)
        for i, segment in enumerate(run.segments):
            segment["start_s"] = round(starts[i], 3)
            segment["end_s"] = round(starts[i + 1] if i + 1 < len(starts) else duration_s, 3)
        style = form.plan.style
        metadata: dict[str, Any] = {
            "engine": {"name": "songforge", "version": __version__},
            "provider": _main_provider(run.segments),
            "request": run.request.model_dump(mode="json"),
            "seed": run.seed,
            "style": {"id": style.id, "name": style.name},
            "tempo_bpm": round(form.tempo_bpm, 3),
            "key": form.key,
            "time_signature": form.plan.time_signature.value,
            "sections": form.section_table(),
            "longform": {
                "segments": len(run.segments),
                "overlap_s": round(plan.overlap_s, 3),
                "continuation_s": plan.prompt_s,
                "seams": [seam.to_dict() for seam in assembled.seams],
                "seam_quality": assembled.report.to_dict(),
            },
            "loudness": {
                "integrated_lufs": _rounded(assembled.integrated_lufs),
                "true_peak_dbtp": _rounded(assembled.true_peak_dbtp),
            },
            "duration_s": round(assembled.audio.shape[1] / rate, 3),
        }
        metadata.update(self._provider_metadata(run))
        run.chain_log.append({"provider": metadata["provider"], "outcome": "made"})
        return Song(
            request=run.request,
            audio=assembled.audio,
            sample_rate_hz=rate,
            metadata=self.redactor.data(metadata),
        )

    def _provider_metadata(self, run: _Run) -> dict[str, Any]:
        actual = sum(s["cost_usd"] for s in run.segments)
        discarded = [
            {"provider": s["provider"], "cost_usd": s["cost_usd"], "audio_s": s.get("clip_s", 0)}
            for s in run.discarded
        ]
        return {
            "providers": sorted({s["provider"] for s in run.segments}),
            "segments": run.segments,
            "cost": {
                "currency": "USD",
                "estimated_usd": round(run.estimate.expected_usd, 6) if run.estimate else None,
                "actual_usd": round(actual + sum(d["cost_usd"] for d in discarded), 6),
                "discarded": discarded,
            },
            "provider_chain": run.chain_log,
        }

    # --- calling providers ----------------------------------------------------------------
    def _call(
        self,
        name: str,
        call: Callable[[float], T],
        attempts: Attempts,
        run: _Run,
        *,
        inline: bool = False,
    ) -> T:
        """``call(limit)`` with the provider's retries and timeout: ``inline`` on this thread
        (``limit``: when it should give up by itself), else on a helper thread abandoned at the
        timeout (``limit`` is then infinite)."""

        def guarded(limit: float) -> T:
            try:
                return call(limit)
            except SongforgeError:
                raise
            except ImportError as exc:
                hint = self.registry.spec(name).install_hint()
                raise ProviderUnavailable(
                    f"provider {name!r} needs {exc.name or 'an optional package'}: {hint}",
                    provider=name,
                ) from None
            except Exception as exc:  # an adapter bug: never let raw errors (or secrets) out
                raise ProviderError(
                    f"provider {name!r} failed: {type(exc).__name__}: {self.redactor.error(exc)}",
                    provider=name,
                ) from None

        timeout_s = timeout_for(self.settings, name)
        try:
            if inline:
                return self.resilience.call_inline(
                    name, guarded, timeout_s=timeout_s, deadline=run.deadline, attempts=attempts
                )
            return self.resilience.call(
                name,
                lambda: guarded(math.inf),
                timeout_s=timeout_s,
                deadline=run.deadline,
                attempts=attempts,
            )
        finally:
            run.chain_log.append(
                {
                    "provider": name,
                    "outcome": "call",
                    "attempts": attempts.count,
                    "errors": [self.redactor.text(e) for e in attempts.errors],
                }
            )

    def _note_failure(self, run: _Run, name: str, exc: ProviderError) -> None:
        run.failures.append((name, exc))
        message = self.redactor.error(exc)
        run.chain_log.append({"provider": name, "outcome": describe(exc), "error": message})
        log.warning("provider %s failed: %s", name, message)

    # --- the chain ------------------------------------------------------------------------
    def _candidates(self, request: SongRequest) -> list[Candidate]:
        return candidates(request, self.registry, self.policy)

    def _chain(self, request: SongRequest, run: _Run | None = None) -> list[Candidate]:
        chain = self._candidates(request)
        key_id = run.key_id if run else None
        if key_id is None or self.budgets.budget_for(key_id) is None or not _paid(chain):
            return chain
        guard = self.budget_guard()
        form = self._form(request, run.seed if run else 0, run)
        checked = []
        for candidate in chain:
            provider = candidate.provider
            if candidate.usable and provider and not is_free(provider.capabilities):
                usd = self._estimate_one(candidate, form).usd
                if not guard.allows(key_id, usd):
                    reason = guard.refusal(key_id, usd, candidate.name).message
                    candidate = Candidate(candidate.name, None, reason, budget_skipped=True)
            checked.append(candidate)
        return checked

    def _estimate_chain(
        self, request: SongRequest, chain: list[Candidate], run: _Run | None = None
    ) -> CostEstimate:
        """Estimates for ``chain``; the song is planned only when a paid provider needs it."""
        if not _paid(chain):
            items = [self._estimate_one(c, None, request.duration or 0.0) for c in chain]
            return CostEstimate(request.duration or 0.0, tuple(items))
        form = self._form(request, run.seed if run else (request.seed or 0), run)
        items = [self._estimate_one(c, form) for c in chain]
        return CostEstimate(form.duration_s, tuple(items))

    def _estimate_one(
        self, candidate: Candidate, form: SongForm | None, duration_s: float = 0.0
    ) -> ProviderEstimate:
        provider = candidate.provider
        if provider is None or candidate.skipped:
            return ProviderEstimate(candidate.name, 0, 0.0, 0.0, False, False, candidate.skipped)
        caps = provider.capabilities
        if form is None:  # free: nothing to count
            return ProviderEstimate(candidate.name, 1, duration_s, 0.0, is_free(caps))
        try:
            plan = plan_segments(
                form,
                caps.max_clip_s,
                min_clip_s=caps.min_clip_s,
                overlap_bars=self.settings.longform_overlap_bars,
                continuation=caps.continuation,
                prompt_s=self.settings.longform_prompt_s,
            )
        except InvalidRequest as exc:
            return ProviderEstimate(candidate.name, 0, 0.0, 0.0, False, False, exc.detail)
        clips = len(plan.segments)
        audio_s = sum(segment.clip_s for segment in plan.segments)
        usd = caps.price.estimate_usd(audio_s, requests=clips)
        return ProviderEstimate(candidate.name, clips, audio_s, usd, is_free(caps))

    def _form(self, request: SongRequest, seed: int, run: _Run | None) -> SongForm:
        """The song's form as the engine plans it (kept on the run, so it is planned once)."""
        if run is not None and run.form is not None:
            return run.form
        form = song_form(request, seed, self._catalog(), self._understand(request))
        if run is not None:
            run.form = form
        return form

    def _understand(self, request: SongRequest) -> Interpretation:
        """The prompt's reading (pure, so remembered: estimates and runs share it)."""
        if self.catalog is None or self.catalog is default_catalog():
            return _default_reading(request.prompt)
        return understand(request.prompt, self._catalog())

    def _catalog(self) -> StyleCatalog:
        if self.catalog is None:
            self.catalog = default_catalog()
        return self.catalog

    # --- errors and usage -----------------------------------------------------------------
    def _nothing_usable(self, run: _Run, chain: list[Candidate]) -> SongforgeError:
        budget = [c for c in chain if c.budget_skipped]
        if budget and len(budget) == len([c for c in chain if c.skipped]):
            return BudgetExceeded(budget[0].skipped)
        reasons = "; ".join(f"{c.name}: {self.redactor.text(c.skipped)}" for c in chain)
        return ProviderUnavailable(f"no provider can make this song — {reasons}")

    def _all_failed(self, run: _Run) -> ProviderError:
        parts = [f"{name}: {self.redactor.error(exc)}" for name, exc in run.failures]
        retryable = any(
            is_retryable(exc) or isinstance(exc, ProviderUnavailable) for _, exc in run.failures
        ) and not any(isinstance(exc, DeadlineExceeded) for _, exc in run.failures)
        last_name, last = run.failures[-1] if run.failures else ("", None)
        if run.failures and all(isinstance(exc, ContentRefused) for _, exc in run.failures):
            return ContentRefused(
                "every provider refused the prompt — " + "; ".join(parts), provider=last_name
            )
        return ProviderError(
            "no provider could make this song — " + "; ".join(parts),
            provider=last_name,
            retryable=retryable,
            status=getattr(last, "status", None),
        )

    def _redacted(self, exc: ProviderError) -> ProviderError:
        try:
            return type(exc)(
                self.redactor.error(exc),
                provider=exc.provider,
                retryable=exc.retryable,
                retry_after_s=exc.retry_after_s,
                status=exc.status,
            )
        except TypeError:
            return ProviderError(self.redactor.error(exc), provider=exc.provider)

    def _record(self, run: _Run) -> None:
        spend = dict(run.spend)
        paid = any(usd > 0 for usd, _ in spend.values())
        if not spend or (run.key_id is None and not paid):
            return
        try:
            record_usage(
                self.ledger,
                key_id=run.key_id or LOCAL_KEY,
                job_id=run.job_id,
                spend=spend,
                when=self.wall_clock(),
            )
        except SongforgeError:
            log.exception("could not record usage of job %s", run.job_id)


@functools.lru_cache(maxsize=READINGS_KEPT)
def _default_reading(prompt: str) -> Interpretation:
    return understand(prompt, default_catalog())


def _paid(chain: list[Candidate]) -> bool:
    return any(c.provider is not None and not is_free(c.provider.capabilities) for c in chain)


def _main_provider(segments: list[dict[str, Any]]) -> str:
    seconds: dict[str, float] = {}
    for s in segments:
        seconds[s["provider"]] = seconds.get(s["provider"], 0.0) + s["end_s"] - s["start_s"]
    return max(seconds, key=lambda k: seconds[k]) if seconds else ""


def _rounded(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


__all__ = ["ProviderGenerator"]


def _time_limited(
    progress: ProgressCallback, provider: str, limit: float, clock: Callable[[], float]
) -> ProgressCallback:
    """``progress`` that stops the work (a retryable ProviderError) at the first stage boundary
    after ``limit``, as a helper thread's timeout would have."""

    def report(update: Progress) -> None:
        if clock() > limit:
            raise ProviderError(
                f"provider {provider!r} did not finish within its time limit",
                provider=provider,
                retryable=True,
            )
        progress(update)

    return report
