"""A whole part through the built-in synth: each distinct note rendered once, then placed.

Songs repeat themselves, so a note is cached by (pitch, held length, velocity bucket) for the
duration of one part, and a drum hit by (drum, velocity bucket, round-robin variant); notes
held for many seconds loop a prototype's sustain (see ``sustain``). Level
follows the exact velocity; the bucket only picks the timbre. Noise is seeded from the part
name and the cache key, never from global state, so the output is the same on every run."""

from __future__ import annotations

import numpy as np

from songforge.compose.drums import Drum
from songforge.compose.score import Note, Part
from songforge.render.synth.patches import render_note
from songforge.render.synth.percussion import drum_for_note, drum_hit
from songforge.render.synth.placement import HAT_CHOKERS, OPEN_HATS, HatChoke, mix_in, start_sample
from songforge.render.synth.sustain import (
    LOOP_AFTER_S,
    LOOPED_PATCHES,
    PROTOTYPE_HOLD_S,
    extend_sustain,
)
from songforge.seeding import rng_for
from songforge.styles.schema import SynthKit, SynthPatch
from songforge.theory import midi_to_hz

DEFAULT_KIT = SynthKit.ACOUSTIC
NOTE_VELOCITY_BUCKETS = 4
DRUM_VELOCITY_BUCKETS = 3
DRUM_VARIANTS = 3  # round-robin hits per drum and velocity bucket ...
SINGLE_VARIANT = frozenset(
    {Drum.CRASH, Drum.CHINA, Drum.SPLASH, Drum.TAIKO, Drum.TIMPANI}
)  # ... bar these
HOLD_GRID_S = 0.005  # held lengths are rounded to this grid for caching (inaudible)


def total_samples(total_s: float, sample_rate_hz: int) -> int:
    return max(0, round(total_s * sample_rate_hz))


def _bucket(velocity: int, buckets: int) -> int:
    return min(buckets - 1, max(0, (int(velocity) - 1) * buckets // 127))


def _bucket_velocity(bucket: int, buckets: int) -> float:
    return (bucket + 0.75) / buckets  # near the bucket's top: the timbre a player aims for


def velocity_gain(velocity: int, exponent: float) -> float:
    """Level from MIDI velocity: (v / 127) ** exponent (2 ≈ 40 dB range for drums)."""
    return float((min(max(velocity, 1), 127) / 127.0) ** exponent)


def render_pitched(
    notes: tuple[Note, ...],
    patch: SynthPatch,
    part_name: str,
    tempo_bpm: float,
    n_total: int,
    sample_rate_hz: int,
) -> np.ndarray:
    """Mono float32 of ``n_total`` samples: every note of a pitched part, unnormalised."""
    out = np.zeros(n_total, dtype=np.float32)
    seconds_per_beat = 60.0 / tempo_bpm
    cache: dict[tuple[int, int, int], np.ndarray] = {}
    prototypes: dict[tuple[int, int], np.ndarray] = {}  # (pitch, bucket) → a note to loop
    beat_s = seconds_per_beat
    for note in notes:
        start = start_sample(note, tempo_bpm, sample_rate_hz)
        if start >= n_total or note.duration_beats <= 0:
            continue
        hold_steps = max(1, round(note.duration_beats * seconds_per_beat / HOLD_GRID_S))
        bucket = _bucket(note.velocity, NOTE_VELOCITY_BUCKETS)
        key = (note.pitch, hold_steps, bucket)
        audio = cache.get(key)
        if audio is None:
            hold_samples = round(hold_steps * HOLD_GRID_S * sample_rate_hz)
            velocity = _bucket_velocity(bucket, NOTE_VELOCITY_BUCKETS)
            if patch in LOOPED_PATCHES and hold_samples > LOOP_AFTER_S * sample_rate_hz:
                prototype = prototypes.get((note.pitch, bucket))
                if prototype is None:
                    rng = rng_for(0, part_name, patch.value, f"{note.pitch}:prototype:{bucket}")
                    proto_hold = round(PROTOTYPE_HOLD_S * sample_rate_hz)
                    prototype = render_note(
                        patch, note.pitch, proto_hold, velocity, sample_rate_hz, rng, beat_s
                    )
                    prototypes[(note.pitch, bucket)] = prototype
                freq_hz = midi_to_hz(min(max(note.pitch, 0), 127))
                audio = extend_sustain(prototype, hold_samples, freq_hz, sample_rate_hz)
            else:
                rng = rng_for(0, part_name, patch.value, f"{key[0]}:{key[1]}:{key[2]}")
                audio = render_note(
                    patch, note.pitch, hold_samples, velocity, sample_rate_hz, rng, beat_s
                )
            cache[key] = audio
        mix_in(out, start, audio, velocity_gain(note.velocity, 1.5))
    return out


def render_drums(
    notes: tuple[Note, ...],
    kit: SynthKit,
    part_name: str,
    tempo_bpm: float,
    n_total: int,
    sample_rate_hz: int,
) -> np.ndarray:
    """Mono float32 of ``n_total`` samples: every hit of a drum part, unnormalised.

    An open hi-hat is choked (cut with a short fade) by the next closed or pedal hi-hat."""
    out = np.zeros(n_total, dtype=np.float32)
    placed = sorted(
        (
            (start_sample(note, tempo_bpm, sample_rate_hz), index, note)
            for index, note in enumerate(notes)
        ),
        key=lambda item: (item[0], item[1]),
    )
    choke = HatChoke(
        (start for start, _, note in placed if drum_for_note(note.pitch) in HAT_CHOKERS),
        sample_rate_hz,
    )
    cache: dict[tuple[Drum, int, int], np.ndarray] = {}
    played: dict[tuple[Drum, int], int] = {}
    for start, _, note in placed:
        if start >= n_total:
            break
        drum = drum_for_note(note.pitch)
        bucket = _bucket(note.velocity, DRUM_VELOCITY_BUCKETS)
        count = played.get((drum, bucket), 0)
        played[(drum, bucket)] = count + 1
        key = (drum, bucket, 0 if drum in SINGLE_VARIANT else count % DRUM_VARIANTS)
        audio = cache.get(key)
        if audio is None:
            rng = rng_for(0, part_name, kit.value, f"{drum.name}:{bucket}:{key[2]}")
            velocity = _bucket_velocity(bucket, DRUM_VELOCITY_BUCKETS)
            audio = drum_hit(kit, drum, velocity, sample_rate_hz, rng)
            cache[key] = audio
        gain = velocity_gain(note.velocity, 2.0)
        if drum in OPEN_HATS:
            audio = choke.apply(audio, start)
        mix_in(out, start, audio, gain)
    return out


def render_synth_part(
    part: Part, tempo_bpm: float, total_s: float, sample_rate_hz: int
) -> np.ndarray:
    """A part through the built-in synth: float32 (1, round(total_s × sample_rate_hz)), dry
    and unnormalised (notes near full scale; overlapping notes may sum past 1)."""
    n_total = total_samples(total_s, sample_rate_hz)
    instrument = part.instrument
    if part.is_drums or instrument.synth is None:
        kit = instrument.synth_kit or DEFAULT_KIT
        mono = render_drums(part.notes, kit, part.name, tempo_bpm, n_total, sample_rate_hz)
    else:
        mono = render_pitched(
            part.notes, instrument.synth, part.name, tempo_bpm, n_total, sample_rate_hz
        )
    return mono[np.newaxis, :]
