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
from songforge.render.synth.patches import MONO_PATCHES, PART_CHAINS, render_note
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
MONO_FADE_S = 0.005  # a mono patch's note fades out this fast when the next one cuts it
_EPS = 1e-6


def total_samples(total_s: float, sample_rate_hz: int) -> int:
    return max(0, round(total_s * sample_rate_hz))


def _bucket(velocity: int, buckets: int) -> int:
    return min(buckets - 1, max(0, (int(velocity) - 1) * buckets // 127))


def _bucket_velocity(bucket: int, buckets: int) -> float:
    return (bucket + 0.75) / buckets  # near the bucket's top: the timbre a player aims for


def velocity_gain(velocity: int, exponent: float) -> float:
    """Level from MIDI velocity: (v / 127) ** exponent (2 ≈ 40 dB range for drums)."""
    return float((min(max(velocity, 1), 127) / 127.0) ** exponent)


def _mono_legato(
    notes: tuple[Note, ...], tempo_bpm: float, sample_rate_hz: int
) -> tuple[list[Note], list[int | None], list[int | None]]:
    """A mono patch's notes in time order, with where the next note cuts each one (sample, or
    None) and the pitch each one slides from (when it starts before the previous one ends)."""
    ordered = sorted(notes, key=lambda n: (n.start_beat, n.pitch))
    starts = [start_sample(n, tempo_bpm, sample_rate_hz) for n in ordered]
    cuts: list[int | None] = [None] * len(ordered)
    glides: list[int | None] = [None] * len(ordered)
    for k in range(1, len(ordered)):
        previous, current = ordered[k - 1], ordered[k]
        if starts[k] > starts[k - 1]:
            cuts[k - 1] = starts[k]
        if previous.end_beat > current.start_beat + _EPS and previous.pitch != current.pitch:
            glides[k] = previous.pitch
    return ordered, cuts, glides


def _cut(audio: np.ndarray, length: int, sample_rate_hz: int) -> np.ndarray:
    """``audio`` stopped after ``length`` samples with a short fade (a mono voice's next note)."""
    if length >= len(audio):
        return audio
    fade_n = max(1, round(MONO_FADE_S * sample_rate_hz))
    cut = audio[: length + fade_n].copy()
    cut[length:] *= np.linspace(1.0, 0.0, len(cut) - length, dtype=np.float32)
    return cut


def render_pitched(
    notes: tuple[Note, ...],
    patch: SynthPatch,
    part_name: str,
    tempo_bpm: float,
    n_total: int,
    sample_rate_hz: int,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Mono float32 of ``n_total`` samples: every note of a pitched part, unnormalised, into
    ``out`` when given (zero-filled). A :data:`PART_CHAINS` patch plays its notes dry and the
    whole part through its processor; a :data:`MONO_PATCHES` patch plays one note at a time,
    sliding between overlapping notes."""
    if out is None:
        out = np.zeros(n_total, dtype=np.float32)
    chain = PART_CHAINS.get(patch)
    dry = chain is not None
    seconds_per_beat = 60.0 / tempo_bpm
    if patch in MONO_PATCHES:
        ordered, cuts, glides = _mono_legato(notes, tempo_bpm, sample_rate_hz)
    else:
        ordered, cuts, glides = list(notes), [None] * len(notes), [None] * len(notes)
    cache: dict[tuple[int, int, int, int | None], np.ndarray] = {}
    prototypes: dict[tuple[int, int], np.ndarray] = {}  # (pitch, bucket) → a note to loop
    beat_s = seconds_per_beat
    for note, cut_at, glide in zip(ordered, cuts, glides, strict=True):
        start = start_sample(note, tempo_bpm, sample_rate_hz)
        if start >= n_total or note.duration_beats <= 0:
            continue
        hold_steps = max(1, round(note.duration_beats * seconds_per_beat / HOLD_GRID_S))
        bucket = _bucket(note.velocity, NOTE_VELOCITY_BUCKETS)
        key = (note.pitch, hold_steps, bucket, glide)
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
                        patch, note.pitch, proto_hold, velocity, sample_rate_hz, rng, beat_s, dry
                    )
                    prototypes[(note.pitch, bucket)] = prototype
                freq_hz = midi_to_hz(min(max(note.pitch, 0), 127))
                audio = extend_sustain(prototype, hold_samples, freq_hz, sample_rate_hz)
            else:
                words = f"{key[0]}:{key[1]}:{key[2]}" + ("" if glide is None else f":from{glide}")
                rng = rng_for(0, part_name, patch.value, words)
                audio = render_note(
                    patch,
                    note.pitch,
                    hold_samples,
                    velocity,
                    sample_rate_hz,
                    rng,
                    beat_s,
                    dry,
                    glide_from_pitch=glide,
                )
            cache[key] = audio
        if cut_at is not None:
            audio = _cut(audio, cut_at - start, sample_rate_hz)
        mix_in(out, start, audio, velocity_gain(note.velocity, 1.5))
    if chain is not None and np.any(out):
        out[:] = chain.process(out, sample_rate_hz)
    return out


def render_drums(
    notes: tuple[Note, ...],
    kit: SynthKit,
    part_name: str,
    tempo_bpm: float,
    n_total: int,
    sample_rate_hz: int,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Mono float32 of ``n_total`` samples: every hit of a drum part, unnormalised, into
    ``out`` when given (zero-filled).

    An open hi-hat is choked (cut with a short fade) by the next closed or pedal hi-hat."""
    if out is None:
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
    part: Part,
    tempo_bpm: float,
    total_s: float,
    sample_rate_hz: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """A part through the built-in synth: float32 (1, round(total_s × sample_rate_hz)), dry
    and unnormalised (notes near full scale; overlapping notes may sum past 1). With ``out``
    (float32 of that shape, all zeros) the part is written there and ``out`` returned."""
    n_total = total_samples(total_s, sample_rate_hz)
    if out is not None and (out.shape != (1, n_total) or out.dtype != np.float32):
        raise ValueError(f"out must be float32 (1, {n_total}), not {out.dtype} {out.shape}")
    into = None if out is None else out[0]
    instrument = part.instrument
    if part.is_drums or instrument.synth is None:
        kit = instrument.synth_kit or DEFAULT_KIT
        mono = render_drums(
            part.notes, kit, part.name, tempo_bpm, n_total, sample_rate_hz, out=into
        )
    else:
        mono = render_pitched(
            part.notes, instrument.synth, part.name, tempo_bpm, n_total, sample_rate_hz, out=into
        )
    return mono[np.newaxis, :] if out is None else out
