"""End-to-end generation benchmark: real-time factor and peak memory per sound source.

Each case runs in a fresh subprocess that reports its own peak RSS (ru_maxrss).
Targets (issue 2, 2 cores): ≥ 40× real time for a 4-minute MP3; ≤ 1 GB for a 5-minute song
with stems."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = [
    # (label, prompt, duration_s, format, stems, use_soundfont)
    ("synth 4:00 mp3", "driving synthwave night drive", 240, "mp3", False, False),
    ("soundfont 4:00 mp3", "driving 90s alternative rock anthem", 240, "mp3", False, True),
    ("synth 5:00 wav +stems", "deep house for a sunset rooftop", 300, "wav", True, False),
    ("soundfont 5:00 wav +stems", "driving 90s alternative rock anthem", 300, "wav", True, True),
]


def run_case(prompt: str, duration_s: float, fmt: str, stems: bool, use_soundfont: bool) -> None:
    """Child process body: generate and write one song, print timings as JSON."""
    from songforge.engine import generate
    from songforge.request import SongRequest
    from songforge.settings import Settings

    request = SongRequest(prompt=prompt, duration=duration_s, seed=1, format=fmt)
    settings = Settings(use_soundfont=use_soundfont)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        song = generate(request, settings=settings)
        made = time.perf_counter()
        song.write(Path(tmp) / f"song.{fmt}", stems=stems, midi=True)
        done = time.perf_counter()
    print(
        json.dumps(
            {
                "generate_s": made - start,
                "write_s": done - made,
                "audio_s": song.duration_s,
                "soundfont": song.metadata.get("soundfont"),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    print("engine: end-to-end generation (fresh process per case, seed 1)")
    print(f"{'case':<28}{'audio':>8}{'wall':>9}{'gen':>8}{'write':>8}{'x real':>9}{'peak MB':>9}")
    for label, prompt, duration_s, fmt, stems, use_font in CASES:
        args = [
            sys.executable,
            "-m",
            "benchmarks.bench_engine",
            "--one",
            prompt,
            str(duration_s),
            fmt,
            str(int(stems)),
            str(int(use_font)),
        ]
        start = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(f"{label:<28} FAILED: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        total = data["generate_s"] + data["write_s"]
        note = "" if (not use_font or data["soundfont"]) else "  (no SoundFont found: synth)"
        print(
            f"{label:<28}{data['audio_s']:8.1f}{wall:9.2f}{data['generate_s']:8.2f}"
            f"{data['write_s']:8.2f}{data['audio_s'] / total:9.1f}{data['peak_mb']:9.0f}{note}"
        )
    print("x real = audio seconds / (generate + write) seconds; wall includes interpreter start-up")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _, _, prompt, duration, fmt, stems, font = sys.argv
        run_case(prompt, float(duration), fmt, stems == "1", font == "1")
    else:
        main()
