"""One error tree for all of songforge; the CLI and the API map it to exit codes and statuses."""

from __future__ import annotations


class SongforgeError(Exception):
    """Root of every error songforge raises on purpose."""

    code = "songforge_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(SongforgeError):
    """A request field is out of range or malformed; ``field`` names it."""

    code = "invalid_request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


class UnknownStyle(InvalidRequest):
    """The requested genre is not one of the installed styles."""

    code = "unknown_style"


class StyleFileError(SongforgeError):
    """A style data file failed schema validation."""

    code = "style_file_error"


class AudioReadError(SongforgeError):
    """An audio file is missing, unreadable or not in a supported format."""

    code = "audio_read_error"


class SoundFontError(SongforgeError):
    """A SoundFont is missing, unreadable or not a valid SF2/SF3 file."""

    code = "soundfont_error"


class RenderError(SongforgeError):
    """Rendering, mixing or mastering failed."""

    code = "render_error"


class OutputError(SongforgeError):
    """An output path cannot be written."""

    code = "output_error"


class StorageError(SongforgeError):
    """A blob or job store operation failed."""

    code = "storage_error"


class NotFound(SongforgeError):
    """The thing asked for does not exist (or belongs to someone else)."""

    code = "not_found"


class Cancelled(SongforgeError):
    """The job was cancelled by its owner."""

    code = "cancelled"


class ProviderError(SongforgeError):
    """A generation provider failed; ``retryable`` says whether trying again may help."""

    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        retryable: bool = False,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable
        self.retry_after_s = retry_after_s  # the provider's Retry-After, when it sent one
        self.status = status  # the provider's HTTP status, when there was one


class ProviderUnavailable(ProviderError):
    """The provider is not configured, not installed, or its circuit is open."""

    code = "provider_unavailable"


class ContentRefused(ProviderError):
    """The provider's moderation refused the prompt; never retried."""

    code = "content_refused"


class BudgetExceeded(SongforgeError):
    """The key's monthly budget for paid providers is spent; the figures say by how much."""

    code = "budget_exceeded"

    def __init__(
        self,
        message: str,
        *,
        spent_usd: float | None = None,
        budget_usd: float | None = None,
        needed_usd: float | None = None,
        month: str | None = None,
    ) -> None:
        super().__init__(message)
        self.spent_usd = spent_usd
        self.budget_usd = budget_usd
        self.needed_usd = needed_usd  # what the song would cost on the cheapest paid provider
        self.month = month  # "YYYY-MM" (UTC)


class QuotaExceeded(SongforgeError):
    """Rate limit or concurrent-job quota reached."""

    code = "quota_exceeded"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# --- service errors (jobs, storage, API) -------------------------------------------------


class Unauthorized(SongforgeError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthorized"


class Forbidden(SongforgeError):
    """The key is valid but may not do this (e.g. admin-only routes)."""

    code = "forbidden"


class Conflict(SongforgeError):
    """The request conflicts with the current state of a resource."""

    code = "conflict"


class IdempotencyConflict(Conflict):
    """An Idempotency-Key was reused with a different request body."""

    code = "idempotency_conflict"


class NotReady(Conflict):
    """The job has not produced this output (yet, or at all)."""

    code = "not_ready"


class RangeNotSatisfiable(SongforgeError):
    """An HTTP Range lies outside the file; ``size_bytes`` is the file's length."""

    code = "range_not_satisfiable"

    def __init__(self, message: str, size_bytes: int) -> None:
        super().__init__(message)
        self.size_bytes = size_bytes


class PayloadTooLarge(InvalidRequest):
    """The request body exceeds the configured limit."""

    code = "payload_too_large"


class UnsupportedMediaType(InvalidRequest):
    """The request body is not JSON."""

    code = "unsupported_media_type"


class UnsafeCallbackUrl(InvalidRequest):
    """A webhook callback URL is not http(s) or points at a private, loopback or local address."""

    code = "unsafe_callback_url"


class UnresolvableCallbackHost(UnsafeCallbackUrl):
    """The callback's host did not resolve: refused at submission, but at delivery time
    (possibly a passing DNS failure) retried like a failed request."""


class LeaseLost(SongforgeError):
    """A worker's lease on a job expired or was taken over; it must stop writing."""

    code = "lease_lost"
