"""The thin service layer between the API/CLI and the jobs: submit, read, list, cancel, fetch.
Route handlers and CLI commands call these methods and only translate in and out of HTTP or
the terminal; every rule (ownership, quotas, budgets, idempotency, the cache) lives here."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from songforge.errors import (
    Forbidden,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    NotReady,
    ProviderUnavailable,
    Unauthorized,
)
from songforge.jobs.model import (
    BlobRef,
    Job,
    JobStatus,
    Usage,
    WebhookAttempt,
    WebhookState,
    fingerprint,
    new_job_id,
    request_hash,
)
from songforge.jobs.outputs import job_prefix, stem_slug, transcode
from songforge.jobs.queue import JobQueue
from songforge.jobs.store import ActiveQuota, JobStore
from songforge.request import MAX_SEED, AudioFormat, SongRequest
from songforge.service.keys import TOKEN_PREFIX, KeyStore, hash_token
from songforge.service.limits import RateLimiter
from songforge.service.webhooks import check_callback_url
from songforge.storage.blobs import BlobStore

if TYPE_CHECKING:
    from songforge.providers.cost import BudgetPolicy, CostEstimate, UsageLedger
    from songforge.providers.inbound import InboundWebhooks
    from songforge.providers.registry import ProviderRegistry
    from songforge.settings import Settings

MAX_PAGE = 100
MAX_IDEMPOTENCY_KEY = 255
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # YYYY-MM


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key id owns the jobs it submits."""

    owner: str
    name: str
    admin: bool = False


LOCAL_PRINCIPAL = Principal(owner="local", name="local user (auth off)", admin=True)


@dataclass(frozen=True, slots=True)
class Submission:
    job: Job
    created: bool  # False: an earlier POST with the same Idempotency-Key


@dataclass(frozen=True, slots=True)
class Page:
    jobs: list[Job]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    """The service's rules as values (built from Settings at the edge)."""

    auth: bool = True
    max_attempts: int = 3
    max_active_jobs: int = 10
    cache_scope: str = "owner"  # owner | global | off
    webhooks_enabled: bool = False
    webhook_allow: tuple[str, ...] = ()
    quota_retry_after_s: float = 5.0
    key_cache_s: float = 5.0  # a key's record is reused this long (revocation is still immediate)


KEY_CACHE_MAX = 10_000  # cached keys per process; past it the cache starts again


class ProviderLayer(Protocol):
    """What the service asks of the provider layer (``providers.ProviderGenerator`` is one):
    cost estimates and budget checks at submit, the usage ledger, the provider list."""

    settings: Settings
    registry: ProviderRegistry
    budgets: BudgetPolicy

    @property
    def ledger(self) -> UsageLedger: ...

    def estimate(self, request: SongRequest) -> CostEstimate: ...

    def check_budget(self, key_id: str, request: SongRequest) -> None: ...


def encode_cursor(job: Job) -> str:
    raw = f"{job.created_at!r}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        created, _, job_id = raw.partition("|")
        if not job_id:
            raise ValueError
        return float(created), job_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("cursor", "not a cursor this API handed out") from None


@dataclass
class SongService:
    store: JobStore
    queue: JobQueue
    blobs: BlobStore
    keys: KeyStore
    limiter: RateLimiter
    policy: ServicePolicy = field(default_factory=ServicePolicy)
    clock: Callable[[], float] = time.time
    providers: ProviderLayer | None = None  # None: no estimates, budgets or provider routes
    inbound: InboundWebhooks | None = None  # None: provider webhooks answer 404
    monotonic: Callable[[], float] = time.monotonic  # key-cache ages: immune to clock steps
    # token hash → (the key's principal, or None when revoked; when to look it up again)
    _keys_seen: dict[str, tuple[Principal | None, float]] = field(
        default_factory=dict, init=False, repr=False
    )
    _keys_generation: int = field(default=-1, init=False, repr=False)  # of the cached entries

    # --- who is calling --------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        """The caller behind a bearer token (anyone is the local user when auth is off);
        also spends one token of the caller's request-rate bucket."""
        if not self.policy.auth:
            principal = LOCAL_PRINCIPAL
        else:
            if not token:
                raise Unauthorized("missing API key: send 'Authorization: Bearer sfk_...'")
            principal = self._principal_for(token)
        self.limiter.acquire(principal.owner, "request")
        return principal

    def _principal_for(self, token: str) -> Principal:
        """The key's holder, from a per-process cache by token hash (a full key lookup per
        request would be a large share of a status read). An entry is trusted for
        ``policy.key_cache_s`` and only while the key store's generation is unchanged, so a
        revocation made anywhere (`songforge keys revoke`, another API process) takes effect
        on the next request; unknown tokens are never cached."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise Unauthorized("not a songforge API key")
        digest = hash_token(token)
        now = self.monotonic()
        seen = self._keys_seen.get(digest)
        if seen is not None and self._keys_generation != self.keys.generation():
            self._keys_seen.clear()
            seen = None
        if seen is not None and now < seen[1]:
            principal = seen[0]
        else:
            generation = self.keys.generation()  # read before the key: a race only re-checks
            key = self.keys.by_hash(digest)
            if key is None:
                raise Unauthorized("unknown or revoked API key")
            principal = Principal(key.id, key.name, key.admin) if key.active else None
            if self.policy.key_cache_s > 0:
                if len(self._keys_seen) >= KEY_CACHE_MAX or generation != self._keys_generation:
                    self._keys_seen.clear()
                self._keys_generation = generation
                self._keys_seen[digest] = (principal, now + self.policy.key_cache_s)
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        return principal

    # --- jobs ------------------------------------------------------------------------------
    def submit(
        self,
        principal: Principal,
        request: SongRequest,
        *,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Queue a song job (never generates here). A request with an explicit seed identical
        to a finished one is answered from storage as a new, already succeeded, cached job.
        Otherwise the job carries its provider cost estimate, and what no job could do is
        refused now: unknown providers, a chain with no usable provider, a spent budget."""
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
                raise InvalidRequest("Idempotency-Key", "must be 1–255 characters")
            sent = fingerprint(
                {"request": request.model_dump(mode="json"), "callback_url": callback_url}
            )
            earlier = self.store.find_idempotent(principal.owner, idempotency_key)
            if earlier is not None:
                return Submission(self._same_request(earlier, sent), created=False)
        else:
            sent = None
        self.limiter.acquire(principal.owner, "submit")
        if callback_url is not None:
            if not self.policy.webhooks_enabled:
                raise InvalidRequest(
                    "callback_url", "webhooks are off: the server has no SONGFORGE_WEBHOOK_SECRET"
                )
            check_callback_url(callback_url, self.policy.webhook_allow)
        seed_assigned = request.seed is None
        if seed_assigned:  # fixed now, so retries and replays make the same song
            request = request.model_copy(update={"seed": secrets.randbelow(MAX_SEED + 1)})
        now = self.clock()
        job = Job(
            id=new_job_id(),
            owner=principal.owner,
            request=request,
            request_hash=request_hash(request),
            created_at=now,
            updated_at=now,
            max_attempts=self.policy.max_attempts,
            seed_assigned=seed_assigned,
            idempotency_key=idempotency_key,
            idempotency_fingerprint=sent,
            callback_url=callback_url,
        )
        source = None if seed_assigned else self._cached(principal, job.request_hash)
        if source is not None and source.outputs is not None:
            job = job.evolve(
                status=JobStatus.SUCCEEDED,
                outputs=source.outputs,
                progress=100.0,
                stage="done",
                started_at=now,
                finished_at=now,
                cached=True,
                source_job_id=source.source_job_id or source.id,
                webhook_state=WebhookState.PENDING if callback_url else WebhookState.NONE,
                webhook_next_at=now if callback_url else None,
            )
        else:
            job = job.evolve(estimate=self._priced(principal, job.request))
        stored, created = self.store.create(job, self._quota())
        if not created:  # a concurrent POST with the same Idempotency-Key won
            return Submission(self._same_request(stored, sent), created=False)
        if stored.status is JobStatus.QUEUED:
            self.queue.send(stored.id)
        return Submission(stored, created=True)

    def _quota(self) -> ActiveQuota | None:
        """The concurrent-job cap, enforced by the store atomically with the insert."""
        if not self.policy.max_active_jobs:
            return None
        return ActiveQuota(self.policy.max_active_jobs, self.policy.quota_retry_after_s)

    def _priced(self, principal: Principal, request: SongRequest) -> dict[str, Any] | None:
        """The request's cost estimate, after the checks that must not wait for a worker:
        InvalidRequest (an unknown provider), BudgetExceeded (every usable provider is paid
        and the key's monthly budget cannot cover one), ProviderUnavailable (none usable)."""
        if self.providers is None:
            return None
        self.providers.check_budget(principal.owner, request)
        estimate = self.providers.estimate(request)
        if not any(item.available for item in estimate.items):
            reasons = "; ".join(f"{i.provider}: {i.note or 'unavailable'}" for i in estimate.items)
            raise ProviderUnavailable(f"no provider of this request can make it — {reasons}")
        return estimate.to_dict()

    @staticmethod
    def _same_request(job: Job, sent: str | None) -> Job:
        if job.idempotency_fingerprint != sent:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request body; "
                "use a new key for a new song"
            )
        return job

    def _cached(self, principal: Principal, hash_: str) -> Job | None:
        if self.policy.cache_scope == "off":
            return None
        owner = principal.owner if self.policy.cache_scope == "owner" else None
        return self.store.find_cached(hash_, owner)

    def get(self, principal: Principal, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None or job.owner != principal.owner:
            raise NotFound(f"no song job {job_id}")
        return job

    def list_jobs(
        self,
        principal: Principal,
        *,
        statuses: list[JobStatus] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be 1–{MAX_PAGE}")
        before = decode_cursor(cursor) if cursor else None
        jobs = self.store.list_jobs(
            principal.owner, statuses=statuses, limit=limit + 1, before=before
        )
        more = len(jobs) > limit
        jobs = jobs[:limit]
        return Page(jobs, encode_cursor(jobs[-1]) if more and jobs else None)

    def cancel_or_delete(self, principal: Principal, job_id: str) -> Job | None:
        """Cancel a queued or running job (returned), or delete a finished one with its files
        (None). Files a cached copy still points at are kept until the last copy goes."""
        job = self.get(principal, job_id)
        if job.status.active:
            cancelled = self.store.request_cancel(job.id)
            if cancelled is None:
                raise NotFound(f"no song job {job_id}")
            return cancelled
        self.store.delete(job.id)
        if job.outputs is not None and self.store.count_output_refs(job.outputs.prefix) == 0:
            self.blobs.delete_prefix(job.outputs.prefix)
        if not job.cached:
            self._drop_orphans(job.id)
        return None

    def _drop_orphans(self, job_id: str) -> None:
        for key in self.blobs.list_keys(job_prefix(job_id)):
            prefix = "/".join(key.split("/")[:3])
            if self.store.count_output_refs(prefix) == 0:
                self.blobs.delete_prefix(prefix)

    def attempts_of(self, principal: Principal, job_id: str) -> list[Any]:
        return self.store.attempts(self.get(principal, job_id).id)

    def webhook_attempts(self, principal: Principal, job_id: str) -> list[WebhookAttempt]:
        return self.store.webhook_attempts(self.get(principal, job_id).id)

    # --- files -----------------------------------------------------------------------------
    def _finished(self, principal: Principal, job_id: str) -> Job:
        job = self.get(principal, job_id)
        if job.status is not JobStatus.SUCCEEDED or job.outputs is None:
            raise NotReady(f"song job {job_id} is {job.status.value}; files exist once succeeded")
        return job

    def audio(self, principal: Principal, job_id: str, fmt: AudioFormat | None = None) -> BlobRef:
        job = self._finished(principal, job_id)
        assert job.outputs is not None
        if fmt is None or fmt.value == job.outputs.format:
            return job.outputs.audio
        return transcode(self.blobs, job.outputs, fmt)

    def stem(self, principal: Principal, job_id: str, part: str) -> BlobRef:
        job = self._finished(principal, job_id)
        assert job.outputs is not None
        ref = job.outputs.stems.get(stem_slug(part))
        if ref is None:
            names = ", ".join(sorted(job.outputs.stems)) or "none"
            raise NotFound(f"no stem {part!r}; this song has: {names}")
        return ref

    def midi(self, principal: Principal, job_id: str) -> BlobRef:
        job = self._finished(principal, job_id)
        assert job.outputs is not None
        if job.outputs.midi is None:
            raise NotFound(f"song job {job_id} has no MIDI (its generator made audio only)")
        return job.outputs.midi

    def metadata(self, principal: Principal, job_id: str) -> BlobRef:
        job = self._finished(principal, job_id)
        assert job.outputs is not None
        return job.outputs.metadata

    def read(self, ref: BlobRef, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        return self.blobs.iter_range(ref.key, start, stop)

    # --- operators -------------------------------------------------------------------------
    def usage(self, principal: Principal) -> list[dict[str, Any]]:
        if not principal.admin:
            raise Forbidden("usage is for admin keys")
        names = {k.id: k for k in self.keys.all()}
        rows = []
        by_owner = {u.owner: u for u in self.store.usage()}
        for owner in sorted(set(names) | set(by_owner)):
            usage = by_owner.get(owner) or Usage(owner, {}, 0.0, None)
            key = names.get(owner)
            rows.append(
                {
                    "key_id": owner,
                    "key_prefix": key.prefix if key else None,
                    "name": key.name if key else owner,
                    "admin": key.admin if key else False,
                    "revoked": bool(key and not key.active),
                    "jobs": usage.by_status,
                    "jobs_total": sum(usage.by_status.values()),
                    "audio_seconds": round(usage.audio_seconds, 3),
                    "last_job_at": usage.last_job_at,
                }
            )
        return rows

    # --- providers ---------------------------------------------------------------------------
    def _provider_layer(self) -> ProviderLayer:
        if self.providers is None:
            raise NotFound("this server has no provider layer")
        return self.providers

    def provider_list(self, principal: Principal, *, check: bool = False) -> list[dict[str, Any]]:
        """Every provider: installed, configured, capabilities, price. Admin keys also see
        each provider's settings (secrets masked) and may ask for health checks, which call
        the providers (``check``)."""
        from songforge.providers.overview import describe_providers

        providers = self._provider_layer()
        if check and not principal.admin:
            raise Forbidden("provider health checks are for admin keys")
        rows = describe_providers(providers.settings, check=check, registry=providers.registry)
        if not principal.admin:
            for row in rows:
                row["settings"] = None
        return rows

    def provider_usage(
        self, principal: Principal, *, key_id: str | None = None, month: str | None = None
    ) -> dict[str, Any]:
        """Spend on providers in ``month`` ('YYYY-MM', default this one, UTC) per key and
        provider, with each key's budget and what remains of it. A key sees its own spend;
        an admin key sees every key's, or ``key_id``'s."""
        from songforge.providers.cost import month_of

        providers = self._provider_layer()
        if key_id is not None and key_id != principal.owner and not principal.admin:
            raise Forbidden("only admin keys may read another key's usage")
        if month is not None and not re.match(MONTH_PATTERN, month):
            raise InvalidRequest("month", "must be YYYY-MM")
        month = month or month_of(self.clock())
        if key_id is None and not principal.admin:
            key_id = principal.owner
        rows = providers.ledger.summary(key_id=key_id, month=month)
        spent: dict[str, float] = {}
        for row in rows:
            spent[row.key_id] = spent.get(row.key_id, 0.0) + row.usd
        if key_id is not None:
            owners = [key_id]
        else:
            owners = sorted(set(spent) | {k.id for k in self.keys.all()})
        keys = []
        for owner in owners:
            budget = providers.budgets.budget_for(owner)
            used = spent.get(owner, 0.0)
            remaining = None if budget is None else round(max(0.0, budget - used), 6)
            keys.append(
                {
                    "key_id": owner,
                    "spent_usd": round(used, 6),
                    "budget_usd": budget,
                    "remaining_usd": remaining,
                }
            )
        return {
            "month": month,
            "items": [row.to_dict() for row in rows],
            "keys": keys,
            "total_usd": round(sum(spent.values()), 6),
        }

    def provider_webhook(
        self, provider: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """An inbound provider webhook; its signature is its authentication (no API key).
        Forged or stale calls raise WebhookRejected (401) and change nothing. A replayed
        webhook id answers ``duplicate`` (200), not 409: it passed the signature check, so it
        is the provider retrying a delivery whose answer it missed (or a replay, which changes
        nothing either), and any 2xx stops a Standard Webhooks sender retrying for days."""
        from songforge.providers.inbound import WebhookReplayed

        if self.inbound is None:
            raise NotFound("this server takes no provider webhooks")
        try:
            self.inbound.handle(provider, headers, body)
        except WebhookReplayed:
            return {"status": "duplicate"}
        return {"status": "accepted"}

    def ready(self) -> None:
        """Raise StorageError when a backend is unreachable."""
        self.store.ping()
        self.blobs.ping()
        self.queue.depth()


def styles() -> list[dict[str, Any]]:
    """The installed styles as clients see them (GET /v1/styles)."""
    from songforge.styles.catalog import default_catalog

    return [
        {
            "id": style.id,
            "name": style.name,
            "description": style.description,
            "aliases": list(style.aliases),
            "tempo_bpm": {
                "min": style.tempo_bpm[0],
                "max": style.tempo_bpm[1],
                "default": style.default_tempo_bpm,
            },
            "feel": style.feel.value,
            "time_signatures": [ts.value for ts in style.time_signatures],
            "duration_s": {"min": style.duration_s[0], "max": style.duration_s[1]},
            "parts": [{"name": part.name, "role": part.role.value} for part in style.parts]
            + ([{"name": "drums", "role": "drums"}] if style.drums is not None else []),
        }
        for style in default_catalog()
    ]
