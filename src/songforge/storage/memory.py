"""Blobs in a dict: for tests and the single-process offline mode."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

from songforge.errors import NotFound
from songforge.storage.blobs import CHUNK_BYTES, BlobInfo, check_key, check_prefix


class MemoryBlobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, tuple[bytes, BlobInfo]] = {}

    def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        info = BlobInfo(check_key(key), len(data), hashlib.sha256(data).hexdigest(), content_type)
        with self._lock:
            self._blobs[key] = (bytes(data), info)
        return info

    def stat(self, key: str) -> BlobInfo | None:
        with self._lock:
            entry = self._blobs.get(check_key(key))
        return entry[1] if entry else None

    def get(self, key: str) -> bytes:
        with self._lock:
            entry = self._blobs.get(check_key(key))
        if entry is None:
            raise NotFound(f"no blob {key}")
        return entry[0]

    def iter_range(
        self, key: str, start: int = 0, stop: int | None = None, chunk_bytes: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        data = self.get(key)[start:stop]
        return iter([data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)])

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._blobs.pop(check_key(key), None) is not None

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        with self._lock:
            for key in keys:
                self._blobs.pop(key, None)
        return len(keys)

    def list_keys(self, prefix: str) -> list[str]:
        base = check_prefix(prefix) + "/"
        with self._lock:
            return sorted(k for k in self._blobs if k.startswith(base))

    def ping(self) -> None:
        return None
