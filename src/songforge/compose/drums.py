"""General MIDI drum notes by name: the one mapping between groove voices and note numbers."""

from __future__ import annotations

from enum import IntEnum


class Drum(IntEnum):
    """GM percussion key numbers (channel 10). Renderers map these to sounds."""

    VINYL_HIT = 27
    SNAP = 31
    TAIKO = 35
    KICK = 36
    RIM = 37
    SNARE = 38
    CLAP = 39
    TIMPANI = 41
    TOM_LOW = 43
    HAT_CLOSED = 42
    HAT_PEDAL = 44
    HAT_OPEN = 46
    TOM_MID = 47
    CRASH = 49
    TOM_HIGH = 50
    RIDE = 51
    CHINA = 52
    RIDE_BELL = 53
    TAMBOURINE = 54
    SPLASH = 55
    COWBELL = 56
    BONGO = 60
    CONGA_HIGH = 62
    CONGA_LOW = 64
    SHAKER = 70

    @classmethod
    def from_voice(cls, voice: str) -> Drum:
        """A groove voice name ('hat_closed') → its drum."""
        return cls[voice.upper()]
