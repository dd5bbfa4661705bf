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

    def __init__(self, message: str, *, provider: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


class ProviderUnavailable(ProviderError):
    """The provider is not configured, not installed, or its circuit is open."""

    code = "provider_unavailable"


class ContentRefused(ProviderError):
    """The provider's moderation refused the prompt; never retried."""

    code = "content_refused"


class BudgetExceeded(SongforgeError):
    """The key's monthly budget for paid providers is spent."""

    code = "budget_exceeded"


class QuotaExceeded(SongforgeError):
    """Rate limit or concurrent-job quota reached."""

    code = "quota_exceeded"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
