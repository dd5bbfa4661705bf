"""Atomic file writes: a reader never sees a half-written song."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from songforge.errors import OutputError


def _umask() -> int:
    """The process's umask (read by setting and restoring it: done once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file here


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write to a temp file beside ``path``, fsync, then rename over it. The file gets
    ``mode``, or by default the permissions any newly created file would get (the temp file's
    own 0600 would make a user's song unreadable to everyone else)."""
    directory = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise OutputError(f"cannot write {path}: directory {directory} does not exist") from None
    except PermissionError:
        raise OutputError(f"cannot write {path}: permission denied") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, _NEW_FILE_MODE if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
