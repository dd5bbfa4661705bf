"""Blobs as files under a root directory: ``data/<key>`` holds the bytes and ``meta/<key>.json``
their size, sha256 and content type. Writes are atomic (temp file + fsync + rename)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from songforge.errors import NotFound, OutputError, StorageError
from songforge.fileio import write_bytes_atomic
from songforge.storage.blobs import CHUNK_BYTES, BlobInfo, check_key, check_prefix

BLOB_MODE = 0o600  # stored songs are the service's (and their owners'), not other local users'


class FilesystemBlobStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._data = self.root / "data"
        self._meta = self.root / "meta"
        try:
            self._data.mkdir(parents=True, exist_ok=True)
            self._meta.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create blob store at {self.root}: {exc.strerror}") from exc

    def _paths(self, key: str) -> tuple[Path, Path]:
        check_key(key)
        return self._data / key, self._meta / f"{key}.json"

    def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        data_path, meta_path = self._paths(key)
        info = BlobInfo(key, len(data), hashlib.sha256(data).hexdigest(), content_type)
        sheet = {"size_bytes": info.size_bytes, "sha256": info.sha256, "content_type": content_type}
        try:
            data_path.parent.mkdir(parents=True, exist_ok=True)
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(data_path, data, mode=BLOB_MODE)
            write_bytes_atomic(meta_path, json.dumps(sheet).encode("utf-8"), mode=BLOB_MODE)
        except (OSError, OutputError) as exc:
            raise StorageError(f"cannot store {key}: {exc}") from exc
        return info

    def stat(self, key: str) -> BlobInfo | None:
        data_path, meta_path = self._paths(key)
        try:
            sheet = json.loads(meta_path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StorageError(f"unreadable metadata for {key}: {exc}") from exc
        if not data_path.exists():
            return None
        return BlobInfo(key, int(sheet["size_bytes"]), sheet["sha256"], sheet["content_type"])

    def get(self, key: str) -> bytes:
        data_path, _ = self._paths(key)
        try:
            return data_path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {key}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from exc

    def iter_range(
        self, key: str, start: int = 0, stop: int | None = None, chunk_bytes: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        data_path, _ = self._paths(key)
        try:
            handle = data_path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"no blob {key}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from exc
        return self._chunks(handle, start, stop, chunk_bytes)

    @staticmethod
    def _chunks(
        handle: BinaryIO, start: int, stop: int | None, chunk_bytes: int
    ) -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = None if stop is None else max(stop - start, 0)
            while remaining is None or remaining > 0:
                size = chunk_bytes if remaining is None else min(chunk_bytes, remaining)
                chunk = handle.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> bool:
        data_path, meta_path = self._paths(key)
        meta_path.unlink(missing_ok=True)
        try:
            data_path.unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        prefix = check_prefix(prefix)
        count = len(self.list_keys(prefix))
        for base in (self._data, self._meta):
            shutil.rmtree(base / prefix, ignore_errors=True)
        return count

    def list_keys(self, prefix: str) -> list[str]:
        prefix = check_prefix(prefix)
        base = self._data / prefix
        keys = []
        for directory, _, files in os.walk(base):
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # an interrupted atomic write
                keys.append(str((Path(directory) / name).relative_to(self._data)))
        return sorted(keys)

    def ping(self) -> None:
        if not os.access(self._data, os.W_OK):
            raise StorageError(f"blob store {self.root} is not writable")
