"""SoundFonts are found where musicians keep them, refused clearly when broken, and played in time.

Tests that play a real font skip when none is installed, unless SONGFORGE_REQUIRE_SOUNDFONT=1
(as in CI), where a missing font is a failure."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from songforge.compose.drums import Drum
from songforge.compose.score import Note, Part, PartRole
from songforge.errors import SoundFontError
from songforge.render import sf2_subset
from songforge.render import soundfont as sf
from songforge.styles.schema import InstrumentSpec, PartMix, SoundSource, SynthKit, SynthPatch

SR = 44100


def sf_part(name: str, notes: list[Note], *, drums: bool = False, program: int = 33) -> Part:
    if drums:
        instrument = InstrumentSpec(
            source=SoundSource.SOUNDFONT, gm_bank=128, gm_drum_kit=0, synth_kit=SynthKit.ROCK
        )
        return Part(name, PartRole.DRUMS, tuple(notes), instrument, PartMix())
    instrument = InstrumentSpec(
        source=SoundSource.SOUNDFONT, gm_program=program, synth=SynthPatch.FINGER_BASS
    )
    return Part(name, PartRole.BASS, tuple(notes), instrument, PartMix())


def onset_s(audio: np.ndarray, threshold: float = 0.01) -> float:
    level = np.max(np.abs(audio), axis=0)
    return float(np.argmax(level > threshold * level.max()) / SR)


# --- finding and checking -----------------------------------------------------------------


def test_a_missing_explicit_path_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(SoundFontError, match=r"not found.*nowhere\.sf2"):
        sf.find_soundfont(missing)


def test_a_text_file_named_sf2_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.sf2"
    fake.write_text("this is not a soundfont\n")
    with pytest.raises(SoundFontError, match="not a SoundFont"):
        sf.find_soundfont(fake)


def test_a_truncated_soundfont_is_refused(tmp_path: Path) -> None:
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(b"RIFF" + (100_000).to_bytes(4, "little") + b"sfbk" + b"LIST" + bytes(200))
    with pytest.raises(SoundFontError, match="truncated"):
        sf.find_soundfont(cut)


def test_a_truncated_copy_of_a_real_font_is_refused(tmp_path: Path, font_path: Path) -> None:
    cut = tmp_path / "half.sf2"
    with font_path.open("rb") as handle:
        cut.write_bytes(handle.read(200_000))
    with pytest.raises(SoundFontError, match="truncated"):
        sf.find_soundfont(cut)


def test_a_well_formed_header_with_a_garbage_body_is_refused(tmp_path: Path) -> None:
    if not sf.tinysoundfont_available():
        pytest.skip("tinysoundfont is not installed")
    body = b"sfbk" + bytes(64)
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    with pytest.raises(SoundFontError, match=r"is missing its phdr.*junk\.sf2"):
        sf.find_soundfont(junk)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SoundFontError, match="directory"):
        sf.find_soundfont(tmp_path)


def test_the_environment_variable_names_the_font(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, font_path: Path
) -> None:
    monkeypatch.setenv(sf.ENV_VAR, str(font_path))
    assert sf.find_soundfont() == font_path
    monkeypatch.setenv(sf.ENV_VAR, str(tmp_path / "gone.sf2"))
    with pytest.raises(SoundFontError, match=r"gone\.sf2"):
        sf.find_soundfont()


def test_an_explicit_path_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, font_path: Path
) -> None:
    monkeypatch.setenv(sf.ENV_VAR, str(tmp_path / "gone.sf2"))
    assert sf.find_soundfont(font_path) == font_path


def test_standard_locations_skip_broken_fonts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, font_path: Path
) -> None:
    broken = tmp_path / "a-broken.sf2"
    broken.write_text("nope")
    good = tmp_path / "b-good.sf2"
    shutil.copyfile(font_path, good)
    monkeypatch.delenv(sf.ENV_VAR, raising=False)
    monkeypatch.setattr(sf, "STANDARD_LOCATIONS", (str(tmp_path / "*.sf2"),))
    assert sf.find_soundfont() == good


def test_no_font_anywhere_means_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(sf.ENV_VAR, raising=False)
    monkeypatch.setattr(
        sf, "STANDARD_LOCATIONS", (str(tmp_path / "missing.sf2"), str(tmp_path / "*.sf2"))
    )
    assert sf.find_soundfont() is None


def test_a_font_is_loaded_once_per_process(font_path: Path) -> None:
    assert sf.load_soundfont(font_path) is sf.load_soundfont(font_path)


# --- choosing presets ---------------------------------------------------------------------


class _FontWith:
    """A stand-in exposing only the presets it is given."""

    def __init__(self, *presets: tuple[int, int]) -> None:
        self.presets = set(presets)

    def get_preset_index(self, bank: int, preset: int) -> int:
        return 0 if (bank, preset) in self.presets else -1


def test_programs_fall_back_to_bank_zero_then_to_the_synth() -> None:
    part = sf_part("bass", [])
    assert sf.program_for(part, _FontWith((0, 33))) == sf.Program(0, 33, drums=False)
    assert sf.program_for(part, _FontWith((0, 0))) is None


def test_drum_kits_fall_back_to_the_standard_kit() -> None:
    part = sf_part("drums", [], drums=True)
    program = sf.program_for(part, _FontWith((128, 0)))
    assert program == sf.Program(128, 0, drums=True)
    assert program.channel == sf.DRUM_CHANNEL
    none: Any = _FontWith()
    assert sf.program_for(part, none) is None


# --- playing ------------------------------------------------------------------------------


def test_a_drum_and_bass_part_play_in_stereo_with_onsets_in_place(font_path: Path) -> None:
    tempo_bpm = 120.0
    drums = sf_part(
        "drums", [Note(0.0, 0.5, Drum.KICK, 110), Note(2.0, 0.5, Drum.SNARE, 110)], drums=True
    )
    bass = sf_part("bass", [Note(1.0, 1.0, 40, 100)])
    for part, first_beat in ((drums, 0.0), (bass, 1.0)):
        audio = sf.render_soundfont_part(part, tempo_bpm, 2.0, SR, font_path)
        assert audio is not None
        assert audio.shape == (2, 2 * SR)
        assert audio.dtype == np.float32
        assert np.all(np.isfinite(audio))
        assert float(np.max(np.abs(audio))) > 0.01
        assert abs(onset_s(audio) - first_beat * 0.5) < 0.01
    snare_part = sf_part("drums", [Note(2.0, 0.5, Drum.SNARE, 110)], drums=True)
    snare = sf.render_soundfont_part(snare_part, tempo_bpm, 2.0, SR, font_path)
    assert snare is not None
    assert abs(onset_s(snare) - 1.0) < 0.01


def test_the_font_renders_every_length_exactly(font_path: Path) -> None:
    part = sf_part("bass", [Note(0.0, 8.0, 40, 100)])
    for sample_rate_hz in (44100, 48000):
        audio = sf.render_soundfont_part(part, 120.0, 1.23456, sample_rate_hz, font_path)
        assert audio is not None
        assert audio.shape == (2, round(1.23456 * sample_rate_hz))


def test_the_font_renders_the_same_bytes_every_time(font_path: Path) -> None:
    part = sf_part("bass", [Note(i * 0.5, 0.4, 36 + i % 12, 70 + i) for i in range(24)])
    first = sf.render_soundfont_part(part, 110.0, 7.0, SR, font_path)
    second = sf.render_soundfont_part(part, 110.0, 7.0, SR, font_path)
    assert first is not None and second is not None
    assert first.tobytes() == second.tobytes()


def test_a_note_sustains_until_its_note_off(font_path: Path) -> None:
    organ = sf_part("organ", [Note(0.0, 2.0, 60, 100)], program=16)
    audio = sf.render_soundfont_part(organ, 120.0, 2.0, SR, font_path)
    assert audio is not None

    def rms(start_s: float, end_s: float) -> float:
        return float(np.sqrt(np.mean(np.square(audio[:, int(start_s * SR) : int(end_s * SR)]))))

    assert rms(0.7, 0.9) > 0.3 * rms(0.1, 0.3), "held while the key is down"
    assert rms(1.6, 2.0) < 0.1 * rms(0.7, 0.9), "released after the note ends"


# --- centred presets: rendered once, in mono -----------------------------------------------


def _chord_run(program: int) -> Part:
    notes = [Note(i * 0.25, 0.6, 40 + (i * 7) % 36, 60 + (i * 13) % 60) for i in range(24)]
    return sf_part(f"p{program}", notes, program=program)


def test_a_centred_preset_sounds_the_same_in_both_channels_and_renders_once_in_mono(
    font_path: Path,
) -> None:
    """Every preset the font's data places at the centre gives two identical channels, and its
    mono rendering is either of them (times √2, the player's pan law) to float rounding."""
    hydra = sf2_subset.read_hydra(font_path)
    centred = [p for b, p in sorted(hydra.presets()) if b == 0 and p < 128]
    centred = [p for p in centred if sf2_subset.is_centred(hydra, 0, p)]
    assert len(centred) >= 20  # GM fonts keep most melodic presets at the centre
    for program in centred:
        part = _chord_run(program)
        assert sf.plays_centred(part, font_path)
        stereo = sf.render_soundfont_part(part, 120.0, 4.0, SR, font_path)
        mono = sf.render_soundfont_part(part, 120.0, 4.0, SR, font_path, mono=True)
        assert stereo is not None and mono is not None
        assert mono.shape == (1, 4 * SR)
        assert stereo[0].tobytes() == stereo[1].tobytes(), program
        scale = np.float32(np.sqrt(0.5))
        peak = float(np.abs(stereo).max())
        assert peak > 0.0, program
        assert float(np.abs(mono[0] * scale - stereo[0]).max()) < 1e-5 * peak, program


def test_a_panned_preset_is_not_centred(font_path: Path) -> None:
    """The drum kit spreads its pieces across the stereo field: it keeps two channels."""
    kit = sf_part("drums", [Note(i * 0.5, 0.4, 35 + i, 100) for i in range(24)], drums=True)
    assert not sf.plays_centred(kit, font_path)
    audio = sf.render_soundfont_part(kit, 120.0, 6.0, SR, font_path)
    assert audio is not None
    assert audio[0].tobytes() != audio[1].tobytes()


def test_any_pan_in_a_preset_or_its_instruments_makes_it_not_centred(font_path: Path) -> None:
    hydra = sf2_subset.read_hydra(font_path)
    program = next(
        p for b, p in sorted(hydra.presets()) if b == 0 and sf2_subset.is_centred(hydra, 0, p)
    )
    records = hydra.records
    phdr = records[b"phdr"]
    index = int(np.flatnonzero((phdr["bank"][:-1] == 0) & (phdr["preset"][:-1] == program))[0])
    first_gen = int(records[b"pbag"]["gen"][int(phdr["bag"][index])])
    instrument = int(
        records[b"pgen"]["amount"][
            int(
                np.flatnonzero(records[b"pgen"]["oper"][first_gen:] == sf2_subset.GEN_INSTRUMENT)[0]
            )
            + first_gen
        ]
    )
    inst_gen = int(records[b"ibag"]["gen"][int(records[b"inst"]["bag"][instrument])])

    def with_records(**changed: np.ndarray) -> sf2_subset.Hydra:
        return dataclasses.replace(
            hydra, records={**records, **{k.encode(): v for k, v in changed.items()}}
        )

    panned_preset = records[b"pgen"].copy()
    panned_preset[first_gen] = (sf2_subset.GEN_PAN, 250)
    assert not sf2_subset.is_centred(with_records(pgen=panned_preset), 0, program)
    panned_instrument = records[b"igen"].copy()
    panned_instrument[inst_gen] = (sf2_subset.GEN_PAN, (-250) & 0xFFFF)
    assert not sf2_subset.is_centred(with_records(igen=panned_instrument), 0, program)
    modulated = records[b"imod"].copy()
    if len(modulated) > 1:
        first_mod = int(records[b"ibag"]["mod"][int(records[b"inst"]["bag"][instrument])])
        stop_mod = int(records[b"ibag"]["mod"][int(records[b"inst"]["bag"][instrument + 1])])
        if stop_mod > first_mod:
            modulated[first_mod]["dest"] = sf2_subset.GEN_PAN
            assert not sf2_subset.is_centred(with_records(imod=modulated), 0, program)
    assert not sf2_subset.is_centred(hydra, 0, 999)  # no such preset: not centred
