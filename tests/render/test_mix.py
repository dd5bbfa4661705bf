"""Mixing: dry stems become panned, processed stems that sum to a mix with headroom."""

from __future__ import annotations

import math

import numpy as np
import pytest

from songforge.compose.score import (
    Chord,
    ChordEvent,
    ChordQuality,
    Composition,
    Part,
    PartRole,
    Score,
    Section,
    SectionKind,
)
from songforge.errors import RenderError
from songforge.render.mix import RETURNS, delay_seconds, mix, reverb_predelay_ms
from songforge.styles.schema import (
    CompressorSettings,
    DelaySettings,
    EqBand,
    InstrumentSpec,
    MixSettings,
    PartMix,
    ReverbSettings,
    SynthKit,
    SynthPatch,
)
from songforge.theory import Key, Mode, TimeSignature

RATE = 44100
BPM = 120.0
DRY = PartMix(gain_db=0.0, reverb_send=0.0)  # no sends, no effects


def make_score(
    mixes: dict[str, PartMix], bars: int = 4, kick_beats: tuple[float, ...] = ()
) -> Score:
    composition = Composition(
        key=Key(0, Mode.MAJOR),
        tempo_bpm=BPM,
        time_signature=TimeSignature.FOUR_FOUR,
        sections=(Section("verse", SectionKind.VERSE, 0, bars, 0.5),),
        chords=(ChordEvent(0.0, bars * 4.0, Chord(0, ChordQuality.MAJOR)),),
        melody=(),
        ending_beats=0.0,
    )
    parts = tuple(
        Part(
            name,
            PartRole.DRUMS if name == "drums" else PartRole.PAD,
            (),
            InstrumentSpec(synth_kit=SynthKit.TR909)
            if name == "drums"
            else InstrumentSpec(synth=SynthPatch.WARM_PAD),
            part_mix,
        )
        for name, part_mix in mixes.items()
    )
    return Score(composition, "test", BPM, parts, kick_beats=kick_beats)


def tone(n: int, freq_hz: float = 220.0, level: float = 0.3, channels: int = 1) -> np.ndarray:
    t = np.arange(n) / RATE
    x = level * np.sin(2 * np.pi * freq_hz * t)
    if channels == 2:
        return np.stack([x, 0.5 * x]).astype(np.float32)
    return x[np.newaxis, :].astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.square(x, dtype=np.float64))) + 1e-30)


def length(bars: int = 4) -> int:
    return round(bars * 4 * 60 / BPM * RATE)


def full_score() -> tuple[Score, dict[str, np.ndarray]]:
    mixes = {
        "drums": PartMix(gain_db=0, compressor=CompressorSettings(), reverb_send=0.1),
        "bass": PartMix(gain_db=-2, highpass_hz=35, sidechain_db=6),
        "pad": PartMix(
            gain_db=-8, width=0.8, reverb_send=0.4, eq=(EqBand(frequency_hz=300, gain_db=-3),)
        ),
        "lead": PartMix(gain_db=-3, pan=0.2, delay_send=0.3, drive_db=6, reverb_send=0.2),
        "keys": PartMix(gain_db=-7, pan=-0.4, chorus=True, bitcrush=True, lowpass_hz=6000),
    }
    n = length()
    rng = np.random.default_rng(0)
    dry = {
        "drums": (
            rng.standard_normal((1, n)) * np.exp(-((np.arange(n) / RATE * 2) % 1) * 20)
        ).astype(np.float32),
        "bass": tone(n, 55.0, 0.4),
        "pad": tone(n, 330.0, 0.2),
        "lead": tone(n, 660.0, 0.25, channels=2),
        "keys": tone(n, 440.0, 0.2),
    }
    return make_score(mixes, kick_beats=tuple(float(b) for b in range(16))), dry


def test_stems_are_stereo_and_sum_to_the_mix() -> None:
    score, dry = full_score()
    result = mix(dry, score, MixSettings(), RATE)
    assert set(result.stems) == {*dry, RETURNS}
    for stem in result.stems.values():
        assert stem.shape == (2, length()) and stem.dtype == np.float32
    total = np.sum(list(result.stems.values()), axis=0)
    np.testing.assert_allclose(total, result.mix, atol=1e-5)
    assert result.mix.shape == (2, length()) and result.mix.dtype == np.float32


def test_the_mix_peaks_at_minus_6_dbfs() -> None:
    score, dry = full_score()
    result = mix(dry, score, MixSettings(), RATE)
    assert 20 * math.log10(np.abs(result.mix).max()) == pytest.approx(-6.0, abs=0.01)


def test_mixing_is_deterministic_whatever_the_thread_count() -> None:
    score, dry = full_score()
    one = mix(dry, score, MixSettings(), RATE, workers=1)
    two = mix(dry, score, MixSettings(), RATE, workers=2)
    assert one.mix.tobytes() == two.mix.tobytes()


def test_without_stems_only_the_mix_is_returned_and_it_is_the_same() -> None:
    score, dry = full_score()
    kept = mix(dry, score, MixSettings(), RATE)
    lean = mix(dry, score, MixSettings(), RATE, keep_stems=False)
    assert lean.stems == {}
    np.testing.assert_array_equal(kept.mix, lean.mix)


def test_the_dry_stems_are_left_untouched() -> None:
    score, dry = full_score()
    before = {name: audio.copy() for name, audio in dry.items()}
    mix(dry, score, MixSettings(), RATE)
    for name, audio in dry.items():
        np.testing.assert_array_equal(audio, before[name])


def test_gain_db_sets_levels_relative_to_the_other_parts() -> None:
    n = length()
    score = make_score({"a": DRY, "b": DRY.model_copy(update={"gain_db": -6.0})})
    # the renderer's levels do not matter: each part is brought to a reference level first
    result = mix({"a": tone(n, 220, 0.5), "b": tone(n, 330, 0.05)}, score, MixSettings(), RATE)
    assert rms_db(result.stems["b"]) - rms_db(result.stems["a"]) == pytest.approx(-6.0, abs=0.1)


def test_constant_power_pan() -> None:
    n = length()
    score = make_score(
        {
            "left": DRY.model_copy(update={"pan": -1.0}),
            "centre": DRY,
            "right": DRY.model_copy(update={"pan": 1.0}),
        }
    )
    dry = {name: tone(n, 220 * (i + 1)) for i, name in enumerate(["left", "centre", "right"])}
    stems = mix(dry, score, MixSettings(), RATE).stems
    assert np.abs(stems["left"][1]).max() < 1e-6 and np.abs(stems["left"][0]).max() > 0.01
    assert np.abs(stems["right"][0]).max() < 1e-6
    np.testing.assert_allclose(stems["centre"][0], stems["centre"][1])
    # equal power whichever way it points
    assert rms_db(stems["left"]) == pytest.approx(rms_db(stems["centre"]), abs=0.05)


def test_width_spreads_a_mono_source_and_folds_back_to_mono() -> None:
    n = length()
    rng = np.random.default_rng(2)
    score = make_score({"pad": DRY.model_copy(update={"width": 1.0})})
    dry = {"pad": (0.2 * rng.standard_normal((1, n))).astype(np.float32)}
    stem = mix(dry, score, MixSettings(), RATE).stems["pad"]
    correlation = np.corrcoef(stem[0], stem[1])[0, 1]
    assert correlation < 0.2  # wide
    side_free = stem[0] + stem[1]  # the delayed side cancels in mono
    assert np.corrcoef(side_free, dry["pad"][0])[0, 1] > 0.99


def test_sidechain_ducks_on_every_kick_and_recovers() -> None:
    n = length()
    kicks = (0.0, 1.0, 2.0, 3.0, 5.0, 6.5, 9.25)  # on and off the beat
    score = make_score({"bass": DRY.model_copy(update={"sidechain_db": 8.0})}, kick_beats=kicks)
    steady_input = np.full((1, n), 0.25, np.float32)  # constant: the stem is the gain curve
    stem = mix({"bass": steady_input}, score, MixSettings(sidechain_release_ms=150), RATE)
    gain = stem.stems["bass"][0]
    beat = 60 / BPM * RATE
    steady = gain[round(8 * beat)]  # no kick for a while: undimmed
    for kick in kicks:
        ducked = gain[round(kick * beat)]
        assert 20 * math.log10(ducked / steady) == pytest.approx(-8.0, abs=0.05), kick
    release = round(0.15 * RATE)
    assert gain[round(6.5 * beat) + release] == pytest.approx(steady, rel=1e-4)
    assert gain[round(6.5 * beat) + release // 2] < steady


def impulse_score(settings_mix: PartMix) -> tuple[Score, dict[str, np.ndarray]]:
    n = length()
    click = np.zeros((1, n), np.float32)
    click[0, RATE // 2 : RATE // 2 + 64] = np.hanning(64)
    return make_score({"click": settings_mix}), {"click": click}


def test_reverb_rings_after_the_part_and_starts_after_its_pre_delay() -> None:
    score, dry = impulse_score(DRY.model_copy(update={"reverb_send": 1.0}))
    returns = mix(dry, score, MixSettings(), RATE).stems[RETURNS]
    predelay = round(reverb_predelay_ms(ReverbSettings(), BPM) * RATE / 1000)
    assert predelay == round(60000 / BPM / 16 * RATE / 1000)
    onset = RATE // 2
    assert np.abs(returns[:, : onset + predelay]).max() < 1e-6
    assert np.abs(returns[:, onset + predelay + 2000 : onset + RATE]).max() > 1e-3
    assert not np.allclose(returns[0], returns[1])  # a stereo return


def test_gated_reverb_is_cut_short() -> None:
    score, dry = impulse_score(DRY.model_copy(update={"reverb_send": 1.0}))
    plain = mix(dry, score, MixSettings(), RATE).stems[RETURNS]
    gated = mix(dry, score, MixSettings(reverb=ReverbSettings(gated=True)), RATE).stems[RETURNS]
    late = slice(RATE // 2 + round(0.45 * RATE), RATE // 2 + RATE)
    assert rms_db(gated[:, late]) < rms_db(plain[:, late]) - 30


def test_delay_echoes_on_the_tempo_synced_note() -> None:
    score, dry = impulse_score(DRY.model_copy(update={"delay_send": 1.0}))
    settings = MixSettings(delay=DelaySettings(note="quarter", feedback=0.0))
    returns = mix(dry, score, settings, RATE).stems[RETURNS]
    assert delay_seconds(settings.delay, BPM) == pytest.approx(0.5)
    echo = int(np.argmax(np.abs(returns[0])))
    assert abs(echo - (RATE // 2 + 32 + RATE // 2)) < 100


def test_drive_adds_harmonics() -> None:
    n = length()
    clean = mix({"a": tone(n, 220)}, make_score({"a": DRY}), MixSettings(), RATE).stems["a"]
    score = make_score({"a": DRY.model_copy(update={"drive_db": 18.0})})
    driven = mix({"a": tone(n, 220)}, score, MixSettings(), RATE).stems["a"]

    def third_harmonic_share(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x[0, :RATE]))
        return float(spectrum[660] / spectrum[220])

    assert third_harmonic_share(driven) > 100 * third_harmonic_share(clean)


def test_a_part_without_a_dry_stem_is_skipped() -> None:
    score, dry = full_score()
    del dry["keys"]
    result = mix(dry, score, MixSettings(), RATE)
    assert "keys" not in result.stems and "bass" in result.stems


def test_a_silent_part_contributes_silence() -> None:
    n = length()
    score = make_score({"a": DRY, "quiet": DRY})
    result = mix({"a": tone(n), "quiet": np.zeros((1, n), np.float32)}, score, MixSettings(), RATE)
    assert not result.stems["quiet"].any()


def test_nothing_to_mix_gives_silence_of_the_score_length() -> None:
    score = make_score({"a": DRY})
    result = mix({}, score, MixSettings(), RATE)
    assert result.mix.shape == (2, length()) and not result.mix.any()


@pytest.mark.parametrize(
    ("dry", "message"),
    [
        ({"ghost": np.zeros((1, 100), np.float32)}, "not in the score"),
        ({"a": np.zeros((1, 100), np.float32), "b": np.zeros((1, 99), np.float32)}, "length"),
        ({"a": np.zeros((3, 100), np.float32)}, "shaped"),
    ],
)
def test_malformed_dry_stems_are_render_errors(dry: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        mix(dry, make_score({"a": DRY, "b": DRY}), MixSettings(), RATE)


def test_the_freed_send_buses_are_handed_on_as_a_spare_stereo_buffer() -> None:
    score, dry = full_score()
    result = mix(dry, score, MixSettings(), RATE, keep_stems=False)
    assert result.spare is not None
    assert result.spare.shape == result.mix.shape and result.spare.dtype == np.float32
    assert not np.shares_memory(result.spare, result.mix)


def test_without_sends_there_is_no_spare_buffer() -> None:
    score, dry = impulse_score(DRY)
    assert mix(dry, score, MixSettings(), RATE).spare is None
