"""Atomic writes give a finished file the permissions any new file would get, or the mode
asked for (the blob store keeps its files private)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from songforge.errors import OutputError
from songforge.fileio import write_bytes_atomic
from songforge.storage.filesystem import BLOB_MODE, FilesystemBlobStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _expected_new_file_mode(tmp_path: Path) -> int:
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    return _mode(probe)


def test_a_written_file_has_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    write_bytes_atomic(path, b"audio")
    assert path.read_bytes() == b"audio"
    assert _mode(path) == _expected_new_file_mode(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe", "song.mp3"]


def test_an_explicit_mode_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "secret.bin"
    write_bytes_atomic(path, b"x", mode=0o600)
    assert _mode(path) == 0o600


def test_blobs_stay_private_to_the_service(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    store.put("songs/a/song.mp3", b"audio", "audio/mpeg")
    written = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert written and all(_mode(p) == BLOB_MODE for p in written)


def test_a_missing_directory_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_bytes_atomic(tmp_path / "nowhere" / "song.mp3", b"x")
