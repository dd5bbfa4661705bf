"""How long long-form assembly takes: a 4-minute song from 30 s clips of the fake provider.

Times each stage separately — planning (prompt understanding → plan → composition → segments),
making the clips (the fake's synthesis, not counted as ours), resampling, stitching, seam
scoring and mastering — then the whole orchestrated run, and prints the seam metrics. Wall
times are medians and noisy on a shared machine.

    .venv/bin/python benchmarks/bench_longform.py [--repeat 3] [--duration 240] [--clip 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from songforge.longform import (
    Placement,
    plan_segments,
    score_seams,
    segment_prompt,
    song_form,
    stitch,
    to_song_format,
)
from songforge.longform.stitch import conform, fade_out_s
from songforge.providers import ClipRequest, FakeProvider, InMemoryUsageLedger, ProviderGenerator
from songforge.providers.registry import ProviderRegistry
from songforge.render.master import master
from songforge.request import SongRequest
from songforge.settings import Settings

PROMPT = "driving synthwave at night with a big chorus"
RATE = 44100


def timed(label: str, repeat: int, work: Callable[[], Any], times: dict[str, float]) -> Any:
    results, walls = None, []
    for _ in range(repeat):
        start = time.perf_counter()
        results = work()
        walls.append(time.perf_counter() - start)
    times[label] = statistics.median(walls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=float, default=240.0)
    parser.add_argument("--clip", type=float, default=30.0, help="the provider's clip limit")
    args = parser.parse_args()
    request = SongRequest(prompt=PROMPT, duration=args.duration, seed=7, provider=["fake"])
    provider = FakeProvider("fake", max_clip_s=args.clip, continuation=True, sample_rate_hz=32000)
    times: dict[str, float] = {}

    song_form(request, 7)  # warm the prompt lexicon and style catalog
    form = timed("plan (understand+compose)", args.repeat, lambda: song_form(request, 7), times)
    plan = timed(
        "plan segments",
        args.repeat,
        lambda: plan_segments(form, args.clip, continuation=True, prompt_s=8.0),
        times,
    )
    count = len(plan.segments)

    def make_clips() -> list[Any]:
        return [
            provider.generate_clip(
                ClipRequest(
                    prompt=segment_prompt(PROMPT, form, s, count),
                    duration_s=s.clip_s,
                    tempo_bpm=form.tempo_bpm,
                    key=form.key,
                ),
                lambda _p: None,
            )
            for s in plan.segments
        ]

    clips = timed("fake clips (provider)", 1, make_clips, times)
    audio = timed(
        "resample 32k→44.1k",
        args.repeat,
        lambda: [to_song_format(c.audio, c.sample_rate_hz, RATE) for c in clips],
        times,
    )
    placed = [Placement(a, s.start_s) for a, s in zip(audio, plan.segments, strict=True)]
    stitched = timed(
        "stitch",
        args.repeat,
        lambda: stitch(placed, RATE, overlap_s=plan.overlap_s, beat_s=form.beat_s),
        times,
    )
    fade = fade_out_s(form.bar_s)
    song = timed(
        "conform", args.repeat, lambda: conform(stitched.audio, RATE, form.duration_s, fade), times
    )
    seams = [(s.start_s, s.crossfade_s) for s in stitched.seams]
    report = timed(
        "score seams",
        args.repeat,
        lambda: score_seams(song, RATE, seams, fade_start_s=form.duration_s - fade),
        times,
    )
    mastered = timed(
        "master", args.repeat, lambda: master(song, form.plan.style.mix.master, RATE), times
    )

    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=data, usage_backend="memory")
        generator = ProviderGenerator(
            settings,
            registry=ProviderRegistry.with_providers(settings, [provider]),
            ledger=InMemoryUsageLedger(),
        )
        whole = timed(
            "whole run (orchestrated)",
            1,
            lambda: generator.generate(request, lambda _p: None),
            times,
        )

    ours = sum(
        v
        for k, v in times.items()
        if k not in ("fake clips (provider)", "whole run (orchestrated)")
    )
    print(
        f"long-form: {args.duration:g} s song from {args.clip:g} s clips, {count} segments, "
        f"{form.tempo_bpm:g} bpm, {form.key}, bar {form.bar_s:.3f} s, "
        f"overlap {plan.overlap_s:.3f} s, continuation {plan.prompt_s:g} s"
    )
    for label, seconds in times.items():
        print(f"  {label:<28} {seconds:7.3f} s")
    print(f"  {'ours (plan→master)':<28} {ours:7.3f} s  ({args.duration / ours:.0f}× real time)")
    print(
        f"mastered: {mastered.integrated_lufs:.2f} LUFS, {mastered.true_peak_dbtp:.2f} dBTP, "
        f"{song.shape[1] / RATE:.3f} s; orchestrated: {whole.duration_s:.3f} s"
    )
    print(
        f"seams: seamless={report.seamless} worst flux ratio {report.worst_flux_ratio:.3f} "
        f"(limit 1.5), worst loudness jump {report.worst_loudness_jump_db:.2f} dB"
    )
    for seam, score in zip(stitched.seams, report.seams, strict=True):
        jump = "  n/a" if score.loudness_jump_db is None else f"{score.loudness_jump_db:5.2f}"
        print(
            f"  {seam.start_s:7.2f} s  fade {seam.crossfade_s:.2f} s  shift {seam.shift_s:+.3f} s"
            f"  gain {seam.gain_db:+.2f} dB  ρ {seam.correlation:+.2f}"
            f"  flux ×{score.flux_ratio:.2f}"
            f" (p{100 * score.flux_percentile:.0f})  jump {jump} dB"
            f" (baseline p95 {score.loudness_baseline_db:.2f})"
        )


if __name__ == "__main__":
    main()
