"""Logging for `serve` and `worker`: one stderr handler on the root logger, and on it a filter
that redacts every secret the settings hold (and token-shaped strings) from each record.

uvicorn is started with ``log_config=None`` so its loggers (``uvicorn.error``, and the access
log, which never includes request headers) propagate here instead of to handlers of their own
that would bypass the filter."""

from __future__ import annotations

import logging
from typing import TextIO

from songforge.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(
    settings: Settings, *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Install the redacting root handler (to ``stream``, default stderr) and make uvicorn's
    loggers propagate to it rather than to handlers of their own; returns the handler."""
    from songforge.providers.redact import redacting_filter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(redacting_filter(settings))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


__all__ = ["FORMAT", "UVICORN_LOGGERS", "configure_logging"]
