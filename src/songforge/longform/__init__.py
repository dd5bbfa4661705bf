"""Long-form songs from providers with a clip limit: plan segments along the song's form,
stitch them with beat-aligned equal-power crossfades, and measure how audible the seams are."""

from __future__ import annotations

from songforge.longform.assemble import Assembled, assemble
from songforge.longform.plan import (
    FormSection,
    Segment,
    SegmentPlan,
    SongForm,
    clip_count,
    plan_segments,
    segment_prompt,
    song_form,
)
from songforge.longform.seams import SeamReport, SeamScore, score_seams
from songforge.longform.stitch import (
    Placement,
    Seam,
    Stitched,
    conform,
    equal_power_gains,
    stitch,
    to_song_format,
)

__all__ = [
    "Assembled",
    "FormSection",
    "Placement",
    "Seam",
    "SeamReport",
    "SeamScore",
    "Segment",
    "SegmentPlan",
    "SongForm",
    "Stitched",
    "assemble",
    "clip_count",
    "conform",
    "equal_power_gains",
    "plan_segments",
    "score_seams",
    "segment_prompt",
    "song_form",
    "stitch",
    "to_song_format",
]
