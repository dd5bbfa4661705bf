"""End-to-end generation benchmark: real-time factor, CPU time and peak memory per sound source.

Each case runs in a fresh subprocess. It reports its wall and CPU time (its own plus its render
helpers'), its own peak RSS (ru_maxrss) and the largest peak RSS of a render helper; this
process samples the proportional set size (PSS) of the case plus its helpers every 50 ms (so the
sampling costs the case nothing) and reports the peak: shared pages (the SoundFont, the
libraries) counted once, so it is the memory the generation really holds. The machine's load
average is printed beside each case: other work on the cores stretches wall time (CPU time much
less).

Targets (issue 2, 2 cores): ≥ 40× real time for a 4-minute MP3; ≤ 1 GB for a 5-minute song
with stems."""

from __future__ import annotations

import json
import os
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
_SAMPLE_S = 0.05


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _tree_pss_kb(pid: int) -> int:
    return _pss_kb(pid) + sum(_pss_kb(child) for child in _children(pid))


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + helpers.ru_utime + helpers.ru_stime


def _sys_s() -> float:
    """Kernel CPU time (page faults on fresh memory, mostly) of the case and its helpers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_stime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime


def run_case(prompt: str, duration_s: float, fmt: str, stems: bool, use_soundfont: bool) -> None:
    """Child process body: generate and write one song, print timings as JSON."""
    from songforge.engine import generate
    from songforge.request import SongRequest
    from songforge.settings import Settings

    request = SongRequest(prompt=prompt, duration=duration_s, seed=1, format=fmt)
    settings = Settings(use_soundfont=use_soundfont, keep_stems=stems)
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu_start, sys_start = time.perf_counter(), _cpu_s(), _sys_s()
        song = generate(request, settings=settings)
        made, cpu_made = time.perf_counter(), _cpu_s()
        song.write(Path(tmp) / f"song.{fmt}", stems=stems, midi=True)
        done, cpu_done = time.perf_counter(), _cpu_s()
    print(
        json.dumps(
            {
                "generate_s": made - start,
                "write_s": done - made,
                "generate_cpu_s": cpu_made - cpu_start,
                "write_cpu_s": cpu_done - cpu_made,
                "sys_s": _sys_s() - sys_start,
                "audio_s": song.duration_s,
                "soundfont": song.metadata.get("soundfont"),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "helper_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    print("engine: end-to-end generation (fresh process per case, seed 1)")
    print(
        f"{'case':<27}{'audio':>6}{'gen':>7}{'write':>7}{'x real':>7}{'cpu':>7}{'sys':>6}"
        f"{'x cpu/2':>8}{'RSS MB':>8}{'helper':>7}{'PSS MB':>8}{'load':>6}"
    )
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
        peak_kb = 0
        with (
            tempfile.TemporaryFile("w+") as errors,
            subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True) as proc,
        ):
            while proc.poll() is None:
                peak_kb = max(peak_kb, _tree_pss_kb(proc.pid))
                time.sleep(_SAMPLE_S)
            stdout = proc.communicate()[0]
            errors.seek(0)
            stderr = errors.read()
        load = os.getloadavg()[0]
        if proc.returncode != 0:
            print(f"{label:<27} FAILED: {stderr.strip().splitlines()[-1:]}")
            continue
        data = json.loads(stdout.strip().splitlines()[-1])
        data["pss_peak_mb"] = peak_kb / 1024
        total = data["generate_s"] + data["write_s"]
        cpu = data["generate_cpu_s"] + data["write_cpu_s"]
        note = "" if (not use_font or data["soundfont"]) else "  (no SoundFont found: synth)"
        print(
            f"{label:<27}{data['audio_s']:6.0f}{data['generate_s']:7.2f}{data['write_s']:7.2f}"
            f"{data['audio_s'] / total:7.1f}{cpu:7.2f}{data['sys_s']:6.2f}"
            f"{data['audio_s'] / (cpu / 2):8.1f}"
            f"{data['peak_mb']:8.0f}{data['helper_peak_mb']:7.0f}{data['pss_peak_mb']:8.0f}"
            f"{load:6.1f}{note}"
        )
    print(
        "x real = audio s / (generate + write) wall s; cpu = CPU s of the case and its render\n"
        "helpers (sys: the kernel's part of it); x cpu/2 = audio s / (cpu / 2 cores): what\n"
        "x real would be if both cores were busy all the time (an upper bound); RSS = the\n"
        "case's own peak; helper = the largest render helper's peak; PSS = peak of the case\n"
        "plus its helpers, shared pages counted once; load = 1-minute load average after the\n"
        "case"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _, _, prompt, duration, fmt, stems, font = sys.argv
        run_case(prompt, float(duration), fmt, stems == "1", font == "1")
    else:
        main()
