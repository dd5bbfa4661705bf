"""Placing rendered notes into a part's buffer: shared by the synth and the SoundFont player."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from songforge.compose.drums import Drum
from songforge.compose.score import Note

OPEN_HATS = frozenset({int(Drum.HAT_OPEN)})
HAT_CHOKERS = frozenset({int(Drum.HAT_CLOSED), int(Drum.HAT_PEDAL)})
CHOKE_FADE_S = 0.006


def start_sample(note: Note, tempo_bpm: float, sample_rate_hz: int) -> int:
    """Where a note starts: beats × 60 / tempo seconds, rounded to the nearest sample."""
    return round(note.start_beat * 60.0 / tempo_bpm * sample_rate_hz)


def mix_in(out: np.ndarray, start: int, audio: np.ndarray, gain: float = 1.0) -> None:
    """Add ``audio`` × ``gain`` into ``out`` from sample ``start`` (time is the last axis),
    cutting whatever falls before 0 or past the buffer's end."""
    n_out, n_audio = out.shape[-1], audio.shape[-1]
    end = min(n_out, start + n_audio)
    skip = max(0, -start)
    if end <= start + skip:
        return
    segment = audio[..., skip : end - start]
    if gain == 1.0:
        out[..., start + skip : end] += segment
    else:
        out[..., start + skip : end] += np.float32(gain) * segment


class HatChoke:
    """An open hi-hat rings until the next closed or pedal hi-hat cuts it (a short fade)."""

    def __init__(self, chokers_at: Iterable[int], sample_rate_hz: int) -> None:
        self.chokers_at = np.asarray(sorted(chokers_at), dtype=np.int64)
        self.fade_n = max(1, int(CHOKE_FADE_S * sample_rate_hz))

    def apply(self, audio: np.ndarray, start: int) -> np.ndarray:
        """``audio`` starting at ``start``, cut where the next choking hat lands."""
        following = int(np.searchsorted(self.chokers_at, start, side="right"))
        if following >= len(self.chokers_at):
            return audio
        cut = int(self.chokers_at[following] - start)
        if cut >= audio.shape[-1]:
            return audio
        choked = audio[..., : cut + self.fade_n].copy()
        fade_len = choked.shape[-1] - cut
        choked[..., cut:] *= np.linspace(1.0, 0.0, fade_len, dtype=np.float32)
        return choked
