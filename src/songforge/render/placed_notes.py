"""A SoundFont drum part played from rendered notes: each distinct hit (key, velocity
class, length) is rendered once by the player, alone, and placed at every onset that plays
it, scaled by its velocity.

The player's cost is per voice and sample, and a drum kit's notes are expensive voices:
FluidR3's kick and snare are stereo sample pairs, its ride and crash ring for 2.6 and 8.5 s.
A rock song's kit took the player 1.2-1.6 s; placing its hits takes a third of that.

A rendered hit is what the player makes of that note alone: note-on, note-off at the note's
end, rendered until it falls silent. Placing copies is exact (to float rounding) where notes
do not interact in the player, and every assumption that rests on is checked on the font,
not taken from it:

- **Velocity.** The player scales a voice by its velocity; a velocity may also choose other
  zones (velocity layers, which may differ only in how they release). The whole notes of the
  quietest and loudest velocity a key plays are compared, scaled: where they differ in more
  than gain, the range is split until each run's ends agree (zones select velocities by
  range, so velocities between two that agree agree with them), and each run gets notes of
  its own.
- **Interaction.** In an exclusive class (the hi-hats), a note-on ends the sounding notes of
  its class, and a font may make a key end its own ringing voice. For a preset that has
  exclusive classes, every pair of keys the part plays (a key with itself too) is played
  together and apart: a key whose pair is not the sum of its parts is left to the player,
  which plays those notes in time order.
- **Length.** A note still sounding after :data:`MAX_NOTE_S` (a looped zone) is left to the
  player too, and so is a key whose distinct notes repeat less than :data:`MIN_REPEATS` times
  on average (rendering each once would cost about as much).

Unlike the player, placed notes never steal each other's voices (the player keeps 32 and
ends the one furthest into its release) and each note-off ends its own note (the player's
ends the oldest sounding one of its key). The envelope's 64-frame steps start at each note's
onset, as when a note plays alone; inside the player they start wherever the song's previous
event fell, so the two differ in the first steps of notes that start within a few frames of
another event. On a grid of whole blocks a rock song's kit (1842 hits) placed differs from
the player's by at most -57 dB of its peak: the tails the player cut short for want of
voices."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from songforge.render.synth.placement import mix_in

PROBE_FRAMES = 512  # frames compared to find keys that cut each other off
PAIR_OFFSET = 256  # the second key of an interaction probe starts here (a block boundary)
CHUNK_FRAMES = 1 << 14  # notes are rendered this much at a time until a chunk is silent
MAX_NOTE_S = 12.0
MIN_REPEATS = 3  # a key is placed when its distinct notes play this often on average
TOLERANCE = 1e-5  # relative to the peak: the player's gain rounding is ~1e-7
BUS_OVERLAP = 3.0  # notes of one pan share a mono bus when they overlap this deep on average

# (onset frame, note-off frame, key, velocity 1..127)
Note = tuple[int, int, int, int]
# a fresh player on the part's preset, output mode set (stereo interleaved or mono)
NewPlayer = Callable[[], Any]
# plays the given notes with one player in time order into out (every frame written)
PlayInOrder = Callable[[list[Note], np.ndarray], None]


@dataclass(frozen=True, slots=True)
class _Sound:
    """One rendered note: (channels, frames); with ``ratio`` its right channel is the left's
    scaled (its voices share one pan), kept as the left channel only."""

    audio: np.ndarray
    ratio: float | None

    @property
    def frames(self) -> int:
        return int(self.audio.shape[1])


class _Renderer:
    def __init__(self, new_player: NewPlayer, channel: int, channels: int) -> None:
        self.new_player, self.channel, self.channels = new_player, channel, channels

    def onsets(self, notes: list[tuple[int, int, int]], frames: int) -> np.ndarray:
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

    def note(self, key: int, velocity: int, hold: int, limit: int) -> np.ndarray | None:
        """(channels, frames) of one note held ``hold`` frames, until it falls silent; None
        when it still sounds after ``limit`` frames."""
        player = self.new_player()
        player.channel_note_on(self.channel, key, velocity / 127.0)
        pieces: list[np.ndarray] = []
        position, sounding = 0, 0  # sounding: pieces up to the last one not silent
        while position < limit:
            size = min(CHUNK_FRAMES, hold - position) if position < hold else CHUNK_FRAMES
            piece = np.empty((size, self.channels), dtype=np.float32)
            player.render(piece.data.cast("B"), False)
            pieces.append(piece)
            position += size
            silent = not piece.any()
            if not silent:
                sounding = len(pieces)
            if position == hold:
                player.channel_note_off(self.channel, key)
            elif position > hold and silent:
                if not sounding:
                    return np.zeros((self.channels, 0), dtype=np.float32)
                last = pieces[sounding - 1]
                frames = int(np.flatnonzero(last.any(axis=1))[-1]) + 1
                return np.concatenate([*pieces[: sounding - 1], last[:frames]]).T.copy()
        return None


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
    return bool(np.abs(a - b).max(initial=0.0) <= TOLERANCE * scale)


def _interacting(renderer: _Renderer, loudest: dict[int, int]) -> set[int]:
    """Keys that sound differently together than apart (exclusive classes)."""
    span = PAIR_OFFSET + PROBE_FRAMES
    alone = {key: renderer.onsets([(0, key, v)], span) for key, v in loudest.items()}
    found: set[int] = set()
    keys = sorted(loudest)
    for i, first in enumerate(keys):
        for second in keys[i:]:
            orders = ((first, second), (second, first)) if first != second else ((first, first),)
            for a, b in orders:
                together = renderer.onsets([(0, a, loudest[a]), (PAIR_OFFSET, b, loudest[b])], span)
                apart = alone[a].copy()
                apart[PAIR_OFFSET:] += alone[b][:PROBE_FRAMES]
                if not _same(together, apart):
                    found |= {a, b}
    return found


def _velocity_classes(
    key: int, velocities: set[int], hold: int, note: Callable[[int, int, int], _Sound | None]
) -> dict[int, int] | None:
    """velocity → the velocity whose note, scaled, stands for it (the loudest of its run), or
    None when a note would not end (see :data:`MAX_NOTE_S`). Two velocities agree when their
    whole notes, held ``hold`` frames, differ only in gain: zones may split velocities into
    layers, or differ only in how they release."""
    ordered = sorted(velocities)

    def agree(low: int, high: int) -> bool | None:
        quiet, loud = note(key, low, hold), note(key, high, hold)
        if quiet is None or loud is None:
            return None
        if quiet.audio.shape[0] != loud.audio.shape[0]:
            return False
        panned = loud.ratio is not None and quiet.ratio is not None  # one channel each
        if panned and not math.isclose(loud.ratio or 0.0, quiet.ratio or 0.0, rel_tol=TOLERANCE):
            return False
        frames = max(quiet.frames, loud.frames)  # the quieter may reach exact zero sooner
        scaled = np.zeros((loud.audio.shape[0], frames), np.float32)
        scaled[:, : loud.frames] = loud.audio * np.float32(low / high)
        padded = np.zeros_like(scaled)
        padded[:, : quiet.frames] = quiet.audio
        return _same(scaled, padded)

    representative: dict[int, int] = {}

    def split(first: int, last: int) -> bool:
        low, high = ordered[first], ordered[last]
        same = True if first == last else agree(low, high)
        if same is None:
            return False
        if same:
            for velocity in ordered[first : last + 1]:
                representative[velocity] = high
            return True
        middle = (first + last) // 2
        return split(first, middle) and split(middle + 1, last)

    return representative if split(0, len(ordered) - 1) else None


def _sound(audio: np.ndarray) -> _Sound:
    if audio.shape[0] == 2:
        left, right = audio
        power = float(np.dot(left, left))
        if power > 0.0:
            ratio = float(np.dot(left, right)) / power
            if _same(right, left * np.float32(ratio)):
                return _Sound(np.ascontiguousarray(audio[:1]), ratio)
    return _Sound(audio, None)


@dataclass(frozen=True, slots=True)
class _Placed:
    onset: int
    sound: _Sound
    gain: float  # velocity / the velocity the sound was rendered at


def play_placed(
    notes: list[Note],
    out: np.ndarray,
    sample_rate_hz: int,
    new_player: NewPlayer,
    channel: int,
    play_in_order: PlayInOrder,
    *,
    exclusive_classes: bool,
) -> None:
    """Write the part ``notes`` into ``out`` (float32 (channels, n), any contents): keys
    that interact (only possible with ``exclusive_classes``) by the player in time order, the
    rest placed from rendered notes."""
    channels, n = out.shape
    renderer = _Renderer(new_player, channel, channels)
    by_key: dict[int, list[Note]] = defaultdict(list)
    for onset, off, key, velocity in notes:
        if onset < n:  # as the player: a note-on before the start sounds from the start
            start = max(onset, 0)
            by_key[key].append((start, max(off, start + 1), key, velocity))
    played: set[int] = set()
    if exclusive_classes:
        played = _interacting(renderer, {k: max(h[3] for h in hs) for k, hs in by_key.items()})
    limit = round(MAX_NOTE_S * sample_rate_hz)
    sounds: dict[tuple[int, int, int], _Sound | None] = {}
    placed: list[_Placed] = []

    def note(key: int, velocity: int, hold: int) -> _Sound | None:
        entry = (key, velocity, hold)
        if entry not in sounds:
            audio = renderer.note(key, velocity, hold, limit)
            sounds[entry] = None if audio is None else _sound(audio)
        return sounds[entry]

    for key in sorted(set(by_key) - played):
        holds = Counter(off - onset for onset, off, _, _ in by_key[key])
        classes = _velocity_classes(
            key, {h[3] for h in by_key[key]}, holds.most_common(1)[0][0], note
        )
        if classes is None:  # a note that would not end: the player plays this key
            played.add(key)
            continue
        distinct = {(classes[velocity], off - onset) for onset, off, _, velocity in by_key[key]}
        if len(distinct) * MIN_REPEATS > len(by_key[key]):  # rendering them costs as much
            played.add(key)
            continue
        key_placed = []
        for onset, off, _, velocity in by_key[key]:
            rep = classes[velocity]
            sound = note(key, rep, off - onset)
            if sound is None:  # still sounding at the limit: the player plays this key
                played.add(key)
                break
            key_placed.append(_Placed(onset, sound, velocity / rep))
        else:
            placed += key_placed
    if played:
        play_in_order(sorted(h for key in played for h in by_key[key]), out)
    else:
        out.fill(0.0)
    _place(placed, out)


def _place(placed: list[_Placed], out: np.ndarray) -> None:
    """Add every note. Notes of one pan that overlap deeply (a ride cymbal's) are summed in a
    mono bus, which then goes to both channels once; the rest are added where they sound."""
    n = out.shape[1]
    by_ratio: dict[float | None, list[_Placed]] = defaultdict(list)
    for item in placed:
        by_ratio[item.sound.ratio].append(item)
    bus: np.ndarray | None = None
    for ratio, items in by_ratio.items():
        first = min(p.onset for p in items)
        stop = min(n, max(p.onset + p.sound.frames for p in items))
        if first >= stop:
            continue
        sounding = sum(p.sound.frames for p in items)
        if ratio is None:
            for p in items:
                mix_in(out, p.onset, p.sound.audio, p.gain)
        elif sounding < BUS_OVERLAP * (stop - first):
            for p in items:  # a panned mono sound: each channel at its own gain
                mix_in(out[0], p.onset, p.sound.audio[0], p.gain)
                mix_in(out[1], p.onset, p.sound.audio[0], p.gain * ratio)
        else:
            if bus is None:
                bus = np.empty(n, dtype=np.float32)
            target = bus[first:stop]
            target.fill(0.0)
            for p in items:
                mix_in(target, p.onset - first, p.sound.audio[0], p.gain)
            out[0, first:stop] += target
            target *= np.float32(ratio)
            out[1, first:stop] += target
