"""End-to-end generation benchmark: real-time factor, CPU time and peak memory per sound source.

Each case runs in a fresh subprocess. It reports its wall and CPU time (its own plus its render
helpers'), its own peak RSS (ru_maxrss) and the largest peak RSS of a render helper; this
process samples the proportional set size (PSS) of the case plus its helpers every 50 ms (so the
sampling costs the case nothing) and reports the peak: shared pages (the SoundFont, the
libraries) counted once, so it is the memory the generation really holds. The machine's load
average is printed beside each case: other work on the cores stretches wall time (CPU time much
less).

The 4-minute MP3 cases (the speed target) run 3 times (each case says how often) and the run
with the median time is printed, with the others: on a shared machine one run can be 20 % off.
Then the same two songs are made with the ``songforge generate`` command, each in a fresh
interpreter, timed from the outside: what a user waits for, imports and writing included.

Targets (issue 2, 2 cores): ≥ 40× real time for a 4-minute MP3; ≤ 1 GB for a 5-minute song
with stems."""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = [
    # (label, prompt, duration_s, format, stems, use_soundfont, repeats)
    ("synth 4:00 mp3", "driving synthwave night drive", 240, "mp3", False, False, 3),
    ("soundfont 4:00 mp3", "driving 90s alternative rock anthem", 240, "mp3", False, True, 3),
    ("synth 5:00 wav +stems", "deep house for a sunset rooftop", 300, "wav", True, False, 1),
    ("soundfont 5:00 wav +stems", "driving 90s alternative rock anthem", 300, "wav", True, True, 1),
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


def _one(
    prompt: str, duration_s: float, fmt: str, stems: bool, use_font: bool
) -> dict[str, float] | str:
    """One fresh process making one song: its figures, or the last line of its error."""
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
    if proc.returncode != 0:
        return str(stderr.strip().splitlines()[-1:])
    data: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    data["pss_peak_mb"] = peak_kb / 1024
    data["load"] = os.getloadavg()[0]
    return data


def _cli(prompt: str, duration_s: float, use_font: bool) -> float:
    """Wall seconds of `songforge generate` making an MP3, from process start to exit."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            str(Path(sys.executable).parent / "songforge"),  # the installed command
            "generate",
            prompt,
            "--duration",
            str(duration_s),
            "--seed",
            "1",
            "--quiet",
            "-o",
            str(Path(tmp) / "song.mp3"),
        ]
        if not use_font:
            command.append("--no-soundfont")
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - start


def calibration_ms() -> float:
    """Milliseconds of a fixed one-core workload like the engine's (numpy arithmetic, an IIR
    filter, a reverb), the fastest of five: this machine's speed at the moment, so figures
    taken at different times can be compared (a shared VM drifts by 15 % and more)."""
    import numpy as np
    import pedalboard

    noise = np.random.default_rng(0).standard_normal((2, 441_000)).astype(np.float32)
    reverb = pedalboard.Pedalboard([pedalboard.Reverb(), pedalboard.HighpassFilter(100.0)])
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        reverb.process(noise, 44100.0, reset=True)
        np.tanh(noise * np.float32(1.5)).sum()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def main() -> None:
    print(f"engine: end-to-end generation (fresh process per run, seed 1, {os.cpu_count()} cores)")
    print(f"machine speed: fixed one-core workload {calibration_ms():.1f} ms (lower is faster)")
    print(
        f"{'case':<27}{'audio':>6}{'gen':>7}{'write':>7}{'x real':>7}{'cpu':>7}{'sys':>6}"
        f"{'x cpu/2':>8}{'RSS MB':>8}{'helper':>7}{'PSS MB':>8}{'load':>6}  runs (s)"
    )
    for label, prompt, duration_s, fmt, stems, use_font, repeats in CASES:
        runs = [_one(prompt, duration_s, fmt, stems, use_font) for _ in range(repeats)]
        failed = [r for r in runs if isinstance(r, str)]
        if failed:
            print(f"{label:<27} FAILED: {failed[0]}")
            continue
        done = [r for r in runs if not isinstance(r, str)]
        done.sort(key=lambda d: d["generate_s"] + d["write_s"])
        data = done[len(done) // 2]
        total = data["generate_s"] + data["write_s"]
        cpu = data["generate_cpu_s"] + data["write_cpu_s"]
        every = " ".join(f"{d['generate_s'] + d['write_s']:.2f}" for d in done)
        note = "" if (not use_font or data["soundfont"]) else "  (no SoundFont found: synth)"
        print(
            f"{label:<27}{data['audio_s']:6.0f}{data['generate_s']:7.2f}{data['write_s']:7.2f}"
            f"{data['audio_s'] / total:7.1f}{cpu:7.2f}{data['sys_s']:6.2f}"
            f"{data['audio_s'] / (cpu / 2):8.1f}"
            f"{data['peak_mb']:8.0f}{data['helper_peak_mb']:7.0f}{data['pss_peak_mb']:8.0f}"
            f"{data['load']:6.1f}  {every}{note}"
        )
    print(
        "x real = audio s / (generate + write) wall s of the median run; cpu = CPU s of the\n"
        "case and its render helpers (sys: the kernel's part of it); x cpu/2 = audio s /\n"
        "(cpu / 2 cores): what x real would be if both cores were busy all the time (an upper\n"
        "bound); RSS = the case's own peak; helper = the largest render helper's peak; PSS =\n"
        "peak of the case plus its helpers, shared pages counted once; load = 1-minute load\n"
        "average after the case; runs = every run's generate + write wall seconds"
    )
    print("\nsongforge generate (4:00 mp3; start-up, imports and files included)")
    for label, prompt, duration_s, _, _, use_font, repeats in CASES[:2]:
        times = sorted(_cli(prompt, duration_s, use_font) for _ in range(repeats))
        median = times[len(times) // 2]
        every = " ".join(f"{t:.2f}" for t in times)
        print(f"{label:<27}{median:7.2f} s  x real {duration_s / median:5.1f}   runs (s) {every}")
    print(f"machine speed after the cases: {calibration_ms():.1f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _, _, prompt, duration, fmt, stems, font = sys.argv
        run_case(prompt, float(duration), fmt, stems == "1", font == "1")
    else:
        main()
