"""CONTRACT (mix helper fills in): Score → Standard MIDI File bytes."""

from __future__ import annotations

from songforge.compose.score import Score


def score_to_midi(score: Score) -> bytes:
    """Type-1 SMF: tempo and time signature, one named track per part with its program."""
    raise NotImplementedError
