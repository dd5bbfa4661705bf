"""Harmony: Roman numerals → chords in a key, a progression per section kind, turnarounds at
section ends and a final cadence whose tonic rings through the ending.

Numerals without an accidental follow the key's own scale (so in A minor ``VI`` is F major);
``b``/``#`` numerals are measured from the major scale (``bVII`` is always a whole tone below
the tonic). Letter case gives the triad (``IV`` major, ``iv`` minor)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from songforge.compose.score import Chord, ChordEvent, ChordQuality, Section, SectionKind
from songforge.styles.schema import HarmonySpec
from songforge.theory import Key

_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_DEGREES = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_UPPER = ("VII", "VI", "V", "IV", "III", "II", "I")
_NUMERAL = re.compile(
    r"^(?P<acc>[b#♭♯]?)(?P<roman>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(?P<suffix>.*)$"
)
_Q = ChordQuality
# suffix → (quality for an upper-case numeral, quality for a lower-case one)
_SUFFIXES: dict[str, tuple[ChordQuality, ChordQuality]] = {
    "": (_Q.MAJOR, _Q.MINOR),
    "°": (_Q.DIMINISHED, _Q.DIMINISHED),
    "o": (_Q.DIMINISHED, _Q.DIMINISHED),
    "dim": (_Q.DIMINISHED, _Q.DIMINISHED),
    "°7": (_Q.DIMINISHED7, _Q.DIMINISHED7),
    "o7": (_Q.DIMINISHED7, _Q.DIMINISHED7),
    "dim7": (_Q.DIMINISHED7, _Q.DIMINISHED7),
    "ø": (_Q.HALF_DIMINISHED7, _Q.HALF_DIMINISHED7),
    "ø7": (_Q.HALF_DIMINISHED7, _Q.HALF_DIMINISHED7),
    "m7b5": (_Q.HALF_DIMINISHED7, _Q.HALF_DIMINISHED7),
    "+": (_Q.AUGMENTED, _Q.AUGMENTED),
    "aug": (_Q.AUGMENTED, _Q.AUGMENTED),
    "7": (_Q.DOMINANT7, _Q.MINOR7),
    "maj7": (_Q.MAJOR7, _Q.MAJOR7),
    "M7": (_Q.MAJOR7, _Q.MAJOR7),
    "Δ7": (_Q.MAJOR7, _Q.MAJOR7),
    "Δ": (_Q.MAJOR7, _Q.MAJOR7),
    "m7": (_Q.MINOR7, _Q.MINOR7),
    "9": (_Q.DOMINANT9, _Q.MINOR9),
    "maj9": (_Q.MAJOR9, _Q.MAJOR9),
    "m9": (_Q.MINOR9, _Q.MINOR9),
    "11": (_Q.DOMINANT9, _Q.MINOR11),
    "m11": (_Q.MINOR11, _Q.MINOR11),
    "add9": (_Q.ADD9, _Q.MINOR9),
    "add2": (_Q.ADD9, _Q.MINOR9),
    "6": (_Q.SIX, _Q.MINOR6),
    "m6": (_Q.MINOR6, _Q.MINOR6),
    "sus2": (_Q.SUS2, _Q.SUS2),
    "sus4": (_Q.SUS4, _Q.SUS4),
    "sus": (_Q.SUS4, _Q.SUS4),
    "7sus4": (_Q.SUS4, _Q.SUS4),
    "5": (_Q.POWER, _Q.POWER),
}

_TRIAD_MARKS = frozenset({"", "°", "o", "dim", "+", "aug"})  # spell a triad: extensions still apply
# Which progression each section kind plays: its own list, else the chorus or verse one.
_USES_CHORUS = {
    SectionKind.CHORUS,
    SectionKind.POST_CHORUS,
    SectionKind.DROP,
    SectionKind.OUTRO,
    SectionKind.BUILD,
    SectionKind.BREAKDOWN,
}
_DOMINANT_ROOTS = {2, 5, 7, 10, 11}  # ii, IV, V, bVII, vii: chords that already lead home
_CADENCES_MAJOR = (("IV", "V"), ("ii", "V"), ("V",), ("IV",))
_CADENCES_MINOR = (("VI", "VII"), ("iv", "V"), ("V",), ("iv",))
_PRE_CHORUS_MAJOR = (("IV", "V"), ("ii", "IV", "V", "V"), ("vi", "IV", "V", "V"))
_PRE_CHORUS_MINOR = (("iv", "V"), ("VI", "VII"), ("iv", "VI", "VII", "VII"))
_BLUES_MAJOR = ("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7")
_BLUES_MINOR = ("i7", "i7", "i7", "i7", "iv7", "iv7", "i7", "i7", "V7", "iv7", "i7", "V7")


@dataclass(frozen=True, slots=True)
class ParsedNumeral:
    """A numeral's root (above the tonic) and quality, before the style's extensions."""

    root_offset: int  # semitones above the tonic
    quality: ChordQuality
    explicit: bool  # the numeral spelled its quality (a suffix): extensions leave it alone


def parse_numeral(numeral: str, key: Key) -> ParsedNumeral:
    """Read 'bVII', 'ii7', 'V9', 'vii°', 'IVmaj7', 'i5'. Raises ValueError on anything else."""
    text = numeral.strip().replace("♭", "b").replace("♯", "#")
    match = _NUMERAL.match(text)
    if not match:
        raise ValueError(f"not a Roman numeral: {numeral!r}")
    roman, suffix, acc = match.group("roman"), match.group("suffix").strip(), match.group("acc")
    upper = roman in _UPPER
    if suffix not in _SUFFIXES:
        raise ValueError(f"unknown chord suffix {suffix!r} in {numeral!r}")
    degree = _DEGREES[roman.lower()]
    offset = _MAJOR_STEPS[degree] + (-1 if acc == "b" else 1) if acc else key.mode.intervals[degree]
    quality = _SUFFIXES[suffix][0 if upper else 1]
    return ParsedNumeral(offset % 12, quality, explicit=suffix not in _TRIAD_MARKS)


def _in_key(key: Key, pc: int) -> bool:
    return pc % 12 in key.scale_pitch_classes()


def extend(parsed: ParsedNumeral, key: Key, extensions: str) -> ChordQuality:
    """The quality after the style's ``extensions`` (power chords, sevenths, rich 9ths)."""
    quality = parsed.quality
    if extensions == "power":
        return _Q.POWER
    if parsed.explicit or extensions == "triads":
        return quality
    root = key.tonic_pc + parsed.root_offset
    major7_diatonic = _in_key(key, root + 11)
    if quality is _Q.MAJOR:
        if extensions == "sevenths":
            return _Q.MAJOR7 if major7_diatonic else _Q.DOMINANT7
        return _Q.MAJOR9 if major7_diatonic else _Q.DOMINANT9
    if quality is _Q.MINOR:
        return _Q.MINOR7 if extensions == "sevenths" else _Q.MINOR9
    if quality is _Q.DIMINISHED:
        return _Q.HALF_DIMINISHED7 if _in_key(key, root + 10) else _Q.DIMINISHED7
    return quality


def chord_for(numeral: str, key: Key, extensions: str = "triads") -> Chord:
    """A numeral in a key, with the style's extensions (strict: raises ValueError)."""
    parsed = parse_numeral(numeral, key)
    return Chord((key.tonic_pc + parsed.root_offset) % 12, extend(parsed, key, extensions))


def lenient_chord(numeral: str, key: Key, extensions: str = "triads") -> Chord:
    """Like :func:`chord_for`, but an unknown suffix falls back to the plain triad and an
    unreadable numeral to the tonic, so one odd entry in a style file cannot stop a song."""
    try:
        return chord_for(numeral, key, extensions)
    except ValueError:
        match = _NUMERAL.match(numeral.strip())
        if match:
            base = (match.group("acc") or "").replace("♭", "b") + match.group("roman")
            return chord_for(base, key, extensions)
        tonic = "i" if key.mode.is_minor else "I"
        return chord_for(tonic, key, extensions)


def diatonic_numeral(numeral: str, key: Key) -> str:
    """Re-case a numeral's letters to the triad the key's scale builds on that degree, so major
    progressions can serve a minor key (IV → iv in minor) when a style gives only one kind."""
    match = _NUMERAL.match(numeral.strip())
    if not match or match.group("acc"):
        return numeral
    degree = _DEGREES[match.group("roman").lower()]
    steps = key.mode.intervals
    third = (steps[(degree + 2) % 7] - steps[degree]) % 12
    fifth = (steps[(degree + 4) % 7] - steps[degree]) % 12
    roman = match.group("roman").upper() if third == 4 else match.group("roman").lower()
    suffix = match.group("suffix")
    if fifth == 6 and not suffix:
        suffix = "°"
    return roman + suffix


@dataclass(frozen=True, slots=True)
class HarmonyPlan:
    """The chosen numerals: one progression per section kind, the turnaround and the cadence."""

    progressions: dict[SectionKind, tuple[str, ...]]
    turnaround: str
    cadence: tuple[str, ...]
    tonic: str


def _pool(spec: HarmonySpec, key: Key, chorus: bool) -> list[tuple[str, ...]]:
    minor = key.mode.is_minor
    if chorus:
        own = spec.chorus_progressions_minor if minor else spec.chorus_progressions_major
        if own:
            return [tuple(p) for p in own if p]
    own = spec.progressions_minor if minor else spec.progressions_major
    if own:
        return [tuple(p) for p in own if p]
    other = spec.progressions_major if minor else spec.progressions_minor
    return [tuple(diatonic_numeral(n, key) for n in p) for p in other if p]


def _pick(
    rng: np.random.Generator, pool: Sequence[tuple[str, ...]], avoid: Sequence[tuple[str, ...]]
) -> tuple[str, ...]:
    fresh = [p for p in pool if p not in avoid] or list(pool)
    return fresh[int(rng.integers(len(fresh)))]


def choose_harmony(spec: HarmonySpec, key: Key, rng: np.random.Generator) -> HarmonyPlan:
    """Pick progressions for every section kind from the style's vocabulary (seeded)."""
    minor = key.mode.is_minor
    verse_pool = _pool(spec, key, chorus=False) or [("i",) if minor else ("I",)]
    chorus_pool = _pool(spec, key, chorus=True) or verse_pool
    if spec.twelve_bar_blues:
        twelve = [p for p in verse_pool if len(p) == 12]
        verse_pool = twelve or [_BLUES_MINOR if minor else _BLUES_MAJOR]
        chorus_pool = [p for p in chorus_pool if len(p) == 12] or verse_pool
    verse = _pick(rng, verse_pool, ())
    chorus = _pick(rng, chorus_pool, (verse,))
    bridge = _pick(rng, verse_pool + chorus_pool, (verse, chorus))
    if bridge in (verse, chorus) and len(verse) > 1:
        bridge = verse[2:] + verse[:2] if len(verse) > 2 else verse[::-1]
    pre_pool = [p for p in verse_pool if p not in (verse, chorus)]
    pre_pool = pre_pool or list(_PRE_CHORUS_MINOR if minor else _PRE_CHORUS_MAJOR)
    pre = _pick(rng, pre_pool, ())
    if spec.twelve_bar_blues:
        bridge = pre = verse
    progressions: dict[SectionKind, tuple[str, ...]] = {}
    for kind in SectionKind:
        if kind is SectionKind.BRIDGE:
            progressions[kind] = bridge
        elif kind is SectionKind.PRE_CHORUS:
            progressions[kind] = pre
        elif kind in _USES_CHORUS:
            progressions[kind] = chorus
        else:
            progressions[kind] = verse
    everything = set(verse) | set(chorus)
    dominant = next((n for n in ("V", "V7", "VII", "bVII", "v") if n in everything), "V")
    cadences = list(_CADENCES_MINOR if minor else _CADENCES_MAJOR)
    if not minor and ({"bVII", "bVI"} & everything):
        cadences.append(("bVI", "bVII"))
    cadence = cadences[int(rng.integers(len(cadences)))]
    return HarmonyPlan(progressions, dominant, cadence, "i" if minor else "I")


def _leads_home(chord: Chord, key: Key) -> bool:
    return (chord.root_pc - key.tonic_pc) % 12 in _DOMINANT_ROOTS


def _split(start: float, end: float) -> float:
    """Where a turnaround chord takes over a slot: half way, on a beat when possible."""
    half = (end - start) / 2
    return start + (math.floor(half) if half >= 1 else half)


def _fitted_slot_beats(
    chords: int, section_bars: int, beats_per_bar: float, spec: HarmonySpec
) -> float:
    """Beats per chord for a section kind: the style's harmonic rhythm, quickened (halved, down
    to two chords a bar) while the kind's shortest section could not state the whole
    progression. A short song's chorus still plays its full loop back to the tonic instead of
    stopping on its first chords; 12-bar blues keeps its bars."""
    slot = beats_per_bar / float(spec.chords_per_bar)
    if spec.twelve_bar_blues:
        return slot
    while chords * slot > section_bars * beats_per_bar + 1e-9 and slot / 2 >= beats_per_bar / 2:
        slot /= 2
    return slot


def write_harmony(
    sections: Sequence[Section],
    spec: HarmonySpec,
    key: Key,
    beats_per_bar: float,
    ending_beats: float,
    plan: HarmonyPlan,
) -> tuple[ChordEvent, ...]:
    """Lay progressions over the sections; turn each section's end toward the next; cadence at the
    end and let the tonic ring for ``ending_beats`` after the last bar."""

    def make(
        numeral: str, start: float, end: float, extensions: str = spec.extensions
    ) -> ChordEvent:
        chord = lenient_chord(numeral, key, extensions)
        return ChordEvent(round(start, 6), round(end - start, 6), chord, numeral)

    shortest: dict[SectionKind, int] = {}
    for section in sections:
        shortest[section.kind] = min(section.bars, shortest.get(section.kind, section.bars))
    events: list[ChordEvent] = []
    for index, section in enumerate(sections):
        progression = plan.progressions[section.kind]
        slot_beats = _fitted_slot_beats(
            len(progression), shortest[section.kind], beats_per_bar, spec
        )
        start = section.start_bar * beats_per_bar
        end = section.end_bar * beats_per_bar
        slots = max(1, math.ceil((end - start) / slot_beats - 1e-9))
        section_events = [
            make(
                progression[i % len(progression)],
                start + i * slot_beats,
                min(start + (i + 1) * slot_beats, end),
            )
            for i in range(slots)
        ]
        last_section = index == len(sections) - 1
        if last_section:
            section_events = _cadence(section_events, plan, end, beats_per_bar, section.bars, make)
        elif not _leads_home(section_events[-1].chord, key):
            last = section_events[-1]
            pivot = _split(last.start_beat, last.end_beat)
            section_events[-1:] = [
                make(last.numeral, last.start_beat, pivot),
                make(plan.turnaround, pivot, end),
            ]
        events.extend(section_events)
    total = sections[-1].end_bar * beats_per_bar
    # a power chord leaves major or minor open: the final ring spells the tonic triad so the
    # parts that voice full chords (pads, strings, arpeggios) state the key's mode at the end
    final_extensions = "triads" if spec.extensions == "power" else spec.extensions
    events.append(make(plan.tonic, total, total + ending_beats, final_extensions))
    return tuple(events)


def _cadence(
    events: list[ChordEvent],
    plan: HarmonyPlan,
    end: float,
    beats_per_bar: float,
    bars: int,
    make: Callable[[str, float, float], ChordEvent],
) -> list[ChordEvent]:
    """Replace the song's last bar (two when there is room) with the cadence chords."""
    span_bars = 2 if len(plan.cadence) > 1 and bars >= 4 else 1
    cadence_start = end - span_bars * beats_per_bar
    step = (end - cadence_start) / len(plan.cadence)
    kept = []
    for event in events:
        if event.start_beat >= cadence_start - 1e-6:
            continue
        if event.end_beat > cadence_start + 1e-6:
            event = ChordEvent(
                event.start_beat, cadence_start - event.start_beat, event.chord, event.numeral
            )
        kept.append(event)
    for i, numeral in enumerate(plan.cadence):
        kept.append(make(numeral, cadence_start + i * step, cadence_start + (i + 1) * step))
    return kept
