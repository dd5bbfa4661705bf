"""MIDI export: a type-1 file any DAW opens with the song's tempo, metre, key, parts and notes."""

from __future__ import annotations

import io

import mido
import pytest

from songforge.compose.drums import Drum
from songforge.compose.score import (
    Chord,
    ChordEvent,
    ChordQuality,
    Composition,
    Note,
    Part,
    PartRole,
    Score,
    Section,
    SectionKind,
)
from songforge.render.midi import (
    DRUM_CHANNEL,
    GM_PROGRAM_FOR_PATCH,
    TICKS_PER_BEAT,
    gm_program,
    key_signature,
    score_to_midi,
)
from songforge.styles.schema import InstrumentSpec, PartMix, SoundSource, SynthKit, SynthPatch
from songforge.theory import Key, Mode, TimeSignature


def part(name: str, role: PartRole, notes: tuple[Note, ...], **instrument: object) -> Part:
    spec = InstrumentSpec.model_validate(instrument or {"synth": SynthPatch.PIANO})
    return Part(name, role, notes, spec, PartMix())


def score(
    parts: tuple[Part, ...], time_signature: TimeSignature = TimeSignature.SIX_EIGHT
) -> Score:
    composition = Composition(
        key=Key(9, Mode.MINOR),
        tempo_bpm=97.0,
        time_signature=time_signature,
        sections=(
            Section("intro", SectionKind.INTRO, 0, 2, 0.3),
            Section("chorus 1", SectionKind.CHORUS, 2, 2, 0.9),
        ),
        chords=(ChordEvent(0.0, 12.0, Chord(9, ChordQuality.MINOR)),),
        melody=(),
    )
    return Score(composition, "rock", 97.0, parts)


def read(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def example() -> Score:
    kit = {"source": SoundSource.SOUNDFONT, "gm_drum_kit": 25, "synth_kit": SynthKit.TR808}
    return score(
        (
            part(
                "drums",
                PartRole.DRUMS,
                tuple(
                    Note(b * 0.5, 0.1, Drum.KICK if b % 2 else Drum.HAT_CLOSED, 100)
                    for b in range(8)
                ),
                **kit,
            ),
            part(
                "bass",
                PartRole.BASS,
                (Note(0, 1, 33, 90), Note(1, 1, 36, 80)),
                synth=SynthPatch.FINGER_BASS,
            ),
            part(
                "keys",
                PartRole.CHORDS,
                tuple(Note(0, 2, p, 70) for p in (57, 60, 64)),
                gm_program=4,
                synth=SynthPatch.PIANO,
            ),
            part("lead", PartRole.LEAD, (Note(0.25, 0.5, 76, 111),), synth=SynthPatch.SAW_LEAD),
        )
    )


def test_a_type_1_file_with_one_named_track_per_part() -> None:
    midi = read(score_to_midi(example()))
    assert midi.type == 1 and midi.ticks_per_beat == TICKS_PER_BEAT
    names = [next(m.name for m in track if m.type == "track_name") for track in midi.tracks]
    assert names == ["songforge rock", "drums", "bass", "keys", "lead"]


def test_tempo_metre_key_and_section_markers_are_in_the_conductor_track() -> None:
    conductor = read(score_to_midi(example())).tracks[0]
    meta = {m.type: m for m in conductor}
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(97.0, abs=1e-3)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (6, 8)
    assert meta["key_signature"].key == "Am"
    markers, tick = [], 0
    for message in conductor:
        tick += message.time
        if message.type == "marker":
            markers.append((message.text, tick))
    assert markers == [("intro", 0), ("chorus 1", 2 * 3 * TICKS_PER_BEAT)]  # 6/8 bar = 3 beats


def notes_of(track: mido.MidiTrack) -> list[tuple[int, int, int, int]]:
    """(start tick, channel, pitch, velocity) of every note-on."""
    out, tick = [], 0
    for message in track:
        tick += message.time
        if message.type == "note_on" and message.velocity > 0:
            out.append((tick, message.channel, message.note, message.velocity))
    return out


def test_every_note_arrives_with_its_time_pitch_and_velocity() -> None:
    song = example()
    midi = read(score_to_midi(song))
    for source, track in zip(song.parts, midi.tracks[1:], strict=True):
        got = notes_of(track)
        assert len(got) == len(source.notes)
        expected = sorted(
            (round(n.start_beat * TICKS_PER_BEAT), n.pitch, n.velocity) for n in source.notes
        )
        assert sorted((t, p, v) for t, _, p, v in got) == expected


def test_drums_play_on_channel_10_and_each_melodic_part_on_its_own_channel() -> None:
    midi = read(score_to_midi(example()))
    channels = [{c for _, c, _, _ in notes_of(track)} for track in midi.tracks[1:]]
    assert channels[0] == {DRUM_CHANNEL}
    melodic = [c.pop() for c in channels[1:]]
    assert len(set(melodic)) == 3 and DRUM_CHANNEL not in melodic


def test_programs_come_from_the_instrument_or_its_synth_patch() -> None:
    midi = read(score_to_midi(example()))
    programs = [next(m.program for m in t if m.type == "program_change") for t in midi.tracks[1:]]
    assert programs == [25, 33, 4, 81]  # TR-808 kit, finger bass, explicit EP, saw lead


def test_every_synth_patch_has_a_general_midi_program() -> None:
    assert set(GM_PROGRAM_FOR_PATCH) == set(SynthPatch)
    assert all(0 <= p <= 127 for p in GM_PROGRAM_FOR_PATCH.values())
    assert gm_program(part("x", PartRole.PAD, (), synth=SynthPatch.WARM_PAD)) == 89


def test_a_repeated_pitch_is_released_before_it_strikes_again() -> None:
    notes = (Note(0, 1, 60, 100), Note(1, 1, 60, 100))
    track = read(score_to_midi(score((part("keys", PartRole.CHORDS, notes),)))).tracks[1]
    events, tick = [], 0
    for message in track:
        tick += message.time
        if message.type in ("note_on", "note_off"):
            events.append((tick, message.type))
    assert events == [(0, "note_on"), (480, "note_off"), (480, "note_on"), (960, "note_off")]


def test_more_than_fifteen_melodic_parts_never_use_the_drum_channel() -> None:
    many = tuple(part(f"p{i}", PartRole.PAD, (Note(0, 1, 60, 90),)) for i in range(20))
    midi = read(score_to_midi(score(many)))
    channels = {c for track in midi.tracks[1:] for _, c, _, _ in notes_of(track)}
    assert DRUM_CHANNEL not in channels and len(channels) == 15


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (Key(9, Mode.MINOR), "Am"),
        (Key(3, Mode.MAJOR), "Eb"),
        (Key(2, Mode.DORIAN), "C"),
        (Key(7, Mode.MIXOLYDIAN), "C"),
        (Key(5, Mode.LYDIAN), "C"),
        (Key(4, Mode.PHRYGIAN), "C"),
        (Key(1, Mode.HARMONIC_MINOR), "C#m"),
    ],
)
def test_key_signatures(key: Key, name: str) -> None:
    assert key_signature(key) == name
    mido.MetaMessage("key_signature", key=name)  # mido accepts it


def test_the_same_score_gives_the_same_bytes() -> None:
    assert score_to_midi(example()) == score_to_midi(example())
