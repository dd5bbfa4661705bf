"""Clips → a finished song: stitch, conform to the exact length, master like the engine, and
score the seams (measured before mastering, where the stitch alone decides them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.longform.seams import SeamReport, score_seams
from songforge.longform.stitch import Placement, Seam, conform, fade_out_s, stitch
from songforge.render.master import master
from songforge.styles.schema import MasterSettings


@dataclass(frozen=True, slots=True)
class Assembled:
    audio: np.ndarray  # mastered float32 (2, n), exactly the requested length
    integrated_lufs: float
    true_peak_dbtp: float
    seams: tuple[Seam, ...]
    report: SeamReport
    starts_s: tuple[float, ...]


def assemble(
    clips: list[Placement],
    sample_rate_hz: int,
    *,
    duration_s: float,
    bar_s: float,
    beat_s: float,
    overlap_s: float,
    master_settings: MasterSettings,
) -> Assembled:
    """Stitch ``clips`` (already stereo at ``sample_rate_hz``), conform and master them."""
    stitched = stitch(clips, sample_rate_hz, overlap_s=overlap_s, beat_s=beat_s)
    fade_s = fade_out_s(bar_s)
    song = conform(stitched.audio, sample_rate_hz, duration_s, fade_s)
    report = score_seams(
        song,
        sample_rate_hz,
        [(s.start_s, s.crossfade_s) for s in stitched.seams],
        fade_start_s=duration_s - fade_s,
    )
    mastered = master(song, master_settings, sample_rate_hz)
    return Assembled(
        audio=mastered.audio,
        integrated_lufs=mastered.integrated_lufs,
        true_peak_dbtp=mastered.true_peak_dbtp,
        seams=stitched.seams,
        report=report,
        starts_s=stitched.starts_s,
    )


__all__ = ["Assembled", "assemble"]
