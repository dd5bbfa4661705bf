"""Planning a long song as clips along its form.

The offline engine's planning (prompt understanding → plan → composition) gives the song a
tempo, a key and sections with start and end times. Segments follow that form: every boundary
falls on a bar line (on a section boundary or a 4-bar phrase where one is in reach), each segment
asks for one bar more than it keeps so neighbours overlap for the crossfade, and each segment's
prompt carries its section, tempo, key and energy."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from songforge.compose.composer import compose
from songforge.compose.summary import section_table
from songforge.errors import InvalidRequest
from songforge.plan import SongPlan, resolve_plan
from songforge.prompt.understand import Interpretation, understand
from songforge.request import SongRequest
from songforge.styles.catalog import StyleCatalog, default_catalog

PHRASE_BARS = 4
SECTION_CUT_SHARE = 0.6  # a section start is a cut when a clip holds this share of its reach
PHRASE_CUT_SHARE = 0.75  # a phrase start, when it holds this much
SLIVER_BARS = 0.1  # a song longer than whole bars by less than this is padded, not planned
LAST_SEGMENT_SHARE = 0.4  # the last clip holds at least this share of a clip's reach
PROMPT_SHARE = 0.3  # continuation audio takes at most this share of a clip's limit


@dataclass(frozen=True, slots=True)
class FormSection:
    name: str
    kind: str
    start_bar: int
    bars: int
    start_s: float
    end_s: float
    energy: float

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars


@dataclass(frozen=True, slots=True)
class SongForm:
    """What the engine's planning decided: the grid and the sections the segments follow."""

    plan: SongPlan
    tempo_bpm: float
    beats_per_bar: float
    duration_s: float  # the song's target length
    sections: tuple[FormSection, ...]

    @property
    def bar_s(self) -> float:
        return self.beats_per_bar * 60.0 / self.tempo_bpm

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def key(self) -> str:
        return self.plan.key.name

    @property
    def total_bars(self) -> int:
        """Bars needed to cover the target length (the last one may be cut by the fade; a
        sliver of a bar is left to the final padding)."""
        return max(1, math.ceil(self.duration_s / self.bar_s - SLIVER_BARS))

    def section_at(self, bar: int) -> FormSection:
        for section in self.sections:
            if section.start_bar <= bar < section.end_bar:
                return section
        return self.sections[-1] if bar >= self.sections[-1].start_bar else self.sections[0]

    def section_table(self) -> list[dict[str, object]]:
        return [
            {
                "name": s.name,
                "kind": s.kind,
                "start_bar": s.start_bar,
                "bars": s.bars,
                "start_s": round(s.start_s, 3),
                "end_s": round(min(s.end_s, self.duration_s), 3),
                "energy": s.energy,
            }
            for s in self.sections
            if s.start_s < self.duration_s
        ]


def song_form(
    request: SongRequest,
    seed: int,
    catalog: StyleCatalog | None = None,
    interpretation: Interpretation | None = None,
) -> SongForm:
    """Plan and compose the song as the engine would (pure and fast: no rendering)."""
    catalog = catalog or default_catalog()
    interpretation = interpretation or understand(request.prompt, catalog)
    plan = resolve_plan(request, interpretation, catalog, seed)
    composition = compose(plan)
    rows = section_table(composition)
    sections = tuple(
        FormSection(
            name=str(row["name"]),
            kind=str(row["kind"]),
            start_bar=int(row["start_bar"]),  # type: ignore[call-overload]
            bars=int(row["bars"]),  # type: ignore[call-overload]
            start_s=float(row["start_s"]),  # type: ignore[arg-type]
            end_s=float(row["end_s"]),  # type: ignore[arg-type]
            energy=float(row["energy"]),  # type: ignore[arg-type]
        )
        for row in rows
    )
    duration = request.duration if request.duration is not None else plan.duration_s
    return SongForm(
        plan=plan,
        tempo_bpm=composition.tempo_bpm,
        beats_per_bar=composition.beats_per_bar,
        duration_s=float(duration),
        sections=sections,
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """One clip of the song: it keeps [start_s, end_s) and overlaps the next one after end_s."""

    index: int
    start_bar: int
    end_bar: int
    start_s: float
    end_s: float  # where the next segment starts (the song's end for the last)
    clip_s: float  # what the provider is asked for: kept part + overlap, whole seconds
    sections: tuple[str, ...]  # names of the sections it covers
    kind: str  # the kind of the section it mostly covers
    energy: float  # bar-weighted energy of what it covers
    last: bool

    @property
    def kept_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    form: SongForm
    segments: tuple[Segment, ...]
    overlap_s: float
    prompt_s: float  # continuation audio each later segment hears (0: no continuation)


def _clip_seconds(seconds: float) -> float:
    """Providers take whole seconds more often than not; never ask for less than needed."""
    return float(math.ceil(seconds - 1e-6))


def plan_segments(
    form: SongForm,
    max_clip_s: float | None,
    *,
    min_clip_s: float = 1.0,
    overlap_bars: int = 1,
    continuation: bool = False,
    prompt_s: float = 8.0,
    start_bar: int = 0,
) -> SegmentPlan:
    """Cut the song from ``start_bar`` on into clips a provider limited to ``max_clip_s`` can
    make (None: one clip). With ``continuation``, later clips leave room for ``prompt_s`` of
    the previous clip's audio, which counts toward a provider's limit."""
    bar_s = form.bar_s
    total = form.total_bars
    overlap_s = overlap_bars * bar_s
    prompt = continuation_prompt_s(max_clip_s, prompt_s) if continuation else 0.0
    if start_bar >= total:
        raise InvalidRequest("duration", "nothing left of the song to plan")
    if max_clip_s is None or _clip_seconds((total - start_bar) * bar_s) <= max_clip_s:
        only = _segment(form, 0, start_bar, total, overlap_s, last=True)
        return SegmentPlan(form, (only,), overlap_s, 0.0)

    cuts = [start_bar]
    while True:
        first = len(cuts) == 1 and start_bar == 0
        room_s = math.floor(max_clip_s + 1e-6) - overlap_s - (0.0 if first else prompt)
        limit = int(room_s // bar_s)
        if limit < 1:
            raise InvalidRequest(
                "provider",
                f"clips of {max_clip_s:g} s cannot hold a bar ({bar_s:.2f} s) plus the "
                f"{overlap_s:.2f} s overlap{' and continuation prompt' if prompt else ''}",
            )
        here = cuts[-1]
        if total - here <= limit:
            break
        cuts.append(_best_cut(form, here, limit))
    cuts.append(total)
    cuts = _balance_tail(cuts, form, max(min_clip_s, LAST_SEGMENT_SHARE * limit * bar_s))
    segments = [
        _segment(form, i, a, b, overlap_s, last=b == total)
        for i, (a, b) in enumerate(itertools.pairwise(cuts))
    ]
    return SegmentPlan(form, tuple(segments), overlap_s, prompt)


def continuation_prompt_s(max_clip_s: float | None, prompt_s: float) -> float:
    """Continuation audio for a clip: ``prompt_s``, but never over a share of the clip limit
    (it counts toward the limit, and each clip should mostly be new music)."""
    if max_clip_s is None:
        return prompt_s
    return min(prompt_s, PROMPT_SHARE * max_clip_s)


def _best_cut(form: SongForm, here: int, limit: int) -> int:
    """The bar to cut at: a section start near the end of the reach, else a phrase start
    nearer still, else as far as the clip reaches (fewer clips cost less)."""
    starts = {s.start_bar for s in form.sections}
    for share, wanted in ((SECTION_CUT_SHARE, starts.__contains__), (PHRASE_CUT_SHARE, None)):
        earliest = here + max(1, math.ceil(limit * share))
        for bar in range(here + limit, earliest - 1, -1):
            if wanted is not None and wanted(bar):
                return bar
            if wanted is None and (bar - form.section_at(bar).start_bar) % PHRASE_BARS == 0:
                return bar
    return here + limit


def _balance_tail(cuts: list[int], form: SongForm, shortest_s: float) -> list[int]:
    """Move the last inner cut earlier while the final clip would be shorter than
    ``shortest_s`` (the previous clip then keeps less, never under half of what it had)."""
    if len(cuts) < 3:
        return cuts
    floor = cuts[-3] + max(1, (cuts[-2] - cuts[-3]) // 2)
    while form.duration_s - cuts[-2] * form.bar_s < shortest_s and cuts[-2] > floor:
        cuts[-2] -= 1
    return cuts


def _segment(
    form: SongForm, index: int, start_bar: int, end_bar: int, overlap_s: float, *, last: bool
) -> Segment:
    bar_s = form.bar_s
    start_s = start_bar * bar_s
    end_s = form.duration_s if last else end_bar * bar_s
    weights: dict[str, float] = {}
    kinds: dict[str, float] = {}
    energy = 0.0
    for bar in range(start_bar, end_bar):
        section = form.section_at(bar)
        weights[section.name] = weights.get(section.name, 0.0) + 1
        kinds[section.kind] = kinds.get(section.kind, 0.0) + 1
        energy += section.energy
    bars = max(end_bar - start_bar, 1)
    needed = end_s - start_s + (0.0 if last else overlap_s)
    return Segment(
        index=index,
        start_bar=start_bar,
        end_bar=end_bar,
        start_s=start_s,
        end_s=end_s,
        clip_s=_clip_seconds(needed),
        sections=tuple(weights),
        kind=max(kinds, key=lambda k: kinds[k]),
        energy=energy / bars,
        last=last,
    )


def energy_word(energy: float) -> str:
    if energy < 0.4:
        return "low"
    if energy < 0.65:
        return "medium"
    if energy < 0.85:
        return "high"
    return "peak"


def segment_prompt(prompt: str, form: SongForm, segment: Segment, count: int) -> str:
    """The text a provider gets for one segment: the user's words plus musical cues."""
    plan = form.plan
    where = " → ".join(segment.sections)
    cues = [
        f"{plan.style.name}",
        f"{form.tempo_bpm:.0f} bpm",
        form.key,
        f"{plan.time_signature.value} time",
    ]
    if plan.mood:
        cues.append(plan.mood)
    text = f"{prompt.strip().rstrip('.')}. {', '.join(cues)}."
    if count > 1:
        text += f" Part {segment.index + 1} of {count}: {where}, {energy_word(segment.energy)}"
        text += " energy."
        if segment.index > 0:
            text += " Continue the same song seamlessly: same instruments, tempo and key."
        if segment.last:
            text += " Bring the song to an ending."
    return text


def clip_count(
    duration_s: float,
    max_clip_s: float | None,
    *,
    bar_s: float = 2.0,
    overlap_bars: int = 1,
    continuation: bool = False,
    prompt_s: float = 8.0,
) -> tuple[int, float]:
    """How many clips and seconds of audio a song needs (for estimates, without composing)."""
    if max_clip_s is None or duration_s <= max_clip_s:
        return 1, _clip_seconds(duration_s)
    overlap = overlap_bars * bar_s
    first = max(bar_s, (math.floor(max_clip_s) - overlap) // bar_s * bar_s)
    prompt = continuation_prompt_s(max_clip_s, prompt_s) if continuation else 0.0
    later = math.floor(max_clip_s) - overlap - prompt
    later = max(bar_s, later // bar_s * bar_s)
    clips = 1 + max(0, math.ceil((duration_s - first) / later - 1e-9))
    audio = duration_s + (clips - 1) * overlap
    return clips, float(math.ceil(audio))


__all__ = [
    "FormSection",
    "Segment",
    "SegmentPlan",
    "SongForm",
    "clip_count",
    "energy_word",
    "plan_segments",
    "segment_prompt",
    "song_form",
]
