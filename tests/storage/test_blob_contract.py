"""The behaviour every BlobStore backend must show. A new backend (S3, ...) adds one entry to
BLOB_BACKENDS and passes the same tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from songforge.errors import NotFound, StorageError
from songforge.storage import BlobStore, FilesystemBlobStore, MemoryBlobStore

BLOB_BACKENDS: dict[str, Callable[[Path], BlobStore]] = {
    "memory": lambda tmp: MemoryBlobStore(),
    "filesystem": lambda tmp: FilesystemBlobStore(tmp / "blobs"),
}


@pytest.fixture(params=sorted(BLOB_BACKENDS))
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    yield BLOB_BACKENDS[request.param](tmp_path)


DATA = bytes(range(256)) * 1000


class TestBlobStoreContract:
    def test_put_returns_size_and_sha256_and_stat_agrees(self, blobs: BlobStore) -> None:
        info = blobs.put("songs/j1/a1/song.wav", DATA, "audio/wav")
        assert info.size_bytes == len(DATA)
        assert info.sha256 == hashlib.sha256(DATA).hexdigest()
        assert info.etag == f'"{info.sha256}"'
        assert blobs.stat("songs/j1/a1/song.wav") == info
        assert blobs.get("songs/j1/a1/song.wav") == DATA

    def test_ranges_read_exactly_the_bytes_asked_for(self, blobs: BlobStore) -> None:
        blobs.put("a/b", DATA, "application/octet-stream")
        assert b"".join(blobs.iter_range("a/b", 0, 100)) == DATA[:100]
        assert (
            b"".join(blobs.iter_range("a/b", 1000, 200_000, chunk_bytes=777)) == DATA[1000:200_000]
        )
        assert b"".join(blobs.iter_range("a/b", len(DATA) - 5)) == DATA[-5:]

    def test_missing_blobs(self, blobs: BlobStore) -> None:
        assert blobs.stat("no/such") is None
        with pytest.raises(NotFound):
            blobs.get("no/such")
        with pytest.raises(NotFound):
            b"".join(blobs.iter_range("no/such"))
        assert not blobs.delete("no/such")

    def test_put_replaces(self, blobs: BlobStore) -> None:
        blobs.put("x/y", b"one", "text/plain")
        info = blobs.put("x/y", b"two!", "text/plain")
        assert blobs.get("x/y") == b"two!" and info.size_bytes == 4

    def test_list_and_delete_by_prefix(self, blobs: BlobStore) -> None:
        for key in ("songs/j1/a1/song.wav", "songs/j1/a1/stems/bass.wav", "songs/j1/a2/song.wav",
                    "songs/j10/a1/song.wav"):  # fmt: skip
            blobs.put(key, b"x", "audio/wav")
        assert blobs.list_keys("songs/j1") == [
            "songs/j1/a1/song.wav",
            "songs/j1/a1/stems/bass.wav",
            "songs/j1/a2/song.wav",
        ]
        assert blobs.delete_prefix("songs/j1/a1") == 2
        assert blobs.list_keys("songs/j1") == ["songs/j1/a2/song.wav"]
        assert blobs.list_keys("songs/j10") == ["songs/j10/a1/song.wav"]

    @pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../b", "a//b", "", "a/b.tmp"])
    def test_keys_cannot_escape_the_store(self, blobs: BlobStore, key: str) -> None:
        with pytest.raises(StorageError):
            blobs.put(key, b"x", "text/plain")

    def test_ping(self, blobs: BlobStore) -> None:
        blobs.ping()


def test_filesystem_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put("songs/j/a1/song.wav", DATA, "audio/wav")
    files = sorted(p.name for p in (tmp_path / "data" / "songs" / "j" / "a1").iterdir())
    assert files == ["song.wav"]
    reopened = FilesystemBlobStore(tmp_path)  # the metadata survives a restart
    assert reopened.stat("songs/j/a1/song.wav") == store.stat("songs/j/a1/song.wav")
