"""A SoundFont drum part placed from hits rendered once sounds as the player plays it in order.

The two can only differ where the player's 64-frame envelope steps fall differently, where it
steals voices (it keeps 32) and where a note-off ends another note of its key. On a grid of
whole blocks, with few voices ringing, none of that happens: they agree to float rounding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from songforge.compose.drums import Drum
from songforge.compose.score import Note, Part, PartRole
from songforge.render import placed_notes
from songforge.render import soundfont as sf
from songforge.styles.schema import InstrumentSpec, PartMix, SoundSource, SynthKit

RATE = 48000
TEMPO = 112.5  # a sixteenth is 6400 frames at 48 kHz: 100 of the player's 64-frame blocks
SIXTEENTH = 0.25


def drum_part(notes: list[Note]) -> Part:
    instrument = InstrumentSpec(
        source=SoundSource.SOUNDFONT, gm_bank=128, gm_drum_kit=0, synth_kit=SynthKit.ROCK
    )
    return Part("drums", PartRole.DRUMS, tuple(notes), instrument, PartMix())


def groove(bars: int) -> list[Note]:
    """Kick, snare, toms and hi-hats (closed and open, which choke each other), velocities
    across the range so that every velocity layer of the kit plays."""
    notes: list[Note] = []
    for step in range(16 * bars):
        beat = step * SIXTEENTH
        velocity = 30 + (step * 37) % 98
        notes.append(
            Note(beat, SIXTEENTH, Drum.HAT_OPEN if step % 8 == 6 else Drum.HAT_CLOSED, velocity)
        )
        if step % 8 in (0, 3):
            notes.append(Note(beat, SIXTEENTH, Drum.KICK, velocity))
        if step % 8 == 4:
            notes.append(Note(beat, 1.0, Drum.SNARE, 110 if step % 16 == 4 else 90))
        if step % 16 in (13, 14, 15):
            notes.append(
                Note(
                    beat, SIXTEENTH, (Drum.TOM_HIGH, Drum.TOM_MID, Drum.TOM_LOW)[step % 3], velocity
                )
            )
    return notes


def in_order(part: Part, font_path: Path, seconds: float) -> np.ndarray:
    """The part as the player plays every note in time order (how melodic parts are played)."""
    font = sf.load_soundfont(font_path)
    program = sf.program_for(part, font)
    assert program is not None and program.drums
    out = np.empty((2, round(seconds * RATE)), dtype=np.float32)
    player = sf._player(font, program, RATE)
    sf._play_in_order(player, program.channel, sf._hits(part, TEMPO, RATE), out)
    return out


def level_db(difference: np.ndarray, reference: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(difference).max() / np.abs(reference).max() + 1e-30))


def test_on_a_grid_of_whole_blocks_placed_hits_are_the_players_own(
    font_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = drum_part(groove(bars=4))
    seconds = 4 * 4 * 60 / TEMPO + 1.0
    left_to_player: set[int] = set()
    play = sf._play_in_order

    def spy(player: Any, channel: int, hits: list[placed_notes.Note], out: np.ndarray) -> None:
        left_to_player.update(key for _, _, key, _ in hits)
        play(player, channel, hits, out)

    monkeypatch.setattr(sf, "_play_in_order", spy)
    placed = sf.render_soundfont_part(part, TEMPO, seconds, RATE, font_path)
    monkeypatch.undo()
    played = in_order(part, font_path, seconds)
    assert placed is not None
    assert Drum.HAT_CLOSED in left_to_player and Drum.HAT_OPEN in left_to_player
    assert not left_to_player & {Drum.KICK, Drum.SNARE, Drum.TOM_LOW, Drum.TOM_MID, Drum.TOM_HIGH}
    assert float(np.abs(played).max()) > 0.05
    assert level_db(placed - played, played) < -100.0


def test_a_ringing_cymbal_is_placed_at_every_hit_at_its_velocity(font_path: Path) -> None:
    notes = [Note(beat, SIXTEENTH, Drum.RIDE, 40 + beat * 20) for beat in range(4)]
    notes.append(Note(2.0, 1.0, Drum.CRASH, 120))
    part = drum_part(notes)
    placed = sf.render_soundfont_part(part, TEMPO, 6.0, RATE, font_path)
    played = in_order(part, font_path, 6.0)
    assert placed is not None
    assert level_db(placed - played, played) < -100.0


def test_hi_hats_still_cut_each_other_off(font_path: Path) -> None:
    """An open hi-hat rings on alone; a closed one after it ends it (an exclusive class)."""
    open_alone = drum_part([Note(0.0, SIXTEENTH, Drum.HAT_OPEN, 110)])
    choked = drum_part(
        [Note(0.0, SIXTEENTH, Drum.HAT_OPEN, 110), Note(1.0, SIXTEENTH, Drum.HAT_CLOSED, 20)]
    )
    ringing = sf.render_soundfont_part(open_alone, TEMPO, 3.0, RATE, font_path)
    cut = sf.render_soundfont_part(choked, TEMPO, 3.0, RATE, font_path)
    assert ringing is not None and cut is not None
    later = slice(round(1.5 * 60 / TEMPO * RATE), round(2.5 * 60 / TEMPO * RATE))
    energy_ringing = float(np.square(ringing[:, later]).sum())
    energy_cut = float(np.square(cut[:, later]).sum())
    if energy_ringing == 0.0:
        pytest.skip("this font's open hi-hat is silent after one beat")
    assert energy_cut < 0.1 * energy_ringing


def test_keys_that_ring_past_the_limit_are_left_to_the_player(
    font_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(placed_notes, "MAX_NOTE_S", 0.01)  # every hit outlasts it
    part = drum_part(groove(bars=1))
    placed = sf.render_soundfont_part(part, TEMPO, 3.0, RATE, font_path)
    assert placed is not None
    assert placed.tobytes() == in_order(part, font_path, 3.0).tobytes()


def test_a_drum_part_renders_the_same_bytes_every_time(font_path: Path) -> None:
    notes = [
        Note(i * 0.37, 0.3, (Drum.KICK, Drum.SNARE, Drum.RIDE)[i % 3], 60 + i) for i in range(30)
    ]
    part = drum_part(notes)
    first = sf.render_soundfont_part(part, 97.0, 6.0, 44100, font_path)
    second = sf.render_soundfont_part(part, 97.0, 6.0, 44100, font_path)
    assert first is not None and second is not None
    assert first.tobytes() == second.tobytes()


def test_hits_before_the_start_or_past_the_end_are_cut_as_the_player_cuts_them(
    font_path: Path,
) -> None:
    notes = [
        Note(-0.5, 1.0, Drum.SNARE, 100),
        Note(7.75, 1.0, Drum.CRASH, 100),
        Note(9.0, 1.0, Drum.KICK, 100),
    ]
    part = drum_part(notes)
    seconds = 8 * 60 / TEMPO
    placed = sf.render_soundfont_part(part, TEMPO, seconds, RATE, font_path)
    assert placed is not None
    assert placed.shape == (2, round(seconds * RATE))
    played = in_order(part, font_path, seconds)
    assert level_db(placed - played, played) < -100.0
