"""Blob storage for song files: a small protocol and its embedded backends."""

from songforge.storage.blobs import BlobInfo, BlobStore, check_key
from songforge.storage.filesystem import FilesystemBlobStore
from songforge.storage.memory import MemoryBlobStore

__all__ = ["BlobInfo", "BlobStore", "FilesystemBlobStore", "MemoryBlobStore", "check_key"]
