"""CONTRACT (compose helper fills in): plan → Composition → Score."""

from __future__ import annotations

from songforge.compose.score import Composition, Score
from songforge.plan import SongPlan
from songforge.styles.schema import Style


def compose(plan: SongPlan) -> Composition:
    """Write form, harmony and melody for ``plan`` (pure; randomness from plan.seed only).

    The returned composition lasts ``plan.duration_s`` within ±1 s including ``ending_beats``."""
    raise NotImplementedError


def arrange(composition: Composition, style: Style, plan: SongPlan) -> Score:
    """Give the composition to ``style``'s parts: drums, bass, harmony parts, lead, fx (pure)."""
    raise NotImplementedError
