"""Musical tendencies from the prompt's concepts: mood, mode, tempo within the chosen style's
range, energy relative to the style's own, instruments asked for or refused, and era."""

from __future__ import annotations

from collections import defaultdict

from songforge.prompt.cues import Cue, joined, phrases, words_of
from songforge.prompt.explicit import ExplicitReading
from songforge.prompt.interpretation import Evidence
from songforge.prompt.lexicon import Concept
from songforge.prompt.matching import AliasTarget, Hit
from songforge.styles.schema import Style
from songforge.theory import Mode

MAX_ENERGY_SHIFT = 0.6  # as a fraction of the way from the style's energy to 0 or 1
ENERGY_RANGE = (0.05, 1.0)


def read_mood(cues: list[tuple[Cue, Concept]]) -> tuple[str | None, list[Evidence]]:
    """The canonical mood with the most weight (mood words count fully, scenes by half)."""
    weights: dict[str, float] = defaultdict(float)
    sources: dict[str, list[Cue]] = defaultdict(list)
    for cue, concept in cues:
        if concept.mood:
            weights[concept.mood] += concept.mood_weight * cue.weight
            sources[concept.mood].append(cue)
    if not weights:
        return None, []
    mood = max(weights, key=lambda m: weights[m])  # first-seen wins ties (dicts keep order)
    share = weights[mood] / sum(weights.values())
    reason = f"{joined(phrases(sources[mood]), 'suggests', 'suggest')} {mood}"
    others = [m for m in weights if m != mood]
    if others:
        reason += f" (also heard: {', '.join(others)})"
    return mood, [Evidence("mood", mood, words_of(sources[mood]), reason, round(share, 3))]


def read_mode(
    explicit: ExplicitReading, cues: list[tuple[Cue, Concept]]
) -> tuple[Mode | None, list[Evidence]]:
    """An explicit key's mode, else a named mode, else the net of the moods (sad → minor)."""
    if explicit.key is not None:
        reason = f"the mode of the explicit key {explicit.key.name}"
        return explicit.key.mode, [Evidence("mode", explicit.key.mode.value, (), reason, 1.0)]
    if explicit.mode is not None:
        return explicit.mode, []
    net = 0.0
    sources: dict[str, list[Cue]] = defaultdict(list)
    for cue, concept in cues:
        if concept.mode:
            sign = 1.0 if concept.mode == "major" else -1.0
            net += sign * concept.mood_weight * cue.weight
            sources[concept.mode].append(cue)
    if abs(net) < 1e-9:
        return None, []
    mode = Mode.MAJOR if net > 0 else Mode.MINOR
    chosen = sources[mode.value]
    reason = f"{joined(phrases(chosen), 'implies', 'imply')} {mode.value}"
    confidence = round(min(1.0, abs(net)), 3)
    return mode, [Evidence("mode", mode.value, words_of(chosen), reason, confidence)]


def read_energy(
    style: Style, cues: list[tuple[Cue, Concept]]
) -> tuple[float | None, list[Evidence]]:
    """The style's typical energy moved towards 0 or 1 by the prompt's energy words: a shift of
    +0.3 goes 30% of the way to the top, so a calm metal song is still louder than calm lofi."""
    found = [(cue, c) for cue, c in cues if c.energy != 0.0]
    if not found:
        return None, []
    shift = sum(c.energy * cue.weight for cue, c in found)
    shift = max(-MAX_ENERGY_SHIFT, min(MAX_ENERGY_SHIFT, shift))
    room = (1.0 - style.energy) if shift > 0 else style.energy
    energy = round(max(ENERGY_RANGE[0], min(ENERGY_RANGE[1], style.energy + shift * room)), 3)
    sources = [cue for cue, _ in found]
    reason = (
        f"{style.id}'s typical energy {style.energy:.2f} moved {shift:+.0%} of the way "
        f"{'up' if shift > 0 else 'down'} by {' + '.join(phrases(sources))}"
    )
    return energy, [Evidence("energy", f"{energy:.2f}", words_of(sources), reason, 0.7)]


def read_tempo(
    style: Style, explicit: ExplicitReading, cues: list[tuple[Cue, Concept]]
) -> tuple[float | None, bool, list[Evidence]]:
    """The written bpm (explicit), else the tempo words' tendency placed in the style's range:
    -1 is its slowest, 0 its default, +1 its fastest. None without any tempo word."""
    if explicit.tempo_bpm is not None:
        return explicit.tempo_bpm, True, []
    found = [(cue, c) for cue, c in cues if c.speaks_of_tempo]
    if not found:
        return None, False, []
    tendency = max(-1.0, min(1.0, sum(c.tempo * cue.weight for cue, c in found)))
    low, high = style.tempo_bpm
    centre = style.default_tempo_bpm
    span = (high - centre) if tendency > 0 else (centre - low)
    bpm = float(round(centre + tendency * span))
    where = "upper" if tendency > 0.05 else "lower" if tendency < -0.05 else "middle"
    sources = [cue for cue, _ in found]
    reason = (
        f"{' + '.join(phrases(sources))} → {where} part of {style.id}'s {low:g}–{high:g} bpm "
        f"range (tendency {tendency:+.2f})"
    )
    return bpm, False, [Evidence("bpm", f"{bpm:g}", words_of(sources), reason, 0.6)]


def read_instruments(hits: list[Hit]) -> tuple[tuple[str, ...], tuple[str, ...], list[Evidence]]:
    """Canonical instruments asked for, and those refused ("no drums"), in prompt order."""
    wanted: dict[str, tuple[str, ...]] = {}
    excluded: dict[str, tuple[str, ...]] = {}
    for hit in hits:
        target = hit.target
        if isinstance(target, Concept) and target.instrument:
            table = excluded if hit.negated else wanted
            table.setdefault(target.instrument, (" ".join(hit.words),))
    for name in excluded:
        wanted.pop(name, None)
    evidence = [
        Evidence("instruments", name, words, f"'{words[0]}' asks for {name}", 0.9)
        for name, words in wanted.items()
    ] + [
        Evidence("instruments", f"no {name}", words, f"'{words[0]}' is negated: no {name}", 0.9)
        for name, words in excluded.items()
    ]
    return tuple(wanted), tuple(excluded), evidence


def read_era(cues: list[tuple[Cue, Concept]]) -> tuple[str | None, list[Evidence]]:
    """The era most mentioned ("80s", "vintage", "modern"...)."""
    weights: dict[str, float] = defaultdict(float)
    sources: dict[str, list[Cue]] = defaultdict(list)
    for cue, concept in cues:
        if concept.era:
            weights[concept.era] += cue.weight
            sources[concept.era].append(cue)
    if not weights:
        return None, []
    era = max(weights, key=lambda e: weights[e])
    reason = f"{' + '.join(phrases(sources[era]))} → era: {era}"
    return era, [Evidence("era", era, words_of(sources[era]), reason, 0.8)]


def negation_notes(hits: list[Hit]) -> list[Evidence]:
    """Negated words, so the explanation shows what was deliberately left out."""
    notes = []
    for hit in hits:
        if hit.negated and not (isinstance(hit.target, Concept) and hit.target.instrument):
            label = hit.target.style_id if isinstance(hit.target, AliasTarget) else hit.target.kind
            phrase = " ".join(hit.words)
            reason = f"'{phrase}' is negated in the prompt ({label}): not used"
            notes.append(Evidence("ignored", phrase, (phrase,), reason, 0.0))
    return notes


__all__ = [
    "negation_notes",
    "read_energy",
    "read_era",
    "read_instruments",
    "read_mode",
    "read_mood",
    "read_tempo",
]
