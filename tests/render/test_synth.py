"""The built-in synthesizer plays every patch and every kit: audible, finite, in tune, on time."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.compose.drums import Drum
from songforge.compose.score import Note, Part, PartRole
from songforge.render.synth import (
    KITS,
    PATCHES,
    UNPITCHED_PATCHES,
    VOICES,
    drum_for_note,
    drum_hit,
    render_note,
    render_synth_part,
)
from songforge.render.synth.noise import RISER_MIN_BEATS, WASH_MIN_BEATS
from songforge.styles.schema import InstrumentSpec, PartMix, SynthKit, SynthPatch
from songforge.theory import midi_to_hz

SR = 44100
PITCHED = [patch for patch in SynthPatch if patch not in UNPITCHED_PATCHES]


def _rng(*words: object) -> np.random.Generator:
    return np.random.default_rng([hash(str(w)) % 2**32 for w in words] or [0])


def _note(patch: SynthPatch, pitch: int, hold_s: float, velocity: float = 0.8) -> np.ndarray:
    return render_note(patch, pitch, int(hold_s * SR), velocity, SR, np.random.default_rng(7))


def fundamental_hz(audio: np.ndarray, sample_rate_hz: int) -> float:
    """The lowest strong spectral peak (within 20 dB of the loudest), refined to the power
    centroid of the half-semitone around it (so vibrato and detuned unisons read as their
    centre, and a bell's louder upper partials do not hide its fundamental)."""
    segment = audio.astype(np.float64) - float(np.mean(audio))
    size = 4 * len(segment)
    power = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), size)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate_hz)
    low = int(np.searchsorted(freqs, 25.0))
    loudest = power[low:].max()
    peaks = [
        i
        for i in range(low + 1, len(power) - 1)
        if power[i] >= 0.01 * loudest and power[i] >= power[i - 1] and power[i] > power[i + 1]
    ]
    freq = float(freqs[peaks[0]])
    for _ in range(4):
        band = (freqs >= freq * 2 ** (-0.5 / 12)) & (freqs <= freq * 2 ** (0.5 / 12))
        freq = float(np.sum(freqs[band] * power[band]) / np.sum(power[band]))
    return freq


def cents_between(measured_hz: float, expected_hz: float) -> float:
    return float(1200.0 * np.log2(measured_hz / expected_hz))


def onset_s(audio: np.ndarray, sample_rate_hz: int, threshold: float = 1e-3) -> float:
    """Time of the first sample above ``threshold`` × the peak."""
    level = np.abs(audio)
    return float(np.argmax(level > threshold * level.max()) / sample_rate_hz)


def synth_part(
    notes: list[Note], patch: SynthPatch | None = None, kit: SynthKit | None = None, name: str = "p"
) -> Part:
    role = PartRole.DRUMS if kit is not None else PartRole.LEAD
    return Part(name, role, tuple(notes), InstrumentSpec(synth=patch, synth_kit=kit), PartMix())


# --- every patch --------------------------------------------------------------------------


def test_the_registry_implements_every_patch_and_every_drum() -> None:
    assert set(PATCHES) == set(SynthPatch)
    assert set(VOICES) == set(Drum)
    assert set(KITS) == set(SynthKit)


@pytest.mark.parametrize("patch", list(SynthPatch), ids=lambda p: p.value)
def test_every_patch_renders_audible_finite_bounded_audio(patch: SynthPatch) -> None:
    hold_s = 0.5
    rng = np.random.default_rng(3)
    from songforge.render.synth.voice import NoteSpec

    raw = PATCHES[patch](NoteSpec(57, int(hold_s * SR), 0.8, SR), rng)
    assert raw.dtype == np.float32
    assert np.all(np.isfinite(raw))
    assert len(raw) >= int(hold_s * SR)
    assert float(np.max(np.abs(raw))) <= 1.0
    rms = float(np.sqrt(np.mean(np.square(raw[: int(hold_s * SR)], dtype=np.float64))))
    assert rms > 0.01, f"{patch.value} is nearly silent (rms {rms:.4f})"
    assert abs(float(raw[-1])) < 1e-3, "a note must end in silence so cached copies never click"


@pytest.mark.parametrize("patch", PITCHED, ids=lambda p: p.value)
def test_pitched_patches_sound_at_the_notes_pitch(patch: SynthPatch) -> None:
    pitches = (33, 45) if "bass" in patch.value else (45, 57, 69)
    for pitch in pitches:
        audio = _note(patch, pitch, 1.2)
        measured = fundamental_hz(audio[int(0.1 * SR) : int(0.1 * SR) + 32768], SR)
        off = cents_between(measured, midi_to_hz(pitch))
        assert abs(off) < 25.0, (
            f"{patch.value} at MIDI {pitch}: {measured:.1f} Hz is {off:+.0f} cents off"
        )


def test_a_wrong_note_would_be_caught_by_the_pitch_measure() -> None:
    audio = _note(SynthPatch.PIANO, 57, 1.0)
    measured = fundamental_hz(audio[:32768], SR)
    assert abs(cents_between(measured, midi_to_hz(58))) > 75.0


@pytest.mark.parametrize("patch", [SynthPatch.ORGAN, SynthPatch.WARM_PAD, SynthPatch.SAW_LEAD])
def test_sustained_patches_hold_for_the_note_then_release(patch: SynthPatch) -> None:
    hold_s = 1.5
    audio = _note(patch, 60, hold_s)

    def rms(start_s: float, end_s: float) -> float:
        window = audio[int(start_s * SR) : int(end_s * SR)].astype(np.float64)
        return float(np.sqrt(np.mean(np.square(window))))

    assert rms(1.3, 1.45) > 0.5 * rms(0.8, 0.95), "level drops while the key is still held"
    assert len(audio) > hold_s * SR, "a release tail follows the note"
    assert rms(len(audio) / SR - 0.02, len(audio) / SR) < 0.05 * rms(1.3, 1.45)


def test_plucked_and_struck_notes_are_damped_when_released() -> None:
    short = _note(SynthPatch.ACOUSTIC_GUITAR, 52, 0.2)
    long = _note(SynthPatch.ACOUSTIC_GUITAR, 52, 1.5)
    assert len(short) < 0.5 * SR
    assert float(np.max(np.abs(long[int(0.6 * SR) : int(0.7 * SR)]))) > 0.05


def high_share(audio: np.ndarray, above_hz: float) -> float:
    """The share of a sound's power above ``above_hz``: a measure of brightness."""
    power = np.abs(np.fft.rfft(audio[:16384].astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(16384, 1.0 / SR)
    return float(power[freqs > above_hz].sum() / power.sum())


@pytest.mark.parametrize(
    "patch",
    [
        SynthPatch.PIANO,
        SynthPatch.ACID_BASS,
        SynthPatch.SAW_LEAD,
        SynthPatch.BRASS,
        SynthPatch.CLEAN_GUITAR,
    ],
    ids=lambda p: p.value,
)
def test_velocity_brightens_the_tone(patch: SynthPatch) -> None:
    soft = high_share(_note(patch, 48, 0.5, velocity=0.2), 1500.0)
    hard = high_share(_note(patch, 48, 0.5, velocity=1.0), 1500.0)
    assert hard > 1.3 * soft, f"{patch.value}: {soft:.4f} soft vs {hard:.4f} hard above 1.5 kHz"


def test_distorted_guitar_sustains_where_a_clean_guitar_decays() -> None:
    def sustain(audio: np.ndarray) -> float:
        """Level late in the note against level just after the attack."""

        def rms(t0: float, t1: float) -> float:
            window = audio[int(t0 * SR) : int(t1 * SR)].astype(np.float64)
            return float(np.sqrt(np.mean(window**2)))

        return rms(0.6, 0.8) / rms(0.02, 0.2)

    distorted = sustain(_note(SynthPatch.DISTORTED_GUITAR, 40, 0.8))
    clean = sustain(_note(SynthPatch.CLEAN_GUITAR, 40, 0.8))
    assert distorted > 0.7 > 0.5 > clean


def test_a_metal_palm_muted_chug_keeps_its_fizz_and_body_through_the_high_gain_stack() -> None:
    """A short low note is palm-muted; the metal stack still fills it with fizz above 4 kHz
    and holds its level to the end, where the crunch amp gives a dark, decaying thud."""

    def fizz(audio: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
        return float(power[np.fft.rfftfreq(len(audio), 1.0 / SR) > 4000.0].sum() / power.sum())

    def body(audio: np.ndarray) -> float:
        def rms(t0: float, t1: float) -> float:
            return float(
                np.sqrt(np.mean(audio[int(t0 * SR) : int(t1 * SR)].astype(np.float64) ** 2))
            )

        return rms(0.15, 0.2) / rms(0.01, 0.05)

    metal = _note(SynthPatch.DISTORTED_GUITAR, 40, 0.2)
    crunch = _note(SynthPatch.OVERDRIVEN_GUITAR, 40, 0.2)
    assert fizz(metal) > 5 * fizz(crunch)
    assert body(metal) > 0.9 > 0.6 > body(crunch)


def _fx(hold_s: float, seconds_per_beat: float) -> np.ndarray:
    rng = np.random.default_rng(5)
    return render_note(SynthPatch.NOISE_FX, 60, int(hold_s * SR), 0.8, SR, rng, seconds_per_beat)


def _centroid_hz(window: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(window.astype(np.float64))) ** 2
    return float(np.sum(np.fft.rfftfreq(len(window), 1.0 / SR) * power) / np.sum(power))


def test_a_noise_fx_note_of_a_bar_or_more_is_a_riser_that_swells_to_its_end() -> None:
    hold_s = 2.0
    assert hold_s / 0.5 >= RISER_MIN_BEATS
    audio = _fx(hold_s, 0.5)
    quarter = int(hold_s * SR / 4)
    first, last = audio[:quarter].astype(np.float64), audio[3 * quarter : 4 * quarter]
    assert np.sqrt(np.mean(last.astype(np.float64) ** 2)) > 4 * np.sqrt(np.mean(first**2))
    assert _centroid_hz(last) > 2 * _centroid_hz(first), "the sweep rises"
    assert len(audio) < (hold_s + 0.2) * SR, "a riser stops at its note's end"


@pytest.mark.parametrize("seconds_per_beat", [0.25, 1.0])
def test_a_noise_fx_note_shorter_than_a_bar_is_an_impact_that_rings_past_it(
    seconds_per_beat: float,
) -> None:
    audio = _fx(2 * seconds_per_beat, seconds_per_beat)  # the composer's two-beat impact
    assert onset_s(audio, SR) < 0.003
    assert len(audio) > 2 * seconds_per_beat * SR + 1.5 * SR
    assert float(np.max(np.abs(audio[: int(0.05 * SR)]))) > 0.5


def test_a_noise_fx_note_longer_than_any_riser_is_a_steady_wash() -> None:
    hold_s = 60.0
    assert hold_s / 0.5 >= WASH_MIN_BEATS
    audio = _fx(hold_s, 0.5)
    blocks = audio[5 * SR : 55 * SR].reshape(10, -1).astype(np.float64)
    levels_db = 10 * np.log10(np.mean(blocks**2, axis=1))
    assert levels_db.max() - levels_db.min() < 3.0, "a bed neither swells nor fades mid-note"
    assert _centroid_hz(blocks[-1]) < 2 * _centroid_hz(blocks[0]), "and does not sweep up"


def test_a_long_vinyl_note_is_a_crackle_bed_throughout() -> None:
    audio = _note(SynthPatch.VINYL, 60, 6.0)
    blocks = audio[: 6 * SR].reshape(12, -1)
    assert np.all(np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1)) > 0.005)
    clicks = np.abs(audio) > 0.3 * np.abs(audio).max()
    assert np.count_nonzero(np.diff(clicks.astype(np.int8)) == 1) > 10, "crackle has many clicks"


# --- every kit ----------------------------------------------------------------------------


@pytest.mark.parametrize("kit", list(SynthKit), ids=lambda k: k.value)
def test_every_drum_sounds_in_every_kit(kit: SynthKit) -> None:
    for drum in Drum:
        hit = drum_hit(kit, drum, 0.8, SR, np.random.default_rng(int(drum)))
        assert hit.dtype == np.float32
        assert np.all(np.isfinite(hit)), f"{kit.value}/{drum.name} is not finite"
        peak = float(np.max(np.abs(hit)))
        assert 0.1 < peak <= 1.0, f"{kit.value}/{drum.name} peak {peak:.3f}"
        assert onset_s(hit, SR, 0.05) < 0.02, f"{kit.value}/{drum.name} starts late"
        assert abs(float(hit[-1])) < 1e-3


def test_kits_differ_in_character() -> None:
    def tail_s(hit: np.ndarray) -> float:
        loud = np.flatnonzero(np.abs(hit) > 0.01 * np.abs(hit).max())
        return float(loud[-1] / SR)

    kick_808 = drum_hit(SynthKit.TR808, Drum.KICK, 0.8, SR, _rng("808"))
    kick_909 = drum_hit(SynthKit.TR909, Drum.KICK, 0.8, SR, _rng("909"))
    assert tail_s(kick_808) > 1.5 * tail_s(kick_909), "the 808 kick booms longer"

    def high_share(hit: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(hit.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(hit), 1.0 / SR)
        return float(power[freqs > 4000].sum() / power.sum())

    lofi = drum_hit(SynthKit.LOFI, Drum.SNARE, 0.8, SR, _rng("s"))
    acoustic = drum_hit(SynthKit.ACOUSTIC, Drum.SNARE, 0.8, SR, _rng("s"))
    assert high_share(lofi) < 0.5 * high_share(acoustic), "the lo-fi kit is darker"


def test_unknown_gm_drum_notes_play_the_nearest_drum() -> None:
    assert drum_for_note(Drum.SNARE) is Drum.SNARE
    assert drum_for_note(40) in (Drum.CLAP, Drum.TIMPANI)  # GM electric snare
    assert drum_for_note(0) is Drum.VINYL_HIT
    assert drum_for_note(127) is Drum.SHAKER


# --- whole parts --------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate_hz", [44100, 48000])
def test_a_part_renders_to_exactly_the_requested_length(sample_rate_hz: int) -> None:
    total_s = 2.000013
    part = synth_part([Note(0.0, 1.0, 60, 100), Note(3.5, 4.0, 64, 90)], SynthPatch.PIANO)
    audio = render_synth_part(part, 120.0, total_s, sample_rate_hz)
    assert audio.shape == (1, round(total_s * sample_rate_hz))
    assert audio.dtype == np.float32


@pytest.mark.parametrize(
    "patch", [SynthPatch.PIANO, SynthPatch.WARM_PAD, SynthPatch.PLUCK, SynthPatch.VINYL]
)
def test_a_note_starts_at_its_beat(patch: SynthPatch) -> None:
    tempo_bpm = 100.0
    start_beat = 2.5
    part = synth_part([Note(start_beat, 1.0, 60, 100)], patch)
    audio = render_synth_part(part, tempo_bpm, 4.0, SR)[0]
    expected_s = start_beat * 60.0 / tempo_bpm
    assert not np.any(audio[: int(expected_s * SR)]), "nothing sounds before the note"
    assert abs(onset_s(audio, SR) - expected_s) < 0.005


@pytest.mark.parametrize("kit", [SynthKit.ROCK, SynthKit.TR808, SynthKit.BRUSH])
def test_drum_hits_land_on_their_beats(kit: SynthKit) -> None:
    tempo_bpm = 120.0
    beats = [0.0, 1.0, 2.5]
    drums = [Drum.KICK, Drum.SNARE, Drum.HAT_CLOSED]
    parts = [
        synth_part([Note(b, 0.25, d, 110)], kit=kit) for b, d in zip(beats, drums, strict=True)
    ]
    for part, beat in zip(parts, beats, strict=True):
        audio = render_synth_part(part, tempo_bpm, 2.0, SR)[0]
        assert abs(onset_s(audio, SR, 0.01) - beat * 0.5) < 0.005


def test_tails_past_the_end_are_cut_at_the_buffer_end() -> None:
    part = synth_part([Note(1.5, 4.0, 48, 100)], SynthPatch.WARM_PAD)
    audio = render_synth_part(part, 120.0, 1.0, SR)
    assert audio.shape == (1, SR)
    assert np.all(np.isfinite(audio))
    assert float(np.max(np.abs(audio[0, int(0.76 * SR) :]))) > 0.0


def test_an_open_hat_is_choked_by_the_next_closed_hat() -> None:
    open_alone = synth_part([Note(0.0, 0.5, Drum.HAT_OPEN, 100)], kit=SynthKit.ACOUSTIC)
    choked = synth_part(
        [Note(0.0, 0.5, Drum.HAT_OPEN, 100), Note(0.5, 0.25, Drum.HAT_CLOSED, 1)],
        kit=SynthKit.ACOUSTIC,
    )
    free = render_synth_part(open_alone, 120.0, 1.0, SR)[0]
    cut = render_synth_part(choked, 120.0, 1.0, SR)[0]
    late = slice(int(0.3 * SR), int(0.35 * SR))
    assert float(np.max(np.abs(free[late]))) > 0.01
    assert float(np.max(np.abs(cut[late]))) < 0.1 * float(np.max(np.abs(free[late])))


def test_level_follows_velocity() -> None:
    loud = render_synth_part(synth_part([Note(0, 1, 60, 120)], SynthPatch.ORGAN), 120.0, 1.0, SR)
    soft = render_synth_part(synth_part([Note(0, 1, 60, 60)], SynthPatch.ORGAN), 120.0, 1.0, SR)
    assert float(np.max(np.abs(soft))) < 0.5 * float(np.max(np.abs(loud)))


def test_the_same_part_renders_to_the_same_bytes() -> None:
    notes = [Note(i * 0.5, 0.4, 40 + (i * 7) % 24, 60 + i % 60) for i in range(40)]
    pitched = synth_part(notes, SynthPatch.SUPERSAW)
    drums = synth_part(
        [Note(i * 0.25, 0.25, int(list(Drum)[i % len(Drum)]), 100) for i in range(40)],
        kit=SynthKit.LOFI,
    )
    for part in (pitched, drums):
        first = render_synth_part(part, 128.0, 12.0, SR)
        second = render_synth_part(part, 128.0, 12.0, SR)
        assert first.tobytes() == second.tobytes()


def test_parts_with_different_names_get_different_noise() -> None:
    notes = [Note(0.0, 0.5, Drum.SNARE, 100)]
    one = render_synth_part(synth_part(notes, kit=SynthKit.ROCK, name="a"), 120.0, 0.5, SR)
    two = render_synth_part(synth_part(notes, kit=SynthKit.ROCK, name="b"), 120.0, 0.5, SR)
    assert one.tobytes() != two.tobytes()


def test_repeated_hits_alternate_between_variants() -> None:
    part = synth_part(
        [Note(beat, 0.25, Drum.SNARE, 100) for beat in (0.0, 1.0)], kit=SynthKit.ACOUSTIC
    )
    audio = render_synth_part(part, 60.0, 2.0, SR)[0]
    first, second = audio[: int(0.2 * SR)], audio[SR : SR + int(0.2 * SR)]
    assert not np.array_equal(first, second), "round-robin: two hits in a row are not clones"


def test_an_empty_part_is_silence_of_the_right_length() -> None:
    audio = render_synth_part(synth_part([], SynthPatch.PIANO), 120.0, 1.5, SR)
    assert audio.shape == (1, round(1.5 * SR))
    assert not np.any(audio)


def test_a_note_released_during_a_slow_attack_stays_quiet() -> None:
    short = _note(SynthPatch.WARM_PAD, 57, 0.1)
    long = _note(SynthPatch.WARM_PAD, 57, 2.0)
    assert float(np.max(np.abs(short))) < 0.4 * float(np.max(np.abs(long)))


def test_the_package_exports_its_public_api() -> None:
    import songforge.render.synth as synth

    assert all(hasattr(synth, name) for name in synth.__all__)
    assert {"render_synth_part", "render_note", "drum_hit", "PATCHES", "KITS"} <= set(synth.__all__)
