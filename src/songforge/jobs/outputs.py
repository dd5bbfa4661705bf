"""Writing a finished song to the blob store, and on-demand transcodes of it.

Layout: ``songs/<job id>/a<attempt>/`` holds ``song.<fmt>``, ``stems/<part>.<fmt>``,
``song.mid`` and ``metadata.json``. Each attempt writes under its own prefix, so a worker that
lost its lease can never overwrite the winner's files; the winner removes the others."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from songforge.jobs.model import BlobRef, Outputs
from songforge.request import AudioFormat
from songforge.song import Song
from songforge.storage.blobs import BlobInfo, BlobStore

MIDI_TYPE = "audio/midi"
JSON_TYPE = "application/json"
SUMMARY_FIELDS = (
    "seed", "style", "tempo_bpm", "key", "time_signature", "duration_s", "loudness",
    "provider", "providers", "cost",
)  # fmt: skip


def job_prefix(job_id: str) -> str:
    return f"songs/{job_id}"


def attempt_prefix(job_id: str, attempt: int) -> str:
    return f"{job_prefix(job_id)}/a{attempt}"


def stem_slug(name: str) -> str:
    """A part name as a file name: 'Lead Guitar' → 'lead-guitar'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "part"


def _ref(info: BlobInfo) -> BlobRef:
    return BlobRef(info.key, info.sha256, info.size_bytes, info.content_type)


def write_outputs(song: Song, blobs: BlobStore, prefix: str) -> Outputs:
    """Encode and store everything a job delivers; returns the manifest the job records."""
    fmt = song.format
    audio_bytes = song.encode(fmt)
    audio = _ref(blobs.put(f"{prefix}/song.{fmt.value}", audio_bytes, fmt.media_type))
    stems: dict[str, BlobRef] = {}
    for name in song.stems:
        data = song.encode_stem(name, fmt)
        key = f"{prefix}/stems/{stem_slug(name)}.{fmt.value}"
        stems[stem_slug(name)] = _ref(blobs.put(key, data, fmt.media_type))
    midi_bytes = song.midi()
    midi = _ref(blobs.put(f"{prefix}/song.mid", midi_bytes, MIDI_TYPE)) if midi_bytes else None
    files: dict[str, Any] = {
        "file": audio.key.rsplit("/", 1)[-1],
        "stems": {
            name: {"sha256": ref.sha256, "bytes": ref.size_bytes} for name, ref in stems.items()
        },
    }
    if midi is not None:
        files["midi"] = {"sha256": midi.sha256, "bytes": midi.size_bytes}
    sheet = song.metadata_for(audio_bytes, fmt, **files)
    meta_bytes = json.dumps(sheet, indent=2, default=str).encode("utf-8")
    metadata = _ref(blobs.put(f"{prefix}/metadata.json", meta_bytes, JSON_TYPE))
    summary = {k: sheet[k] for k in SUMMARY_FIELDS if k in sheet}
    return Outputs(
        prefix=prefix,
        format=fmt.value,
        audio=audio,
        metadata=metadata,
        stems=stems,
        midi=midi,
        duration_s=round(song.duration_s, 3),
        summary=summary,
    )


def remove_other_attempts(blobs: BlobStore, job_id: str, keep_prefix: str) -> None:
    """Delete files that earlier (dead or fenced) attempts of this job left behind."""
    prefixes = {
        "/".join(key.split("/")[:3]) for key in blobs.list_keys(job_prefix(job_id))
    }  # songs/<id>/a<n>
    for prefix in prefixes - {keep_prefix}:
        blobs.delete_prefix(prefix)


def transcode(blobs: BlobStore, outputs: Outputs, fmt: AudioFormat) -> BlobRef:
    """The song in another format, made once from the stored file and cached beside it."""
    if fmt.value == outputs.format:
        return outputs.audio
    key = f"{outputs.prefix}/song.{fmt.value}"
    existing = blobs.stat(key)
    if existing is not None:
        return _ref(existing)
    from songforge.render.codec import encode, read_audio

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"source.{outputs.format}"
        source.write_bytes(blobs.get(outputs.audio.key))
        audio, rate = read_audio(source)
    return _ref(blobs.put(key, encode(audio, rate, fmt), fmt.media_type))
