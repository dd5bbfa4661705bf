"""The generation service: the thin layer the API and CLI call (submit, status, fetch), API
keys, rate limits, webhooks, and the wiring from Settings to backends and workers."""

from songforge.service.core import (
    LOCAL_PRINCIPAL,
    Page,
    Principal,
    ServicePolicy,
    SongService,
    Submission,
    styles,
)
from songforge.service.keys import ApiKey, KeyStore, MemoryKeyStore, SqliteKeyStore, new_key
from songforge.service.limits import MemoryRateLimiter, Rate, RateLimiter, SqliteRateLimiter
from songforge.service.runtime import (
    Backends,
    Background,
    build_service,
    build_worker,
    open_backends,
    run_worker,
)
from songforge.service.views import job_view
from songforge.service.webhooks import WebhookDispatcher, check_callback_url, sign

__all__ = [
    "LOCAL_PRINCIPAL",
    "ApiKey",
    "Backends",
    "Background",
    "KeyStore",
    "MemoryKeyStore",
    "MemoryRateLimiter",
    "Page",
    "Principal",
    "Rate",
    "RateLimiter",
    "ServicePolicy",
    "SongService",
    "SqliteKeyStore",
    "SqliteRateLimiter",
    "Submission",
    "WebhookDispatcher",
    "build_service",
    "build_worker",
    "check_callback_url",
    "job_view",
    "new_key",
    "open_backends",
    "run_worker",
    "sign",
    "styles",
]
