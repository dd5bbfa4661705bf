"""A song loads only the presets it plays: the subset holds exactly those presets, their
instruments and samples, renders the same notes as the whole font (to float rounding), is
the same bytes every time, and a font whose records point nowhere is refused, not crashed on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from songforge.compose.score import Note, Part, PartRole
from songforge.errors import SoundFontError
from songforge.render import sf2_subset
from songforge.render import soundfont as sf
from songforge.styles.schema import InstrumentSpec, PartMix, SoundSource, SynthKit, SynthPatch

SR = 44100


def part(program: int | None, notes: list[Note]) -> Part:
    if program is None:
        instrument = InstrumentSpec(
            source=SoundSource.SOUNDFONT, gm_bank=128, gm_drum_kit=0, synth_kit=SynthKit.ROCK
        )
        return Part("drums", PartRole.DRUMS, tuple(notes), instrument, PartMix())
    instrument = InstrumentSpec(
        source=SoundSource.SOUNDFONT, gm_program=program, synth=SynthPatch.FINGER_BASS
    )
    return Part(f"program_{program}", PartRole.BASS, tuple(notes), instrument, PartMix())


def loaded(data: bytes) -> object:
    return sf._tsf().SoundFont(data)


def test_the_subset_holds_exactly_the_presets_asked_for(font_path: Path, tmp_path: Path) -> None:
    hydra = sf2_subset.read_hydra(font_path)
    every = sorted(hydra.presets())
    wanted = {every[0], every[len(every) // 2], every[-1]}
    data = sf2_subset.subset(font_path, hydra, wanted)
    (tmp_path / "subset.sf2").write_bytes(data)
    cut = sf2_subset.read_hydra(tmp_path / "subset.sf2")
    assert cut.presets() == wanted
    assert len(cut.records[b"shdr"]) < len(hydra.records[b"shdr"])
    assert len(data) < font_path.stat().st_size
    player: object = loaded(data)
    for bank, preset in every:
        assert (player.get_preset_index(bank, preset) >= 0) == ((bank, preset) in wanted)  # type: ignore[attr-defined]


def test_parts_sound_the_same_from_the_subset_as_from_the_whole_font(font_path: Path) -> None:
    """Bit-identical is not possible: the player's sample positions count from the start of
    the loaded data, so the interpolation rounds differently (~-90 dB)."""
    notes = [Note(i * 0.5, 0.45, 36 + (i * 5) % 24, 60 + i) for i in range(16)]
    parts = [
        part(33, notes),
        part(0, notes),
        part(None, [Note(i * 0.5, 0.25, 36 + i % 3 * 2, 100) for i in range(16)]),
    ]
    song = sf.song_font(font_path, parts)
    assert song.presets is not None and (128, 0) in song.presets
    for each in parts:
        whole = sf.render_soundfont_part(each, 120.0, 9.0, SR, font_path)
        cut = sf.render_soundfont_part(each, 120.0, 9.0, SR, song)
        assert whole is not None and cut is not None
        error = np.mean((whole - cut) ** 2) / np.mean(whole**2)
        assert 10 * np.log10(max(float(error), 1e-30)) < -70.0, each.name


def test_a_songs_subset_is_the_same_bytes_whatever_the_order_of_its_parts(
    font_path: Path,
) -> None:
    hydra = sf2_subset.read_hydra(font_path)
    presets = sorted(hydra.presets())[:4]
    assert sf2_subset.subset(font_path, hydra, presets) == sf2_subset.subset(
        font_path, hydra, list(reversed(presets))
    )
    parts = [part(33, [Note(0.0, 1.0, 40, 100)]), part(None, [Note(0.0, 1.0, 36, 100)])]
    assert sf.song_font(font_path, parts) == sf.song_font(font_path, parts[::-1])


def test_a_part_plays_the_fallback_preset_the_whole_font_would_choose(font_path: Path) -> None:
    """A bank the font lacks falls back to bank 0 in the subset as in the whole font."""
    instrument = InstrumentSpec(
        source=SoundSource.SOUNDFONT, gm_bank=77, gm_program=33, synth=SynthPatch.FINGER_BASS
    )
    odd = Part("bass", PartRole.BASS, (Note(0.0, 1.0, 40, 100),), instrument, PartMix())
    song = sf.song_font(font_path, [odd])
    assert song.presets == {(0, 33)}
    assert sf.program_for(odd, sf.load_soundfont(song)) == sf.Program(0, 33, drums=False)


def test_records_that_point_past_their_tables_are_refused(font_path: Path) -> None:
    hydra = sf2_subset.read_hydra(font_path)
    igen = hydra.records[b"igen"].copy()
    igen["amount"][igen["oper"] == sf2_subset.GEN_SAMPLE_ID] = 65535
    broken = sf2_subset.Hydra(hydra.info, {**hydra.records, b"igen": igen}, hydra.smpl, None)
    with pytest.raises(SoundFontError, match="sample index out of range"):
        sf2_subset.subset(font_path, broken, hydra.presets())


def test_only_the_newest_few_subsets_stay_loaded(
    font_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sf, "_fonts", {})
    presets = sorted(sf2_subset.read_hydra(font_path).presets())
    for preset in presets[: sf._KEPT_SUBSETS + 3]:
        sf.load_soundfont(sf.SongFont(font_path, frozenset([preset])))
    kept = [key[-1] for key in sf._fonts]
    assert kept == [frozenset([p]) for p in presets[3 : sf._KEPT_SUBSETS + 3]]


def test_a_font_whose_presets_cannot_be_cut_out_is_loaded_whole(
    font_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = [Note(0.0, 1.0, 40, 100)]
    bass = part(33, notes)
    song = sf.song_font(font_path, [bass])
    monkeypatch.setattr(sf, "_fonts", {})

    def refuse(*_: object) -> bytes:
        raise SoundFontError("sample 3 lies outside the sample data")

    monkeypatch.setattr(sf2_subset, "subset", refuse)
    audio = sf.render_soundfont_part(bass, 120.0, 2.0, SR, song)
    whole = sf.render_soundfont_part(bass, 120.0, 2.0, SR, font_path)
    assert audio is not None and whole is not None
    assert audio.tobytes() == whole.tobytes()


def test_drum_kits_have_exclusive_classes_and_melodic_presets_do_not(font_path: Path) -> None:
    """The hi-hats of a General MIDI kit cut each other off; a bass or a piano never does."""
    hydra = sf2_subset.read_hydra(font_path)
    assert sf2_subset.has_exclusive_classes(hydra, 128, 0)
    assert not sf2_subset.has_exclusive_classes(hydra, 0, 0)
    assert not sf2_subset.has_exclusive_classes(hydra, 0, 33)
    assert sf2_subset.has_exclusive_classes(hydra, 7, 99)  # missing: assume the worst
