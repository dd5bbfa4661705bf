"""Sizing the form: which sections, how many bars each, the energy curve, and the tempo and final
ring that make the song last exactly the requested duration.

Sections grow and shrink in whole phrases (12-bar choruses for blues); the last few beats are
absorbed by the final chord's ring, a nudge of the tempo when it is not locked, or a bar more or
less in the outro."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from songforge.compose.score import Section, SectionKind
from songforge.styles.schema import Style

if TYPE_CHECKING:
    from songforge.plan import SongPlan

MIN_ENDING_BEATS = 2.0
MAX_ENDING_BEATS = 16.0
MAX_TEMPO_NUDGE = 0.06  # the tempo may move this fraction when the user did not fix it
MAX_CORE_REPEATS = 12
BLUES_CHORUS_BARS = 12

DEFAULT_BARS: dict[SectionKind, int] = {
    SectionKind.INTRO: 4,
    SectionKind.VERSE: 16,
    SectionKind.PRE_CHORUS: 8,
    SectionKind.CHORUS: 8,
    SectionKind.POST_CHORUS: 4,
    SectionKind.BRIDGE: 8,
    SectionKind.BREAKDOWN: 8,
    SectionKind.BUILD: 8,
    SectionKind.DROP: 16,
    SectionKind.SOLO: 16,
    SectionKind.INTERLUDE: 4,
    SectionKind.OUTRO: 8,
}

DEFAULT_ENERGY: dict[SectionKind, float] = {
    SectionKind.INTRO: 0.4,
    SectionKind.VERSE: 0.55,
    SectionKind.PRE_CHORUS: 0.65,
    SectionKind.CHORUS: 0.85,
    SectionKind.POST_CHORUS: 0.8,
    SectionKind.BRIDGE: 0.5,
    SectionKind.BREAKDOWN: 0.3,
    SectionKind.BUILD: 0.65,
    SectionKind.DROP: 0.95,
    SectionKind.SOLO: 0.8,
    SectionKind.INTERLUDE: 0.45,
    SectionKind.OUTRO: 0.45,
}

_CLIMAX_KINDS = (SectionKind.CHORUS, SectionKind.DROP)
_FRAME_KINDS = (SectionKind.INTRO, SectionKind.OUTRO)
# which kinds lose length first, and which are dropped first when even 1-bar sections are too long
_GROW_RANK = (
    SectionKind.CHORUS,
    SectionKind.VERSE,
    SectionKind.DROP,
    SectionKind.OUTRO,
    SectionKind.SOLO,
    SectionKind.BRIDGE,
    SectionKind.INTRO,
    SectionKind.BREAKDOWN,
    SectionKind.BUILD,
    SectionKind.PRE_CHORUS,
    SectionKind.POST_CHORUS,
    SectionKind.INTERLUDE,
)
_DROP_RANK = (
    SectionKind.INTERLUDE,
    SectionKind.POST_CHORUS,
    SectionKind.PRE_CHORUS,
    SectionKind.BUILD,
    SectionKind.SOLO,
    SectionKind.BREAKDOWN,
    SectionKind.BRIDGE,
    SectionKind.VERSE,
    SectionKind.INTRO,
    SectionKind.OUTRO,
    SectionKind.DROP,
    SectionKind.CHORUS,
)


@dataclass(frozen=True, slots=True)
class FormPlan:
    """The sized form: sections with energies, the (possibly nudged) tempo and the final ring."""

    sections: tuple[Section, ...]
    tempo_bpm: float
    ending_beats: float

    @property
    def total_bars(self) -> int:
        return self.sections[-1].end_bar


@dataclass(slots=True)
class _Slot:
    kind: SectionKind
    base_bars: int
    unit_bars: int
    units: int

    @property
    def bars(self) -> int:
        return self.unit_bars * self.units


def base_bars(style: Style, kind: SectionKind) -> int:
    return max(1, style.form.bars.get(kind, DEFAULT_BARS[kind]))


def _unit_bars(style: Style, kind: SectionKind) -> int:
    bars = base_bars(style, kind)
    if style.harmony.twelve_bar_blues and bars % BLUES_CHORUS_BARS == 0:
        return BLUES_CHORUS_BARS
    phrase = max(1, style.form.phrase_bars)
    return phrase if bars >= phrase else bars


def _slot(style: Style, kind: SectionKind) -> _Slot:
    unit = _unit_bars(style, kind)
    return _Slot(kind, base_bars(style, kind), unit, max(1, round(base_bars(style, kind) / unit)))


def _core_block(kinds: list[SectionKind]) -> list[SectionKind]:
    """The verse-to-chorus run that a longer song repeats."""
    body = [i for i, k in enumerate(kinds) if k not in _FRAME_KINDS]
    if not body:
        return [kinds[0]]
    first = body[0]
    for i in range(first, len(kinds)):
        if kinds[i] in _CLIMAX_KINDS:
            return kinds[first : i + 1]
    if SectionKind.SOLO in kinds:  # jazz and blues: more choruses of solos over the form
        return [SectionKind.SOLO]
    return [kinds[first]]


def _repeat_core(slots: list[_Slot], style: Style, target_bars: float) -> list[_Slot]:
    """Insert copies of the core block (after its last occurrence) until the song is long enough."""
    kinds = [s.kind for s in slots]
    core = _core_block(kinds)
    for _ in range(MAX_CORE_REPEATS):
        if sum(s.bars for s in slots) * 1.3 >= target_bars:
            break
        kinds = [s.kind for s in slots]
        n = len(core)
        positions = [i for i in range(len(kinds) - n + 1) if kinds[i : i + n] == core]
        at = positions[-1] + n if positions else max(len(kinds) - 1, 0)
        slots = slots[:at] + [_slot(style, k) for k in core] + slots[at:]
    return slots


def _grow_key(index: int, slot: _Slot) -> tuple[float, int, int]:
    return (slot.bars / slot.base_bars, _GROW_RANK.index(slot.kind), -index)


def _fit_units(slots: list[_Slot], target_bars: float) -> None:
    """Add or remove whole units, spreading the change over sections, while it brings the total
    closer to the target."""
    while True:
        error = sum(s.bars for s in slots) - target_bars
        if error > 0:
            order = sorted(
                (i for i, s in enumerate(slots) if s.units > 1),
                key=lambda i: _grow_key(i, slots[i]),
                reverse=True,
            )
            sign = -1
        else:
            order = sorted(range(len(slots)), key=lambda i: _grow_key(i, slots[i]))
            sign = 1
        for i in order:
            if abs(error + sign * slots[i].unit_bars) < abs(error):
                slots[i].units += sign
                break
        else:
            return


def _drop_sections(slots: list[_Slot], target_bars: float, repeats_only: bool) -> list[_Slot]:
    """Leave out whole sections (repeats first, by :data:`_DROP_RANK`) while that brings the
    total closer to the target."""
    while len(slots) > 1:
        error = sum(s.bars for s in slots) - target_bars
        kinds = [s.kind for s in slots]
        body = [i for i, k in enumerate(kinds) if k not in _FRAME_KINDS]
        candidates = [
            i
            for i in range(len(slots))
            if (not repeats_only or kinds[i] in kinds[:i]) and body != [i]
        ]
        if error <= 0 or not candidates:
            break
        victim = max(candidates, key=lambda i: (-_DROP_RANK.index(kinds[i]), i))
        if abs(error - slots[victim].bars) >= abs(error):
            break
        slots = slots[:victim] + slots[victim + 1 :]
    return slots


def _shrink_to_fit(slots: list[_Slot], target_bars: float, max_bars: float) -> list[_Slot]:
    """Halve phrase lengths, then drop sections, until the form fits in ``max_bars``."""
    while sum(s.bars for s in slots) > max_bars and any(s.unit_bars > 1 for s in slots):
        for s in slots:
            unit = max(1, s.unit_bars // 2)
            s.units, s.unit_bars = max(1, s.bars // unit), unit
        _fit_units(slots, target_bars)
    while sum(s.bars for s in slots) > max_bars and len(slots) > 1:
        victim = max(range(len(slots)), key=lambda i: (-_DROP_RANK.index(slots[i].kind), i))
        slots = slots[:victim] + slots[victim + 1 :]
    return slots


def _flex_index(slots: list[_Slot]) -> int:
    """The section that absorbs single bars: the last outro, else the intro, else the last one."""
    for kind in (SectionKind.OUTRO, SectionKind.INTRO):
        for i in range(len(slots) - 1, -1, -1):
            if slots[i].kind is kind:
                return i
    return len(slots) - 1


def _adjust_bars(bars: list[int], flex: int, delta: int) -> list[int]:
    """Add ``delta`` bars at the flex section, spilling over to others if it would vanish."""
    out = list(bars)
    order = [flex] + [i for i in range(len(out) - 1, -1, -1) if i != flex]
    for i in order:
        if delta >= 0:
            out[i] += delta
            return out
        take = min(-delta, out[i] - 1)
        out[i] -= take
        delta += take
        if delta == 0:
            break
    return out


def preferred_ending_beats(style: Style, beats_per_bar: float) -> float:
    """How long the final chord should ring: two bars for 'ring', one otherwise (within limits)."""
    bars = 2 if style.form.ending == "ring" else 1
    wanted = max(4.0, beats_per_bar * bars)
    return min(
        MAX_ENDING_BEATS - beats_per_bar / 2, max(MIN_ENDING_BEATS + beats_per_bar / 2, wanted)
    )


def _land_locked(
    bars: list[int], flex: int, beats_per_bar: float, total_beats: float, ending_pref: float
) -> tuple[list[int], float]:
    bar_beats = sum(bars) * beats_per_bar
    delta = round((total_beats - bar_beats - ending_pref) / beats_per_bar)
    bars = _adjust_bars(bars, flex, delta)
    ending = total_beats - sum(bars) * beats_per_bar
    while ending < MIN_ENDING_BEATS and sum(bars) > 1:
        bars = _adjust_bars(bars, flex, -1)
        ending = total_beats - sum(bars) * beats_per_bar
    while ending > MAX_ENDING_BEATS:
        bars = _adjust_bars(bars, flex, 1)
        ending = total_beats - sum(bars) * beats_per_bar
    return bars, ending


def _land_nudged(
    bars: list[int], flex: int, plan: SongPlan, beats_per_bar: float, ending_pref: float
) -> tuple[list[int], float, float] | None:
    """Pick bars and a whole-beat ring, then the tempo inside the allowed window that fits them."""
    low, high = plan.style.tempo_bpm
    t_low = max(low, plan.tempo_bpm * (1 - MAX_TEMPO_NUDGE))
    t_high = min(high, plan.tempo_bpm * (1 + MAX_TEMPO_NUDGE))
    if t_low > t_high:
        return None
    endings = sorted({round(ending_pref), round(beats_per_bar), round(2 * beats_per_bar)})
    best: tuple[float, list[int], float] | None = None
    for delta in range(-4, 5):
        candidate = _adjust_bars(bars, flex, delta)
        if sum(candidate) - sum(bars) != delta:
            continue
        for ending in endings:
            if not MIN_ENDING_BEATS <= ending <= MAX_ENDING_BEATS:
                continue
            tempo = (sum(candidate) * beats_per_bar + ending) * 60.0 / plan.duration_s
            if not t_low <= tempo <= t_high:
                continue
            cost = (
                abs(tempo / plan.tempo_bpm - 1)
                + 0.01 * abs(delta)
                + 0.002 * abs(ending - ending_pref)
            )
            if best is None or cost < best[0]:
                best = (cost, candidate, float(ending))
    if best is None:
        return None
    _, chosen, ring = best
    tempo = round((sum(chosen) * beats_per_bar + ring) * 60.0 / plan.duration_s, 3)
    return chosen, tempo, plan.duration_s * tempo / 60.0 - sum(chosen) * beats_per_bar


def _energies(kinds: list[SectionKind], plan: SongPlan) -> list[float]:
    """The style's energy per kind, shifted by the plan's energy; the last climax is the highest."""
    style = plan.style
    shift = plan.energy - style.energy
    energies = [
        min(0.95, max(0.05, style.form.energy.get(k, DEFAULT_ENERGY[k]) + shift)) for k in kinds
    ]
    seen: dict[SectionKind, int] = {}
    for i, kind in enumerate(kinds):
        seen[kind] = seen.get(kind, 0) + 1
        if kind in _CLIMAX_KINDS:
            energies[i] = min(0.95, energies[i] + 0.02 * (seen[kind] - 1))
    for kind in _CLIMAX_KINDS:
        if kind in kinds:
            last = len(kinds) - 1 - kinds[::-1].index(kind)
            others = [e for i, e in enumerate(energies) if i != last] or [energies[last]]
            energies[last] = min(1.0, max(max(others) + 0.05, energies[last]))
            break
    return [round(e, 4) for e in energies]


def _label(kind: SectionKind) -> str:
    return kind.value.replace("_", "-")


def build_sections(
    kinds: list[SectionKind], bars: list[int], energies: list[float]
) -> tuple[Section, ...]:
    """Contiguous sections named by occurrence ('chorus 2') when a kind repeats."""
    counts = {k: kinds.count(k) for k in kinds}
    seen: dict[SectionKind, int] = {}
    sections = []
    start = 0
    for kind, n_bars, energy in zip(kinds, bars, energies, strict=True):
        seen[kind] = seen.get(kind, 0) + 1
        name = _label(kind) if counts[kind] == 1 else f"{_label(kind)} {seen[kind]}"
        sections.append(Section(name, kind, start, n_bars, energy, seen[kind]))
        start += n_bars
    return tuple(sections)


def plan_form(plan: SongPlan) -> FormPlan:
    """Size the form so that (bars × beats_per_bar + ending) × 60 / tempo = plan.duration_s."""
    style = plan.style
    beats_per_bar = plan.time_signature.beats_per_bar
    kinds = list(plan.structure or style.form.sections) or [SectionKind.VERSE, SectionKind.CHORUS]
    ending_pref = preferred_ending_beats(style, beats_per_bar)
    total_beats = plan.duration_s * plan.tempo_bpm / 60.0
    target_bars = max(1.0, (total_beats - ending_pref) / beats_per_bar)

    slots = [_slot(style, k) for k in kinds]
    if plan.structure is None:
        slots = _repeat_core(slots, style, target_bars)
    _fit_units(slots, target_bars)
    if plan.structure is None:
        slots = _drop_sections(slots, target_bars, repeats_only=True)
        slots = _drop_sections(slots, target_bars, repeats_only=False)
    max_bars = math.floor((total_beats - MIN_ENDING_BEATS) / beats_per_bar)
    if sum(s.bars for s in slots) - max_bars > slots[_flex_index(slots)].bars - 1:
        slots = _shrink_to_fit(slots, target_bars, max_bars)
    bars = [s.bars for s in slots]
    flex = _flex_index(slots)

    tempo = plan.tempo_bpm
    nudged = (
        None if plan.tempo_locked else _land_nudged(bars, flex, plan, beats_per_bar, ending_pref)
    )
    if nudged is not None:
        bars, tempo, ending = nudged
    else:
        bars, ending = _land_locked(bars, flex, beats_per_bar, total_beats, ending_pref)
    kinds = [s.kind for s in slots]
    sections = build_sections(kinds, bars, _energies(kinds, plan))
    return FormPlan(sections, float(tempo), round(ending, 6))
