"""Instrument words from the prompt ('piano', 'saxophone', 'strings') → a GM program and a
built-in patch, and which part of a style takes each (the lead first, or the closest part)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from songforge.compose.score import PartRole
from songforge.styles.schema import InstrumentSpec, PartSpec, SynthPatch

_MELODIC = (PartRole.LEAD, PartRole.COUNTER, PartRole.ARP, PartRole.CHORDS, PartRole.PAD)
_SUSTAINED = (PartRole.PAD, PartRole.CHORDS, PartRole.ARP, PartRole.LEAD)
_BASS = (PartRole.BASS,)
_P = SynthPatch


@dataclass(frozen=True, slots=True)
class HintedInstrument:
    """Words naming an instrument, its sound, and the parts that may take it (preferred first)."""

    words: tuple[str, ...]
    gm_program: int
    synth: SynthPatch
    roles: tuple[PartRole, ...] = _MELODIC


INSTRUMENTS: tuple[HintedInstrument, ...] = (
    HintedInstrument(
        ("electric piano", "rhodes", "wurlitzer", "e-piano", "epiano"), 4, _P.ELECTRIC_PIANO
    ),
    HintedInstrument(("piano", "keys", "keyboard"), 0, _P.PIANO),
    HintedInstrument(("organ", "hammond"), 16, _P.ORGAN),
    HintedInstrument(("clavinet", "clav"), 7, _P.CLAV),
    HintedInstrument(
        ("acoustic guitar", "folk guitar", "steel guitar", "nylon guitar"), 25, _P.ACOUSTIC_GUITAR
    ),
    HintedInstrument(
        ("distorted guitar", "distortion guitar", "heavy guitar", "metal guitar"),
        30,
        _P.DISTORTED_GUITAR,
    ),
    HintedInstrument(
        ("electric guitar", "overdriven guitar", "rock guitar"), 29, _P.OVERDRIVEN_GUITAR
    ),
    HintedInstrument(("clean guitar", "jazz guitar", "guitar"), 27, _P.CLEAN_GUITAR),
    HintedInstrument(("banjo",), 105, _P.BANJO),
    HintedInstrument(("fiddle", "violin"), 40, _P.STRINGS),
    HintedInstrument(("cello",), 42, _P.STRINGS),
    HintedInstrument(
        ("strings", "string section", "orchestra", "orchestral"), 48, _P.STRINGS, _SUSTAINED
    ),
    HintedInstrument(("saxophone", "sax"), 65, _P.BRASS),
    HintedInstrument(("trumpet",), 56, _P.BRASS),
    HintedInstrument(("trombone",), 57, _P.BRASS),
    HintedInstrument(("french horn",), 60, _P.BRASS),
    HintedInstrument(("horns", "horn section", "brass"), 61, _P.BRASS, _SUSTAINED),
    HintedInstrument(("flute",), 73, _P.FLUTE),
    HintedInstrument(("clarinet",), 71, _P.FLUTE),
    HintedInstrument(("harmonica",), 22, _P.SQUARE_LEAD),
    HintedInstrument(("choir", "voices", "vocals", "vocal", "voice"), 52, _P.CHOIR, _SUSTAINED),
    HintedInstrument(("bells", "glockenspiel", "music box", "celesta"), 9, _P.BELL),
    HintedInstrument(("marimba", "vibraphone", "vibes", "xylophone"), 12, _P.BELL),
    HintedInstrument(("harp",), 46, _P.PLUCK),
    HintedInstrument(("pluck", "plucks"), 45, _P.PLUCK),
    HintedInstrument(("supersaw",), 81, _P.SUPERSAW),
    HintedInstrument(("synth lead", "lead synth", "synthesizer", "synth"), 81, _P.SAW_LEAD),
    HintedInstrument(("synth pad", "warm pad", "pad", "pads"), 89, _P.WARM_PAD, _SUSTAINED),
    HintedInstrument(("808", "sub bass"), 38, _P.BASS_808, _BASS),
    HintedInstrument(
        ("upright bass", "double bass", "acoustic bass", "contrabass"), 32, _P.UPRIGHT_BASS, _BASS
    ),
    HintedInstrument(("synth bass",), 38, _P.FM_BASS, _BASS),
    HintedInstrument(
        ("bass guitar", "electric bass", "slap bass", "bass"), 33, _P.FINGER_BASS, _BASS
    ),
)


def match_instrument(hint: str) -> HintedInstrument | None:
    """The instrument whose longest naming word occurs in ``hint`` as whole words."""
    text = " " + re.sub(r"[^a-z0-9]+", " ", hint.lower()).strip() + " "
    best: tuple[int, HintedInstrument] | None = None
    for instrument in INSTRUMENTS:
        for word in instrument.words:
            normal = re.sub(r"[^a-z0-9]+", " ", word)
            if f" {normal} " in text and (best is None or len(normal) > best[0]):
                best = (len(normal), instrument)
    return best[1] if best else None


def _respec(spec: PartSpec, instrument: HintedInstrument) -> PartSpec:
    sound = InstrumentSpec(
        source=spec.instrument.source,
        gm_program=instrument.gm_program,
        synth=instrument.synth,
    )
    return spec.model_copy(update={"instrument": sound})


def assign_hints(
    parts: Sequence[PartSpec], hints: Sequence[str]
) -> tuple[list[PartSpec], dict[str, str]]:
    """Give each hinted instrument to the first free part of a suitable role; unknown words and
    hints with no suitable part are ignored. Returns the parts and {part name: hint}."""
    out = list(parts)
    applied: dict[str, str] = {}
    for hint in hints:
        instrument = match_instrument(hint)
        if instrument is None:
            continue
        for role in instrument.roles:
            index = next(
                (i for i, p in enumerate(out) if p.role is role and p.name not in applied), None
            )
            if index is not None:
                out[index] = _respec(out[index], instrument)
                applied[out[index].name] = hint
                break
    return out, applied
