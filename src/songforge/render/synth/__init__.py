"""The built-in synthesizer: every :class:`SynthPatch` and :class:`SynthKit` from numpy/scipy
alone, no data files. ``render_synth_part`` turns a part into a dry mono signal."""

from __future__ import annotations

from songforge.render.synth.kits import KITS, KitCharacter
from songforge.render.synth.part import render_synth_part
from songforge.render.synth.patches import PATCHES, UNPITCHED_PATCHES, render_note
from songforge.render.synth.percussion import VOICES, drum_for_note, drum_hit

__all__ = [
    "KITS",
    "PATCHES",
    "UNPITCHED_PATCHES",
    "VOICES",
    "KitCharacter",
    "drum_for_note",
    "drum_hit",
    "render_note",
    "render_synth_part",
]
