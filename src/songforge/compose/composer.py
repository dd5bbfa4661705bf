"""plan → Composition → Score: the composer's two entry points.

``compose`` writes what is independent of instruments (form, harmony, melody, counter-melody,
hook); ``arrange`` gives it to a style's parts. Both are pure: all randomness comes from named
streams of ``plan.seed``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from songforge.compose.arrange import arrange
from songforge.compose.counter import write_counter_melody
from songforge.compose.form import plan_form
from songforge.compose.harmony import choose_harmony, write_harmony
from songforge.compose.melody import make_frame, write_melody
from songforge.compose.score import Composition
from songforge.compose.timeline import ChordTimeline
from songforge.seeding import rng_for

if TYPE_CHECKING:
    from songforge.plan import SongPlan

__all__ = ["arrange", "compose"]


def compose(plan: SongPlan) -> Composition:
    """Write form, harmony and melody for ``plan`` (pure; randomness from plan.seed only).

    The returned composition lasts ``plan.duration_s`` within ±1 s including ``ending_beats``."""
    style = plan.style
    meter = plan.time_signature
    form = plan_form(plan)
    harmony_plan = choose_harmony(style.harmony, plan.key, rng_for(plan.seed, "harmony"))
    chords = write_harmony(
        form.sections, style.harmony, plan.key, meter.beats_per_bar, form.ending_beats, harmony_plan
    )
    frame = make_frame(plan.key, meter, ChordTimeline(chords), style.melody)
    melody = write_melody(form.sections, frame, plan.seed)
    counter = write_counter_melody(form.sections, melody.melody, frame, plan.seed)
    return Composition(
        key=plan.key,
        tempo_bpm=form.tempo_bpm,
        time_signature=meter,
        sections=form.sections,
        chords=chords,
        melody=melody.melody,
        counter_melody=counter,
        hook=melody.hook,
        ending_beats=form.ending_beats,
        style_id=style.id,
        seed=plan.seed,
    )
