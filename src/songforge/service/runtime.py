"""Wiring at the edge: Settings → backends → service, worker, webhook dispatcher; and the
background loops `serve` and `worker` run (job workers as threads or spawned processes, the
webhook dispatcher, the stale-job sweeper)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from songforge.jobs._sqlite import Database
from songforge.jobs.generator import SongGenerator, make_generator
from songforge.jobs.memory import MemoryJobStore, MemoryQueue
from songforge.jobs.policy import LeasePolicy, RetryPolicy
from songforge.jobs.queue import JobQueue
from songforge.jobs.sqlite import SqliteJobStore, SqliteQueue
from songforge.jobs.store import JobStore
from songforge.jobs.worker import Worker, requeue_stale
from songforge.render.meter import single_threaded_blas_from_now
from songforge.service.core import ServicePolicy, SongService
from songforge.service.keys import KeyStore, MemoryKeyStore, SqliteKeyStore
from songforge.service.limits import MemoryRateLimiter, Rate, RateLimiter, SqliteRateLimiter
from songforge.service.webhooks import WebhookDispatcher, parse_secret
from songforge.settings import Settings
from songforge.storage.blobs import BlobStore
from songforge.storage.filesystem import FilesystemBlobStore
from songforge.storage.memory import MemoryBlobStore

if TYPE_CHECKING:
    from songforge.providers.cost import UsageLedger

log = logging.getLogger("songforge.service")

DB_FILE = "songforge.db"
LIMITS_FILE = "limits.db"  # rate-limit buckets: rewritten on every request, never fsynced
BLOB_DIR = "blobs"
WORKER_PROCESS_NAME = "songforge-jobs"  # what ps and top show (at most 15 characters)
API_PROCESS_NAME = "songforge-api"
_process_niced = False  # this whole process already runs at the job workers' priority


@dataclass
class Backends:
    store: JobStore
    queue: JobQueue
    blobs: BlobStore
    keys: KeyStore
    ledger: UsageLedger | None = None  # provider spend; opened by usage_ledger() on first use

    def close(self) -> None:
        self.store.close()
        self.queue.close()
        close = getattr(self.ledger, "close", None)
        if close is not None:
            close()


def open_backends(settings: Settings) -> Backends:
    """The embedded backends under ``settings.data_dir`` (or in memory)."""
    if settings.store_backend == "sqlite":
        db = Database(settings.data_dir / DB_FILE)
        store: JobStore = SqliteJobStore(db)
        queue: JobQueue = SqliteQueue(db)
        keys: KeyStore = SqliteKeyStore(db)
    else:
        store, queue, keys = MemoryJobStore(), MemoryQueue(), MemoryKeyStore()
    blobs: BlobStore
    if settings.blob_backend == "filesystem":
        blobs = FilesystemBlobStore(settings.data_dir / BLOB_DIR)
    else:
        blobs = MemoryBlobStore()
    return Backends(store, queue, blobs, keys)


def usage_ledger(settings: Settings, backends: Backends) -> UsageLedger:
    """The process's one usage ledger: the service (budgets, GET /v1/usage) and the workers
    (spend) share it, which matters for ``usage_backend=memory``. Opened on first use, so
    commands that never touch providers do not import them."""
    if backends.ledger is None:
        from songforge.providers.cost import open_ledger

        backends.ledger = open_ledger(settings)
    return backends.ledger


def service_policy(settings: Settings) -> ServicePolicy:
    return ServicePolicy(
        auth=settings.auth,
        max_attempts=settings.max_attempts,
        max_active_jobs=settings.max_active_jobs,
        cache_scope=settings.cache_scope,
        webhooks_enabled=settings.webhook_secret is not None,
        webhook_allow=tuple(settings.webhook_allow),
        key_cache_s=settings.key_cache_s,
    )


def rate_limiter(settings: Settings) -> RateLimiter:
    """With the SQLite store, buckets in a file of the data dir that every API process on the
    machine shares (so several API processes together allow the configured rate); else in memory."""
    rates = {
        "request": Rate(settings.rate_limit_per_s, settings.rate_limit_burst),
        "submit": Rate(settings.submit_rate_per_s, settings.submit_burst),
    }
    if settings.store_backend == "sqlite":
        return SqliteRateLimiter(settings.data_dir / LIMITS_FILE, rates)
    return MemoryRateLimiter(rates)


def build_service(settings: Settings, backends: Backends) -> SongService:
    """The service with its provider layer (estimates, budgets, usage, the provider list) and
    the inbound provider webhooks, both built from ``settings``."""
    from songforge.providers.inbound import inbound_from_settings
    from songforge.providers.orchestrator import ProviderGenerator

    limiter = rate_limiter(settings)
    return SongService(
        backends.store,
        backends.queue,
        backends.blobs,
        backends.keys,
        limiter,
        service_policy(settings),
        providers=ProviderGenerator(settings, ledger=usage_ledger(settings, backends)),
        inbound=inbound_from_settings(settings),
    )


def build_worker(
    settings: Settings, backends: Backends, generator: SongGenerator | None = None
) -> Worker:
    if generator is None:
        providers = settings.generator.partition(":")[0] == "providers"
        ledger = usage_ledger(settings, backends) if providers else None
        generator = make_generator(settings.generator, settings, ledger=ledger)
    return Worker(
        store=backends.store,
        queue=backends.queue,
        blobs=backends.blobs,
        generator=generator,
        lease=LeasePolicy(settings.lease_s, settings.heartbeat_s),
        retry=RetryPolicy(settings.max_attempts, tuple(settings.retry_backoff_s)),
        progress_interval_s=settings.progress_interval_s,
    )


def build_dispatcher(settings: Settings, backends: Backends) -> WebhookDispatcher | None:
    if settings.webhook_secret is None:
        return None
    return WebhookDispatcher(
        backends.store,
        parse_secret(settings.webhook_secret.get_secret_value()),
        retry_s=tuple(settings.webhook_retry_s),
        timeout_s=settings.webhook_timeout_s,
        allow=tuple(settings.webhook_allow),
    )


def _every(stop: threading.Event, period_s: float, action: Callable[[], Any], name: str) -> None:
    while not stop.is_set():
        try:
            busy = action()
        except Exception:
            log.exception("%s failed; retrying", name)
            busy = 0
        if not busy:
            stop.wait(period_s)


@dataclass
class Background:
    """Loops beside the API or in a worker process; ``stop()`` ends them all."""

    settings: Settings
    backends: Backends
    worker_threads: int = 0
    jobs_on_caller: bool = False  # the caller runs :meth:`run_jobs` itself, not a thread
    worker_processes: int = 0
    generator: SongGenerator | None = None
    sweep_older_than_s: float = 600.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _processes: list[BaseProcess] = field(default_factory=list)
    _dispatcher: WebhookDispatcher | None = None
    _worker: Worker | None = None

    def run_jobs(self) -> None:
        """Work jobs (``worker_threads`` at a time) from the calling thread until stopped;
        after :meth:`start`, which builds the worker."""
        if self._worker is None:
            raise RuntimeError("Background.run_jobs before start, or without worker_threads")
        lower_thread_priority(self.settings.worker_nice)  # job threads inherit it
        self._worker.run(self.stop_event, concurrency=self.worker_threads, poll_s=0.2)

    def start(self) -> None:
        stop = self.stop_event
        if self.worker_threads:
            self._worker = build_worker(self.settings, self.backends, self.generator)
            if not self.jobs_on_caller:
                self._spawn(self.run_jobs, "jobs")
        for _ in range(self.worker_processes):
            self._processes.append(start_worker_process(self.settings, concurrency=1))
        dispatcher = self._dispatcher = build_dispatcher(self.settings, self.backends)
        if dispatcher is not None:
            self._spawn(lambda: _every(stop, 0.5, dispatcher.run_once, "webhooks"), "webhooks")
        self._spawn(
            lambda: _every(
                stop,
                min(60.0, self.sweep_older_than_s),
                lambda: requeue_stale(
                    self.backends.store, self.backends.queue, self.sweep_older_than_s
                ),
                "sweeper",
            ),
            "sweeper",
        )

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"songforge-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stop_event.set()
        for process in self._processes:
            process.terminate()  # SIGTERM: the worker finishes its current stage loop and exits
        for process in self._processes:
            process.join(timeout_s)
            if process.is_alive():
                process.kill()
                process.join()
        for thread in self._threads:
            thread.join(timeout_s)
        if self._dispatcher is not None:
            self._dispatcher.close()


def start_worker_process(settings: Settings, concurrency: int = 1) -> BaseProcess:
    """A `songforge worker` in a fresh interpreter (spawn: no inherited locks or connections)."""
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=worker_process_main,
        args=(settings.model_dump(), concurrency),
        name="songforge-worker",
        daemon=False,
    )
    process.start()
    return process


def run_worker(settings: Settings, concurrency: int, stop: threading.Event | None = None) -> None:
    """The body of `songforge worker`: job threads plus the webhook dispatcher and sweeper,
    until SIGTERM/SIGINT (or ``stop``)."""
    backends = open_backends(settings)
    main = threading.current_thread() is threading.main_thread()
    # one job at a time runs on this thread: the engine forks its render helpers only from a
    # process's main thread (on a thread it renders on threads, several times slower)
    here = main and concurrency == 1
    background = Background(settings, backends, worker_threads=concurrency, jobs_on_caller=here)
    if stop is not None:
        background.stop_event = stop
    if main:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: background.stop_event.set())
    background.start()
    try:
        if here:
            single_threaded_blas_from_now()  # this process only makes songs
            background.run_jobs()
        else:
            background.stop_event.wait()
    finally:
        background.stop()
        backends.close()


def worker_process_main(settings_data: dict[str, Any], concurrency: int) -> None:
    from songforge.service.logs import configure_logging

    settings = Settings(**settings_data)
    become_worker_process(settings)
    configure_logging(settings)
    run_worker(settings, concurrency)


def become_worker_process(settings: Settings) -> None:
    """Name this dedicated job-worker process and lower the priority of all of it (threads
    started at import, such as BLAS pools, included): everything it does is background work."""
    global _process_niced
    name_process(WORKER_PROCESS_NAME)
    if settings.worker_nice and not _process_niced:
        if sys.platform == "linux":  # each thread has its own nice value; new ones inherit
            for task in os.listdir("/proc/self/task"):
                _renice(int(task), settings.worker_nice)
        else:
            os.nice(settings.worker_nice)
        _process_niced = True


def name_process(name: str) -> None:
    """Show ``name`` in ps and top (Linux; at most 15 characters), so an operator can tell
    the API processes from the job workers; elsewhere nothing happens."""
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass


def lower_thread_priority(increment: int) -> None:
    """Make the calling thread, and the threads it starts later (render pools included),
    ``increment`` nicer: song generation is background work, and at a lower priority it
    yields the cores to the API whenever a request is waiting, so API latency stays bounded
    while songs render. Linux only (there each thread has its own nice value); a dedicated
    worker process is niced whole by :func:`become_worker_process` instead."""
    if increment and not _process_niced and sys.platform == "linux":
        _renice(threading.get_native_id(), increment)


def _renice(thread_id: int, increment: int) -> None:
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + increment))
    except OSError as exc:  # a thread that just ended, or a platform without per-thread nice
        log.warning("could not lower the job workers' CPU priority: %s", exc)
