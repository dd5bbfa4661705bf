"""Score → Standard MIDI File bytes (type 1): a conductor track with tempo, time signature, key
signature and section markers, then one named track per part with its program and notes."""

from __future__ import annotations

import io

import mido

from songforge.compose.score import Part, Score
from songforge.styles.schema import SynthPatch
from songforge.theory import PITCH_CLASS_NAMES, Key, Mode

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # General MIDI channel 10
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)

# the closest General MIDI program (0-based) to each built-in synth voice
GM_PROGRAM_FOR_PATCH: dict[SynthPatch, int] = {
    SynthPatch.SAW_LEAD: 81,  # Lead 2 (sawtooth)
    SynthPatch.SQUARE_LEAD: 80,  # Lead 1 (square)
    SynthPatch.SUPERSAW: 90,  # Pad 3 (polysynth)
    SynthPatch.PLUCK: 45,  # Pizzicato Strings
    SynthPatch.BELL: 98,  # FX 3 (crystal)
    SynthPatch.WARM_PAD: 89,  # Pad 2 (warm)
    SynthPatch.STRING_PAD: 50,  # Synth Strings 1
    SynthPatch.GLASS_PAD: 92,  # Pad 5 (bowed glass)
    SynthPatch.ELECTRIC_PIANO: 4,  # Electric Piano 1
    SynthPatch.PIANO: 0,  # Acoustic Grand Piano
    SynthPatch.ORGAN: 16,  # Drawbar Organ
    SynthPatch.CLAV: 7,  # Clavinet
    SynthPatch.ACID_BASS: 38,  # Synth Bass 1
    SynthPatch.SUB_BASS: 38,  # Synth Bass 1
    SynthPatch.REESE_BASS: 39,  # Synth Bass 2
    SynthPatch.FM_BASS: 39,  # Synth Bass 2
    SynthPatch.FINGER_BASS: 33,  # Electric Bass (finger)
    SynthPatch.UPRIGHT_BASS: 32,  # Acoustic Bass
    SynthPatch.BASS_808: 38,  # Synth Bass 1
    SynthPatch.DISTORTED_GUITAR: 30,  # Distortion Guitar
    SynthPatch.OVERDRIVEN_GUITAR: 29,  # Overdriven Guitar
    SynthPatch.CLEAN_GUITAR: 27,  # Electric Guitar (clean)
    SynthPatch.ACOUSTIC_GUITAR: 25,  # Acoustic Guitar (steel)
    SynthPatch.BANJO: 105,  # Banjo
    SynthPatch.STRINGS: 48,  # String Ensemble 1
    SynthPatch.BRASS: 61,  # Brass Section
    SynthPatch.CHOIR: 52,  # Choir Aahs
    SynthPatch.FLUTE: 73,  # Flute
    SynthPatch.NOISE_FX: 122,  # Seashore (noise)
    SynthPatch.VINYL: 122,  # Seashore (noise)
}
# semitones from a mode's tonic down to the tonic of the major scale that shares its notes
_PARENT_MAJOR_OFFSET = {Mode.DORIAN: 2, Mode.PHRYGIAN: 4, Mode.LYDIAN: 5, Mode.MIXOLYDIAN: 7}


def gm_program(part: Part) -> int:
    """The part's General MIDI program: its own, else the nearest to its synth patch, else 0.
    For drums, the GM2/GS drum kit number (0 = standard)."""
    instrument = part.instrument
    if part.is_drums:
        return instrument.gm_drum_kit or 0
    if instrument.gm_program is not None:
        return instrument.gm_program
    if instrument.synth is not None:
        return GM_PROGRAM_FOR_PATCH.get(instrument.synth, 0)
    return 0


def key_signature(key: Key) -> str:
    """A key as a MIDI key signature name: major and minor directly, other modes as the major
    key whose notes they share (D dorian → 'C')."""
    tonic = key.tonic_pc
    if key.mode in (Mode.MINOR, Mode.HARMONIC_MINOR):
        return PITCH_CLASS_NAMES[tonic] + "m"
    tonic = (tonic - _PARENT_MAJOR_OFFSET.get(key.mode, 0)) % 12
    return PITCH_CLASS_NAMES[tonic]


def _ticks(beats: float) -> int:
    return max(0, round(beats * TICKS_PER_BEAT))


def _conductor(score: Score) -> mido.MidiTrack:
    composition = score.composition
    numerator, denominator = (int(x) for x in composition.time_signature.value.split("/"))
    events: list[tuple[int, int, mido.MetaMessage]] = [
        (0, 0, mido.MetaMessage("track_name", name=f"songforge {score.style_id}".strip())),
        (0, 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(score.tempo_bpm))),
        (
            0,
            2,
            mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator),
        ),
        (0, 3, mido.MetaMessage("key_signature", key=key_signature(composition.key))),
    ]
    for section in composition.sections:
        tick = _ticks(section.start_bar * composition.beats_per_bar)
        events.append((tick, 4, mido.MetaMessage("marker", text=section.name)))
    return _track(events)


def _part_track(part: Part, channel: int) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = [
        (0, 0, mido.MetaMessage("track_name", name=part.name)),
    ]
    bank = part.instrument.gm_bank
    if 0 < bank < 128 and not part.is_drums:
        events.append(
            (0, 1, mido.Message("control_change", channel=channel, control=0, value=bank))
        )
    events.append((0, 2, mido.Message("program_change", channel=channel, program=gm_program(part))))
    for note in part.notes:
        pitch = min(max(note.pitch, 0), 127)
        velocity = min(max(note.velocity, 1), 127)
        start = _ticks(note.start_beat)
        end = max(start + 1, _ticks(note.end_beat))
        # at one tick: note-offs (3) before note-ons (4) so repeated pitches re-strike; the
        # values are in range by construction, so mido's per-message checks are skipped
        on = {"channel": channel, "note": pitch, "velocity": velocity}
        events.append((start, 4, mido.Message("note_on", skip_checks=True, **on)))
        off = {"channel": channel, "note": pitch, "velocity": 0}
        events.append((end, 3, mido.Message("note_off", skip_checks=True, **off)))
    return _track(events)


def _track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """Absolute-tick events → a track with delta times, in a stable order."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        message.time = tick - now  # each message is this track's own, made for it
        track.append(message)
        now = tick
    return track


def score_to_midi(score: Score) -> bytes:
    """Type-1 SMF: tempo and time signature, one named track per part with its program.
    Drums play on channel 10; melodic parts get channels of their own in score order (reused
    round-robin past the fifteenth)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor(score))
    melodic = 0
    for part in score.parts:
        if part.is_drums:
            channel = DRUM_CHANNEL
        else:
            channel = MELODIC_CHANNELS[melodic % len(MELODIC_CHANNELS)]
            melodic += 1
        midi.tracks.append(_part_track(part, channel))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()
