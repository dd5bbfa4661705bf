"""The lead melody: motifs developed into 4-bar question/answer phrases over the chords.

Rules it keeps (and the tests check): chord tones on strong beats, mostly steps, a move back after
any leap over a fifth, one high point per phrase, a rest at each phrase end, the answer ending on
the tonic or a chord tone, the whole line within a twelfth, the chorus a few semitones above the
verse, every chorus the same, later verses varied with the same contour."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from songforge.compose.motif import Motif, make_motif, thinned, truncated, varied_rhythm
from songforge.compose.pitch import melodic_scale, nearest_with_pc, scale_step, snap
from songforge.compose.rhythm import is_strong
from songforge.compose.score import Note, Section, SectionKind
from songforge.compose.timeline import ChordTimeline
from songforge.seeding import rng_for
from songforge.styles.schema import MelodySpec
from songforge.theory import Key, TimeSignature

PHRASE_BARS = 4
MAX_RANGE_SEMITONES = 19  # a twelfth
MIN_BAND_SEMITONES = 12
LEAP_LIMIT = 7  # a leap wider than a fifth must be followed by a move back
STRONG_VELOCITY, WEAK_VELOCITY = 96, 84
_EPS = 1e-6

HOOK_KINDS = (SectionKind.CHORUS, SectionKind.DROP, SectionKind.POST_CHORUS)
SILENT_KINDS = (SectionKind.INTRO, SectionKind.BUILD, SectionKind.INTERLUDE)


@dataclass(frozen=True, slots=True)
class MelodyFrame:
    """What every phrase of one song shares: key, meter, chords, scale and register."""

    key: Key
    meter: TimeSignature
    timeline: ChordTimeline
    scale: tuple[int, ...]
    spec: MelodySpec
    window_low: int
    window_high: int
    lift: int

    def band(self, kind: SectionKind) -> tuple[int, int]:
        """The register a section kind sings in: the chorus ``lift`` above the verse."""
        low, high = self.window_low, self.window_high
        if kind in HOOK_KINDS:
            return low + self.lift, high
        if kind is SectionKind.PRE_CHORUS:
            return low + self.lift // 2, high - (self.lift - self.lift // 2)
        return low, high - self.lift


def make_frame(
    key: Key, meter: TimeSignature, timeline: ChordTimeline, spec: MelodySpec
) -> MelodyFrame:
    """The register window (at most a twelfth, inside the style's range) and the chorus lift."""
    low, high = spec.pitch_range
    lift = min(5, max(3, spec.chorus_lift_semitones))
    span = min(MAX_RANGE_SEMITONES, max(high - low, MIN_BAND_SEMITONES + lift))
    if high - low > span:
        low += (high - low - span) // 2
    return MelodyFrame(
        key, meter, timeline, melodic_scale(key, spec.scale), spec, low, low + span, lift
    )


@dataclass(frozen=True, slots=True)
class _Event:
    """A note to realise: its time and how its pitch is found (anchor, step or cadence)."""

    start: float
    duration: float
    step: int = 0
    anchor: int | None = None  # scale steps above the phrase's base pitch
    cadence: str | None = None  # "question" or "answer" on the phrase's last note


@dataclass(frozen=True, slots=True)
class _Tone:
    start: float
    duration: float
    pitch: int


def _segment(motif: Motif, start: float, anchor: int) -> list[_Event]:
    events = []
    for i, onset in enumerate(motif.onsets):
        step = motif.steps[i - 1] if i else 0
        events.append(_Event(start + onset, motif.durations[i], step, anchor if i == 0 else None))
    return events


def phrase_rest_beats(meter: TimeSignature) -> float:
    """The rest that closes every phrase: half a bar, at least a dotted quarter."""
    return max(1.5, meter.beats_per_bar / 2)


def _cadence_bar(start: float, meter: TimeSignature, role: str, first: bool) -> list[_Event]:
    """The phrase's last bar: the cadence note on its downbeat, held, then a rest."""
    hold = max(meter.beats_per_bar - phrase_rest_beats(meter), 0.5)
    return [_Event(start, hold, -1, 0 if first else None, role)]


def phrase_events(
    motif: Motif,
    start: float,
    bars: int,
    meter: TimeSignature,
    role: str,
    peak_shift: int,
    rng: np.random.Generator,
) -> list[_Event]:
    """A phrase: the motif, its development rising ``peak_shift`` steps, then the cadence bar."""
    bar = meter.beats_per_bar
    body = bars - 1
    events: list[_Event] = []
    if body >= 1:
        statement_bars = min(round(motif.length_beats / bar), body)
        events += _segment(truncated(motif, statement_bars * bar), start, 0)
        first_bar = truncated(motif, bar)
        shifts = [0] * max(0, body - statement_bars - 1) + [peak_shift]
        for k in range(statement_bars, body):
            idea = varied_rhythm(first_bar, rng) if rng.random() < 0.4 else first_bar
            events += _segment(idea, start + k * bar, shifts[k - statement_bars])
    events += _cadence_bar(start + body * bar, meter, role, first=not events)
    return events


def _chord_pcs(frame: MelodyFrame, beat: float) -> tuple[int, ...]:
    return frame.timeline.chord_at(beat).pitch_classes


def _cadence_pitch(
    frame: MelodyFrame, beat: float, prev: int, role: str, band: tuple[int, int]
) -> int:
    chord = frame.timeline.chord_at(beat)
    pcs = set(chord.pitch_classes)
    if role == "answer":
        pcs = {frame.key.tonic_pc} if frame.key.tonic_pc in pcs else {chord.root_pc}
    else:
        pcs = (pcs - {frame.key.tonic_pc}) or pcs
    return nearest_with_pc(prev, pcs, *band)


def realise(
    events: Sequence[_Event], frame: MelodyFrame, band: tuple[int, int], base: int
) -> list[_Tone]:
    """Turn anchors and steps into pitches: chord tones on strong beats, steps reflected at the
    edges of the band."""
    low, high = band
    tones: list[_Tone] = []
    prev = base
    for event in events:
        strong = is_strong(event.start, frame.meter)
        if event.anchor is not None:
            target = scale_step(base, event.anchor, frame.scale)
            pitch = nearest_with_pc(target, _chord_pcs(frame, event.start), low, high)
        else:
            pitch = scale_step(prev, event.step, frame.scale)
            if not low <= pitch <= high:
                pitch = scale_step(prev, -event.step, frame.scale)
            if strong:
                direction = 1 if event.step > 0 else -1 if event.step < 0 else 0
                pitch = snap(pitch, _chord_pcs(frame, event.start), low, high, direction)
                if abs(pitch - prev) > LEAP_LIMIT + 2:
                    pitch = nearest_with_pc(prev, _chord_pcs(frame, event.start), low, high)
        if event.cadence:
            pitch = _cadence_pitch(frame, event.start, prev, event.cadence, band)
        pitch = min(max(pitch, low), high)
        tones.append(_Tone(event.start, event.duration, pitch))
        prev = pitch
    return tones


def _allowed(frame: MelodyFrame, tone: _Tone) -> tuple[int, ...]:
    """Pitch classes a tone may move to: chord tones on strong beats, the scale elsewhere."""
    if is_strong(tone.start, frame.meter):
        return _chord_pcs(frame, tone.start)
    return frame.scale


def _single_peak(
    pitches: list[int], tones: Sequence[_Tone], frame: MelodyFrame, low: int, keep_last: bool
) -> bool:
    """Lower every copy of the highest pitch but one (the one nearest two thirds through, or the
    cadence note when it must stay). Returns whether anything changed."""
    top = max(pitches)
    copies = [i for i, p in enumerate(pitches) if p == top]
    if len(copies) < 2:
        return False
    start, end = tones[0].start, tones[-1].start + tones[-1].duration
    where = start + (end - start) * 2 / 3
    last = len(pitches) - 1
    peak = (
        last
        if keep_last and last in copies
        else min(copies, key=lambda i: abs(tones[i].start - where))
    )
    for i in copies:
        if i != peak:
            pitches[i] = nearest_with_pc(top, _allowed(frame, tones[i]), low, top - 1, -1)
    return True


def _recover_leaps(
    pitches: list[int],
    tones: Sequence[_Tone],
    frame: MelodyFrame,
    band: tuple[int, int],
    keep_last: bool,
) -> bool:
    """After a leap wider than a fifth, make the next note move back (below the peak).
    Returns whether anything changed."""
    low, high = band
    top = max(pitches)
    peak = pitches.index(top)
    last = len(pitches) - 1
    changed = False
    for i in range(1, last):
        leap = pitches[i] - pitches[i - 1]
        move = pitches[i + 1] - pitches[i]
        if abs(leap) <= LEAP_LIMIT or (move != 0 and (move > 0) != (leap > 0)):
            continue
        if keep_last and i + 1 == last:
            if i != peak:
                pitches[i] = nearest_with_pc(
                    pitches[i - 1], _allowed(frame, tones[i]), low, top - 1
                )
                changed = True
            continue
        direction = -1 if leap > 0 else 1
        ceiling = high if i + 1 == peak else min(high, top - 1)
        candidate = nearest_with_pc(
            pitches[i], _allowed(frame, tones[i + 1]), low, ceiling, direction
        )
        if (candidate - pitches[i]) * direction > 0:
            pitches[i + 1] = candidate
            changed = True
    return changed


def conform(
    tones: list[_Tone], frame: MelodyFrame, band: tuple[int, int], final_tonic: bool
) -> list[_Tone]:
    """Enforce the phrase rules on a realised phrase: strong-beat chord tones, a move back after
    wide leaps, a single high point about two thirds through (an ending tonic is kept)."""
    if not tones:
        return tones
    low, high = band
    pitches = [min(max(t.pitch, low), high) for t in tones]
    for i, tone in enumerate(tones):
        pitches[i] = snap(pitches[i], _allowed(frame, tone), low, high)
    last = len(tones) - 1
    if final_tonic:
        pcs = _chord_pcs(frame, tones[last].start)
        tonic = {frame.key.tonic_pc} if frame.key.tonic_pc in pcs else set(pcs)
        pitches[last] = nearest_with_pc(
            pitches[last - 1] if last else pitches[last], tonic, low, high
        )
    for _ in range(4):
        peaks = _single_peak(pitches, tones, frame, low, final_tonic)
        leaps = _recover_leaps(pitches, tones, frame, band, final_tonic)
        if not (peaks or leaps):
            break
    return [replace(t, pitch=p) for t, p in zip(tones, pitches, strict=True)]


def refit(tones: list[_Tone], frame: MelodyFrame, band: tuple[int, int]) -> list[_Tone]:
    """A copied phrase over possibly different chords: left alone while its strong beats still
    carry chord tones, conformed again otherwise."""
    fits = all(
        t.pitch % 12 in _chord_pcs(frame, t.start) for t in tones if is_strong(t.start, frame.meter)
    )
    return tones if fits else conform(tones, frame, band, final_tonic=False)


def _density(frame: MelodyFrame, energy: float, factor: float) -> float:
    low, high = frame.spec.notes_per_bar
    return max(1.0, (low + (high - low) * energy) * factor)


def _motif(
    frame: MelodyFrame, seed: int, name: str, energy: float, factor: float, hook: bool
) -> Motif:
    """A section kind's motif from its own random stream; hooks repeat notes more and syncopate."""
    spec = frame.spec
    rng = rng_for(seed, "melody", "motif", name)
    repeat_bias = 0.8 if hook else 1.0
    return make_motif(
        rng,
        spec.motif_bars,
        frame.meter,
        _density(frame, energy, factor),
        min(1.0, spec.syncopation + (0.2 if hook else 0.0)),
        spec.rest_probability * (0.5 if hook else 1.0),
        spec.step_probability * repeat_bias,
        spec.leap_probability * repeat_bias,
    )


def _phrase_lengths(bars: int) -> list[int]:
    lengths = [PHRASE_BARS] * (bars // PHRASE_BARS)
    if bars % PHRASE_BARS:
        lengths.append(bars % PHRASE_BARS)
    return lengths


def _centred_phrase(
    events: Sequence[_Event], frame: MelodyFrame, band: tuple[int, int], final_tonic: bool
) -> list[_Tone]:
    """Realise a phrase from several starting pitches and keep the one whose average pitch sits
    nearest the middle of the band (so the chorus really sits ``lift`` above the verse)."""
    low, high = band
    centre = (low + high) / 2
    bases = [p for p in range(low + 1, high) if p % 12 in frame.scale]
    best: list[_Tone] = []
    best_cost = float("inf")
    for base in bases or [low + 4]:
        tones = conform(realise(events, frame, band, base), frame, band, final_tonic)
        cost = abs(sum(t.pitch for t in tones) / max(len(tones), 1) - centre)
        if cost < best_cost - 1e-9:
            best, best_cost = tones, cost
    return best


def write_section(
    section: Section,
    frame: MelodyFrame,
    motif: Motif,
    rng: np.random.Generator,
    max_phrases: int | None = None,
) -> list[list[_Tone]]:
    """A section's melody as phrases (question, answer, question, answer...)."""
    bar = frame.meter.beats_per_bar
    band = frame.band(section.kind)
    phrases: list[list[_Tone]] = []
    designs: list[tuple[list[_Event], float]] = []
    lengths = _phrase_lengths(section.bars)
    if max_phrases is not None:
        lengths = lengths[:max_phrases]
    bar_cursor = section.start_bar
    for j, length in enumerate(lengths):
        start = bar_cursor * bar
        last = j == len(lengths) - 1
        role = "answer" if (j % 2 == 1 or last) else "question"
        if j >= 2 and designs[j - 2][0] and rng.random() < 1 / 3 and length == PHRASE_BARS:
            old_events, old_start = designs[j - 2]
            events = [replace(e, start=e.start - old_start + start) for e in old_events]
            if events[-1].cadence and events[-1].cadence != role:
                events[-1] = replace(events[-1], cadence=role)
        else:
            peak_shift = int(rng.integers(1, 3)) + (1 if role == "question" else 0)
            events = phrase_events(motif, start, length, frame.meter, role, peak_shift, rng)
        designs.append((events, start))
        phrases.append(_centred_phrase(events, frame, band, final_tonic=role == "answer"))
        bar_cursor += length
    return phrases


def _shifted(phrases: list[list[_Tone]], offset: float, end: float) -> list[list[_Tone]]:
    out = []
    for phrase in phrases:
        moved = [
            replace(t, start=t.start + offset) for t in phrase if t.start + offset < end - _EPS
        ]
        moved = [replace(t, duration=min(t.duration, end - t.start)) for t in moved]
        if moved:
            out.append(moved)
    return out


def tile(
    template: list[list[_Tone]],
    template_start: float,
    template_beats: float,
    section_start: float,
    section_beats: float,
) -> list[list[_Tone]]:
    """Repeat a section's phrases to fill another section of the same kind."""
    out: list[list[_Tone]] = []
    copies = int(np.ceil(section_beats / template_beats - _EPS))
    end = section_start + section_beats
    for k in range(copies):
        out += _shifted(template, section_start + k * template_beats - template_start, end)
    return out


def vary(
    phrase: list[_Tone], frame: MelodyFrame, band: tuple[int, int], rng: np.random.Generator
) -> list[_Tone]:
    """Another verse: some weak-beat notes take a different scale tone and some notes are
    anticipated by an eighth, while the contour (up/down/same between notes) stays the same."""
    low, high = band
    pitches = [t.pitch for t in phrase]
    starts = [t.start for t in phrase]
    durations = [t.duration for t in phrase]
    peak = max(pitches) if pitches else 0
    sign = np.sign
    for i in range(1, len(phrase) - 1):
        if is_strong(starts[i], frame.meter) or pitches[i] == peak or rng.random() > 0.4:
            continue
        options = [
            c
            for c in range(max(low, pitches[i] - 4), min(high, peak - 1) + 1)
            if c != pitches[i]
            and c % 12 in frame.scale
            and sign(c - pitches[i - 1]) == sign(pitches[i] - pitches[i - 1])
            and sign(pitches[i + 1] - c) == sign(pitches[i + 1] - pitches[i])
            and abs(c - pitches[i - 1]) <= LEAP_LIMIT
            and abs(pitches[i + 1] - c) <= LEAP_LIMIT
        ]
        if options:
            pitches[i] = options[int(rng.integers(len(options)))]
    for i in range(1, len(phrase) - 1):
        gap_before = starts[i] - starts[i - 1]
        early = starts[i] - 0.5
        if (
            gap_before >= 1.0 - _EPS
            and durations[i - 1] >= 1.0 - _EPS
            and not is_strong(early, frame.meter)
            and rng.random() < 0.3
        ):
            starts[i] = early
            durations[i] += 0.5
            durations[i - 1] = min(durations[i - 1], starts[i] - starts[i - 1])
    return [_Tone(s, d, p) for s, d, p in zip(starts, durations, pitches, strict=True)]


@dataclass(frozen=True, slots=True)
class MelodyResult:
    """The song's melody and its hook."""

    melody: tuple[Note, ...]
    hook: tuple[Note, ...]  # relative to the first bar of the section it opens


def _notes(tones: Sequence[_Tone], meter: TimeSignature, offset: float = 0.0) -> list[Note]:
    return [
        Note(
            round(t.start - offset, 6),
            round(t.duration, 6),
            t.pitch,
            STRONG_VELOCITY if is_strong(t.start, meter) else WEAK_VELOCITY,
        )
        for t in tones
    ]


def _hook_source(sections: Sequence[Section]) -> SectionKind | None:
    kinds = [s.kind for s in sections]
    for kind in (*HOOK_KINDS, SectionKind.VERSE, SectionKind.BREAKDOWN, SectionKind.BRIDGE):
        if kind in kinds:
            return kind
    return next((k for k in kinds if k not in SILENT_KINDS), None)


def write_melody(sections: Sequence[Section], frame: MelodyFrame, seed: int) -> MelodyResult:
    """The whole song's melody and its hook (the first bars of the first chorus)."""
    bar = frame.meter.beats_per_bar
    hook_kind = _hook_source(sections)
    peak_energy = max(s.energy for s in sections)
    hook = _motif(frame, seed, "hook", peak_energy, 1.15, hook=True)
    verse_energy = next((s.energy for s in sections if s.kind is SectionKind.VERSE), 0.6)
    verse = _motif(frame, seed, "verse", verse_energy, 1.0, hook=False)
    own: dict[SectionKind, Motif] = {}
    templates: dict[SectionKind, tuple[list[list[_Tone]], float, float]] = {}
    all_phrases: list[list[_Tone]] = []
    for section in sections:
        kind = section.kind
        start, beats = section.start_bar * bar, section.bars * bar
        rng = rng_for(seed, "melody", kind.value, str(section.occurrence))
        if kind in SILENT_KINDS:
            continue
        if kind in templates:
            template, t_start, t_beats = templates[kind]
            phrases = tile(template, t_start, t_beats, start, beats)
            if kind not in HOOK_KINDS:
                phrases = [vary(p, frame, frame.band(kind), rng) for p in phrases]
            phrases = [refit(p, frame, frame.band(kind)) for p in phrases]
        else:
            if (
                kind in HOOK_KINDS
                or kind in (SectionKind.BREAKDOWN, SectionKind.OUTRO)
                or kind is hook_kind
            ):
                motif = thinned(hook) if kind is SectionKind.BREAKDOWN else hook
            elif kind is SectionKind.VERSE:
                motif = verse
            else:
                factor = 1.4 if kind is SectionKind.SOLO else 1.0
                if kind not in own:
                    own[kind] = _motif(frame, seed, kind.value, section.energy, factor, False)
                motif = own[kind]
            limit = 1 if kind is SectionKind.OUTRO else None
            phrases = write_section(section, frame, motif, rng, limit)
            if kind is not SectionKind.OUTRO:
                templates[kind] = (phrases, start, beats)
        all_phrases += [p for p in phrases if p]
    melody = [n for p in all_phrases for n in _notes(p, frame.meter)]
    hook_notes: list[Note] = []
    if hook_kind is not None and hook_kind in templates:
        template, t_start, _ = templates[hook_kind]
        hook_len = min(frame.spec.motif_bars, PHRASE_BARS) * bar
        first = [t for t in template[0] if t.start < t_start + hook_len - _EPS] if template else []
        hook_notes = _notes(first, frame.meter, offset=t_start)
    return MelodyResult(tuple(melody), tuple(hook_notes))
