"""Serving a stored file over HTTP: single byte ranges (206/416), ETag validation (304),
If-Range, HEAD, and streaming from the blob store without loading the file."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from songforge.errors import RangeNotSatisfiable
from songforge.jobs.model import BlobRef
from songforge.service.core import SongService


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, stop)`` for a satisfiable single ``bytes=`` range, None to send the whole
    file (no header, another unit, several ranges, or a malformed one — RFC 9110 lets a server
    ignore those); raises RangeNotSatisfiable when the range lies past the end."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"range {header!r} selects no bytes", size)
        return max(size - suffix, 0), size
    start = int(first)
    stop = int(last) + 1 if last else size
    if last and stop <= start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(f"range starts at {start} but the file has {size} bytes", size)
    return start, min(stop, size)


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def blob_response(request: Request, service: SongService, ref: BlobRef, filename: str) -> Response:
    etag = f'"{ref.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=0, must-revalidate",
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client's copy is stale: send it all
    span = parse_range(range_header, ref.size_bytes)
    status = 200
    start, stop = 0, ref.size_bytes
    if span is not None:
        start, stop = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{ref.size_bytes}"
    headers["Content-Length"] = str(stop - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=ref.content_type)
    return StreamingResponse(
        service.read(ref, start, stop),
        status_code=status,
        headers=headers,
        media_type=ref.content_type,
    )
