"""A SoundFont drum part played from rendered hits: each distinct hit is rendered once by the
player, alone, and placed at every onset that plays it, scaled by its velocity.

The player's cost is per voice and sample, and a drum kit's notes are expensive voices: FluidR3's
kick and snare stack several zones per note, its ride and crash ring for 2.6 and 8.5 s. A rock
song's kit took 1.4-1.6 s of the player; placing its hits takes a fraction of that.

A hit is what the player makes of one note alone: note-on, note-off at the note's end, rendered
until it falls silent. Placing copies is exact (to float rounding) where the notes do not
interact in the player, and every assumption that rests on is checked on the font, not taken
from it:

- **Velocity.** The player scales a voice by its velocity; a velocity may also choose other
  zones (velocity layers) or stretch the attack. The first frames of every velocity a key
  plays are compared with the others' scaled: velocities that differ in more than gain get
  hits of their own.
- **Interaction.** Keys in an exclusive class (the hi-hats) cut each other off, and a font
  may make a key cut its own ringing voice. Every pair of keys the part plays (a key with
  itself too) is played together and apart: a key whose pair is not the sum of its parts is
  left to the player, which plays those notes in time order as it plays melodic parts.
- **Length.** A hit still sounding after :data:`MAX_HIT_S` (a looped zone) is left to the
  player too.

Unlike the player, placed hits never steal each other's voices (the player keeps 32) and each
note-off ends its own note (the player's ends the oldest sounding one of its key). The
envelope's 64-frame steps start at each note's onset, as when a note plays alone; inside the
player they start wherever the song's previous event fell, so the two differ in the first
block of notes that start within 64 frames of another event."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

PROBE_FRAMES = 512  # frames compared to tell velocities apart (8 of the player's blocks)
PAIR_OFFSET = 256  # the second key of an interaction probe starts here (a block boundary)
CHUNK_FRAMES = 1 << 14  # hits are rendered this much at a time until a chunk is silent
MAX_HIT_S = 12.0
TOLERANCE = 1e-5  # relative to the peak: the player's gain rounding is ~1e-7

# (onset frame, note-off frame, key, velocity 1..127)
Hit = tuple[int, int, int, int]
# a fresh player on the part's preset; frames → float32 (frames, channels) from one player
NewPlayer = Callable[[], Any]
# plays the given hits with one player in time order into out (every frame written)
PlayInOrder = Callable[[list[Hit], np.ndarray], None]


@dataclass(frozen=True, slots=True)
class _Sound:
    """One rendered hit: (channels, frames); with ``ratio`` its right channel is the left's
    scaled (one panned voice), kept as the left channel only."""

    audio: np.ndarray
    ratio: float | None


class _Renderer:
    def __init__(self, new_player: NewPlayer, channel: int, channels: int) -> None:
        self.new_player, self.channel, self.channels = new_player, channel, channels

    def alone(self, notes: list[tuple[int, int, int]], frames: int) -> np.ndarray:
        """(frames, channels): each (onset, key, velocity) note-on in turn, no note-off."""
        player = self.new_player()
        out = np.zeros((frames, self.channels), dtype=np.float32)
        position = 0
        for onset, key, velocity in sorted(notes):
            if onset > position:
                player.render(out[position:onset].data.cast("B"), False)
                position = onset
            player.channel_note_on(self.channel, key, velocity / 127.0)
        player.render(out[position:].data.cast("B"), False)
        return out

    def hit(self, key: int, velocity: int, hold: int, limit: int) -> np.ndarray | None:
        """(channels, frames) of one note held ``hold`` frames, until it falls silent; None
        when it still sounds after ``limit`` frames."""
        player = self.new_player()
        player.channel_note_on(self.channel, key, velocity / 127.0)
        pieces: list[np.ndarray] = []
        position, last_sound = 0, 0
        while position < limit:
            size = min(CHUNK_FRAMES, hold - position) if position < hold else CHUNK_FRAMES
            piece = np.empty((size, self.channels), dtype=np.float32)
            player.render(piece.data.cast("B"), False)
            sounding = np.flatnonzero(piece.any(axis=1))
            if sounding.size:
                last_sound = position + int(sounding[-1]) + 1
            pieces.append(piece)
            position += size
            if position == hold:
                player.channel_note_off(self.channel, key)
            elif position > hold and not sounding.size:
                return np.ascontiguousarray(np.concatenate(pieces)[:last_sound].T)
        return None


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
    return bool(np.abs(a - b).max(initial=0.0) <= TOLERANCE * scale)


def _interacting(renderer: _Renderer, loudest: dict[int, int]) -> set[int]:
    """Keys that sound differently together than apart (chokes, self-cutting zones)."""
    span = PAIR_OFFSET + PROBE_FRAMES
    alone = {key: renderer.alone([(0, key, v)], span) for key, v in loudest.items()}
    found: set[int] = set()
    keys = sorted(loudest)
    for i, first in enumerate(keys):
        for second in keys[i:]:
            for a, b in ((first, second), (second, first)) if first != second else ((first,) * 2,):
                together = renderer.alone([(0, a, loudest[a]), (PAIR_OFFSET, b, loudest[b])], span)
                apart = alone[a].copy()
                apart[PAIR_OFFSET:] += alone[b][:PROBE_FRAMES]
                if not _same(together, apart):
                    found |= {a, b}
    return found


def _velocity_classes(renderer: _Renderer, key: int, velocities: set[int]) -> dict[int, int]:
    """velocity → the velocity whose hit, scaled, stands for it (the loudest of its class)."""
    representative: dict[int, int] = {}
    probes: list[tuple[int, np.ndarray]] = []
    for velocity in sorted(velocities, reverse=True):
        probe = renderer.alone([(0, key, velocity)], PROBE_FRAMES)
        for rep, rep_probe in probes:
            if _same(probe, rep_probe * np.float32(velocity / rep)):
                representative[velocity] = rep
                break
        else:
            probes.append((velocity, probe))
            representative[velocity] = velocity
    return representative


def _sound(audio: np.ndarray) -> _Sound:
    if audio.shape[0] == 2:
        left, right = audio
        power = float(np.dot(left, left))
        if power > 0.0:
            ratio = float(np.dot(left, right)) / power
            if _same(right, left * np.float32(ratio)):
                return _Sound(np.ascontiguousarray(audio[:1]), ratio)
    return _Sound(audio, None)


def play_drums(
    hits: list[Hit],
    out: np.ndarray,
    sample_rate_hz: int,
    new_player: NewPlayer,
    channel: int,
    play_in_order: PlayInOrder,
) -> None:
    """Write the drum part ``hits`` into ``out`` (float32 (channels, n), any contents): the
    keys that interact by the player, the rest placed from rendered hits."""
    channels, n = out.shape
    renderer = _Renderer(new_player, channel, channels)
    by_key: dict[int, list[Hit]] = defaultdict(list)
    for onset, off, key, velocity in hits:
        if onset < n:  # as the player: a note-on before the start sounds from the start
            start = max(onset, 0)
            by_key[key].append((start, max(off, start + 1), key, velocity))
    loudest = {key: max(h[3] for h in key_hits) for key, key_hits in by_key.items()}
    played = _interacting(renderer, loudest)
    limit = round(MAX_HIT_S * sample_rate_hz)
    sounds: dict[tuple[int, int, int], _Sound | None] = {}
    placed: list[tuple[int, _Sound, float]] = []
    for key in sorted(set(by_key) - played):
        classes = _velocity_classes(renderer, key, {h[3] for h in by_key[key]})
        key_placed = []
        for onset, off, _, velocity in by_key[key]:
            rep = classes[velocity]
            entry = (key, rep, off - onset)
            if entry not in sounds:
                audio = renderer.hit(key, rep, off - onset, limit)
                sounds[entry] = None if audio is None else _sound(audio)
            sound = sounds[entry]
            if sound is None:  # still ringing at the limit: the player plays this key
                played.add(key)
                break
            key_placed.append((onset, sound, velocity / rep))
        else:
            placed += key_placed
    play_in_order(sorted(h for key in played for h in by_key[key]), out)
    _place(placed, out)


def _place(placed: list[tuple[int, _Sound, float]], out: np.ndarray) -> None:
    """Add every hit: those of one pan into a mono bus, which then goes to both channels."""
    n = out.shape[1]
    by_ratio: dict[float | None, list[tuple[int, _Sound, float]]] = defaultdict(list)
    for item in placed:
        by_ratio[item[1].ratio].append(item)
    scratch = np.empty(max((s.audio.shape[1] for _, s, _ in placed), default=0), np.float32)
    bus: np.ndarray | None = None
    for ratio, items in by_ratio.items():
        if ratio is None:
            for onset, sound, gain in items:
                _add(out, onset, sound.audio, np.float32(gain), scratch)
            continue
        first = min(onset for onset, _, _ in items)
        stop = min(n, max(onset + s.audio.shape[1] for onset, s, _ in items))
        if first >= stop:
            continue
        if bus is None:
            bus = np.empty(n, dtype=np.float32)
        target = bus[first:stop]
        target.fill(0.0)
        for onset, sound, gain in items:
            _add(target[None], onset - first, sound.audio, np.float32(gain), scratch)
        out[0, first:stop] += target
        target *= np.float32(ratio)
        out[1, first:stop] += target


def _add(
    out: np.ndarray, start: int, audio: np.ndarray, gain: np.float32, scratch: np.ndarray
) -> None:
    """out[:, start:] += audio × gain, cut at the end of ``out``."""
    length = min(audio.shape[1], out.shape[1] - start)
    if length <= 0:
        return
    part = scratch[:length]
    for row in range(out.shape[0]):
        np.multiply(audio[row, :length], gain, out=part)
        target = out[row, start : start + length]
        np.add(target, part, out=target)
