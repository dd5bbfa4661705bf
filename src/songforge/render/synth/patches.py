"""Every :class:`SynthPatch` by name → the function that plays one of its notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from songforge.render.synth import basses, ensembles, guitars, keys, leads, noise
from songforge.render.synth.voice import NoteSpec, PatchVoice
from songforge.styles.schema import SynthPatch

PATCHES: dict[SynthPatch, PatchVoice] = {
    SynthPatch.SAW_LEAD: leads.saw_lead,
    SynthPatch.SQUARE_LEAD: leads.square_lead,
    SynthPatch.SUPERSAW: leads.supersaw,
    SynthPatch.PLUCK: guitars.pluck,
    SynthPatch.BELL: leads.bell,
    SynthPatch.WARM_PAD: ensembles.warm_pad,
    SynthPatch.STRING_PAD: ensembles.string_pad,
    SynthPatch.GLASS_PAD: ensembles.glass_pad,
    SynthPatch.ELECTRIC_PIANO: keys.electric_piano,
    SynthPatch.PIANO: keys.piano,
    SynthPatch.ORGAN: keys.organ,
    SynthPatch.CLAV: keys.clav,
    SynthPatch.ACID_BASS: basses.acid_bass,
    SynthPatch.SUB_BASS: basses.sub_bass,
    SynthPatch.REESE_BASS: basses.reese_bass,
    SynthPatch.FM_BASS: basses.fm_bass,
    SynthPatch.FINGER_BASS: basses.finger_bass,
    SynthPatch.UPRIGHT_BASS: basses.upright_bass,
    SynthPatch.BASS_808: basses.bass_808,
    SynthPatch.DISTORTED_GUITAR: guitars.distorted_guitar,
    SynthPatch.OVERDRIVEN_GUITAR: guitars.overdriven_guitar,
    SynthPatch.CLEAN_GUITAR: guitars.clean_guitar,
    SynthPatch.ACOUSTIC_GUITAR: guitars.acoustic_guitar,
    SynthPatch.BANJO: guitars.banjo,
    SynthPatch.STRINGS: ensembles.strings,
    SynthPatch.BRASS: ensembles.brass,
    SynthPatch.CHOIR: ensembles.choir,
    SynthPatch.FLUTE: leads.flute,
    SynthPatch.NOISE_FX: noise.noise_fx,
    SynthPatch.VINYL: noise.vinyl,
}

UNPITCHED_PATCHES = frozenset({SynthPatch.NOISE_FX, SynthPatch.VINYL})
# Monophonic patches: each note cuts the one before, and a note that starts while the previous
# one is still held slides from its pitch (legato glide, the 808's slides).
MONO_PATCHES = frozenset({SynthPatch.BASS_808})


@dataclass(frozen=True, slots=True)
class PartChain:
    """A patch whose character comes from a processor acting on the whole part (an amp that
    distorts a chord's notes together): each note is rendered ``dry``, the part through
    ``process`` (mono float32 and the sample rate → the processed part)."""

    dry: PatchVoice
    process: Callable[[np.ndarray, int], np.ndarray]


PART_CHAINS: dict[SynthPatch, PartChain] = {
    SynthPatch.DISTORTED_GUITAR: PartChain(guitars.high_gain_di, guitars.high_gain_amp),
    SynthPatch.OVERDRIVEN_GUITAR: PartChain(guitars.guitar_di, guitars.crunch_amp),
}


def render_note(
    patch: SynthPatch,
    pitch: int,
    hold_samples: int,
    velocity: float,
    sample_rate_hz: int,
    rng: np.random.Generator,
    seconds_per_beat: float = 0.5,
    dry: bool = False,
    glide_from_pitch: int | None = None,
) -> np.ndarray:
    """One note of ``patch``: mono float32, ``hold_samples`` held plus the patch's release tail,
    peak at most 1, finite. ``velocity`` in (0, 1] shapes timbre only; ``seconds_per_beat``
    (the tempo) only matters to the noise FX, which tell hits from risers by length in beats.
    ``dry`` gives a :data:`PART_CHAINS` patch's note before its part processor;
    ``glide_from_pitch`` makes a :data:`MONO_PATCHES` note slide in from that pitch (legato)."""
    note = NoteSpec(
        pitch=min(max(int(pitch), 0), 127),
        hold_samples=max(1, int(hold_samples)),
        velocity=min(max(float(velocity), 0.01), 1.0),
        sample_rate_hz=sample_rate_hz,
        seconds_per_beat=seconds_per_beat,
        glide_from_pitch=None
        if glide_from_pitch is None
        else min(max(int(glide_from_pitch), 0), 127),
    )
    voice = PART_CHAINS[patch].dry if dry and patch in PART_CHAINS else PATCHES[patch]
    audio = voice(note, rng).astype(np.float32, copy=False)
    peak = float(max(audio.max(), -audio.min()))
    if not np.isfinite(peak):  # never expected: a guard, so one bad note cannot spoil a song
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    if not peak <= 1.0:
        audio = np.clip(audio, -1.0, 1.0)
    return audio
