"""Secret redaction for logs, error messages and metadata.

Two nets: the exact values of every secret in the settings (any ``SecretStr`` field, whatever
adapter added it), and patterns for token shapes that may arrive from elsewhere (a provider echoing
an ``Authorization`` header, a signed URL's query string)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr

from songforge.settings import Settings

MASK = "****"
MIN_SECRET_CHARS = 6  # shorter values are too likely to match ordinary text
_PATTERNS = (
    # Authorization: Bearer <token> / Token <token> / Basic <b64>
    re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # well-known key prefixes: Replicate, Stability/OpenAI style, webhook secrets, our API keys
    re.compile(r"\b(r8_|sk-|sk_|whsec_|sfk_|hf_|AIza)[A-Za-z0-9._+/=-]{8,}"),
    # credentials in query strings (presigned URLs, api_key=...)
    re.compile(
        r"(?i)([?&](?:api[_-]?key|key|token|access_token|signature|sig|x-amz-signature|"
        r"x-amz-credential|x-goog-signature|x-goog-credential)=)[^&\s\"']+"
    ),
)


def mask(secret: str | SecretStr | None) -> str:
    """How a secret is shown to an operator: ``r8_****cdef`` (long), ``set`` (short), ``unset``."""
    if secret is None:
        return "unset"
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not value:
        return "unset"
    if len(value) < 16:
        return "set"
    head = value[:3]
    return f"{head}{MASK}{value[-4:]}"


def secrets_in(settings: Settings) -> list[str]:
    """The values of every ``SecretStr`` in the settings (top level, lists and dicts)."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, Mapping):
            for item in value.values():
                visit(item)
        elif isinstance(value, list | tuple | set):
            for item in value:
                visit(item)

    for name in type(settings).model_fields:
        visit(getattr(settings, name, None))
    return [s for s in found if len(s) >= MIN_SECRET_CHARS]


class Redactor:
    """Replaces known secret values and token-shaped strings in text and nested data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self._exact = re.compile("|".join(re.escape(v) for v in values)) if values else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        return cls(secrets_in(settings))

    def text(self, value: str) -> str:
        if self._exact is not None:
            value = self._exact.sub(MASK, value)
        value = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", value)
        value = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", value)
        return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", value)

    def data(self, value: Any) -> Any:
        """A copy of JSON-like data with every string redacted (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, SecretStr):
            return MASK
        if isinstance(value, Mapping):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def error(self, exc: BaseException) -> str:
        return self.text(str(exc))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message (attach it to handlers)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor.text(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor.text(
                logging.Formatter().formatException(record.exc_info)
            )
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def redacting_filter(settings: Settings) -> RedactingFilter:
    return RedactingFilter(Redactor.from_settings(settings))


__all__ = ["MASK", "RedactingFilter", "Redactor", "mask", "redacting_filter", "secrets_in"]
