"""Files and streams over a real uvicorn on 127.0.0.1: byte ranges, ETags, HEAD, transcodes
and the server-sent progress events."""

from __future__ import annotations

import hashlib
import io
import threading
import time

import httpx
import soundfile
from service_rig import LiveServer, Rig


def finished(rig: Rig, **fields: object) -> dict:
    job = rig.submit(**fields)
    rig.run_jobs()
    return rig.client.get(f"/v1/songs/{job['id']}", headers=rig.auth()).json()


def test_audio_is_served_whole_with_validators(rig: Rig, live: LiveServer) -> None:
    job = finished(rig)
    url = f"{live.url}/v1/songs/{job['id']}/audio"
    response = httpx.get(url, headers=rig.auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert hashlib.sha256(response.content).hexdigest() == job["song"]["audio"]["sha256"]
    again = httpx.get(url, headers={**rig.auth(), "If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(url, headers=rig.auth())
    assert head.status_code == 200 and head.headers["content-length"] == str(len(response.content))


def test_byte_ranges(rig: Rig, live: LiveServer) -> None:
    job = finished(rig)
    url = f"{live.url}/v1/songs/{job['id']}/audio"
    whole = httpx.get(url, headers=rig.auth()).content
    size = len(whole)
    cases = {
        "bytes=0-99": (0, 100),
        "bytes=100-": (100, size),
        "bytes=-500": (size - 500, size),
        f"bytes=10-{size + 1000}": (10, size),
    }
    for header, (start, stop) in cases.items():
        part = httpx.get(url, headers={**rig.auth(), "Range": header})
        assert part.status_code == 206, header
        assert part.content == whole[start:stop], header
        assert part.headers["content-range"] == f"bytes {start}-{stop - 1}/{size}"
        assert part.headers["content-length"] == str(stop - start)
    past = httpx.get(url, headers={**rig.auth(), "Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    assert past.json()["error"]["code"] == "range_not_satisfiable"
    stale = httpx.get(url, headers={**rig.auth(), "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and len(stale.content) == size
    several = httpx.get(url, headers={**rig.auth(), "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200  # multi-range is answered with the whole file


def test_stems_midi_metadata_and_transcodes(rig: Rig, live: LiveServer) -> None:
    job = finished(rig)
    base = f"{live.url}/v1/songs/{job['id']}"
    stem = httpx.get(f"{base}/stems/bass", headers=rig.auth())
    assert stem.status_code == 200 and stem.headers["content-type"] == "audio/wav"
    assert httpx.get(f"{base}/stems/kazoo", headers=rig.auth()).status_code == 404
    midi = httpx.get(f"{base}/midi", headers=rig.auth())
    assert midi.status_code == 200 and midi.content.startswith(b"MThd")
    sheet = httpx.get(f"{base}/metadata", headers=rig.auth()).json()
    assert sheet["audio"]["sha256"] == job["song"]["audio"]["sha256"]
    flac = httpx.get(f"{base}/audio?format=flac", headers=rig.auth())
    assert flac.status_code == 200 and flac.headers["content-type"] == "audio/flac"
    audio, rate = soundfile.read(io.BytesIO(flac.content))
    assert rate == 44100 and audio.shape[1] == 2
    again = httpx.get(f"{base}/audio?format=flac", headers=rig.auth())
    assert again.headers["etag"] == flac.headers["etag"]  # made once, then cached


def test_files_of_an_unfinished_job_are_409(rig: Rig, live: LiveServer) -> None:
    job = rig.submit()
    response = httpx.get(f"{live.url}/v1/songs/{job['id']}/audio", headers=rig.auth())
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"


def test_events_stream_progress_until_the_job_ends(rig: Rig, live: LiveServer) -> None:
    job = rig.submit()
    events: list[str] = []

    def listen() -> None:
        url = f"{live.url}/v1/songs/{job['id']}/events"
        with httpx.stream("GET", url, headers=rig.auth(), timeout=20) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(0.3)
    rig.run_jobs()
    listener.join(20)
    assert not listener.is_alive()
    assert events[0] == "progress" and events[-1] == "end"
