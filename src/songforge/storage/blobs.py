"""The blob-store protocol: immutable named files (song audio, stems, MIDI, metadata) with a
content hash, readable in byte ranges. Keys are '/'-separated slugs, e.g.
``songs/<id>/a1/song.wav``.

Backends: :class:`~songforge.storage.filesystem.FilesystemBlobStore` (embedded),
:class:`~songforge.storage.memory.MemoryBlobStore`. Every backend passes
``tests/storage/test_blob_contract.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from songforge.errors import StorageError

CHUNK_BYTES = 256 * 1024
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,15}")


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size_bytes: int
    sha256: str
    content_type: str

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'


def check_key(key: str) -> str:
    """Refuse keys that could escape the store's root or clash with its bookkeeping."""
    if not _KEY.fullmatch(key) or ".." in key.split("/") or key.endswith(".tmp"):
        raise StorageError(f"not a valid blob key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    return check_key(prefix.rstrip("/"))


@runtime_checkable
class BlobStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        """Store ``data`` atomically under ``key`` (replacing any earlier blob)."""
        ...

    def stat(self, key: str) -> BlobInfo | None: ...

    def get(self, key: str) -> bytes:
        """The whole blob; raises NotFound."""
        ...

    def iter_range(
        self, key: str, start: int = 0, stop: int | None = None, chunk_bytes: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        """Bytes ``[start, stop)`` in chunks; raises NotFound before yielding anything."""
        ...

    def delete(self, key: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob under ``prefix/``; returns how many."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """Keys under ``prefix/``, sorted."""
        ...

    def ping(self) -> None:
        """Raise StorageError if the store cannot be reached."""
        ...
