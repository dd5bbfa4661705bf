"""Mixing a part at a time: the chain runs wherever the part was rendered, placement happens in a
fixed order, and stems go to an encoder block by block instead of being kept."""

from __future__ import annotations

import numpy as np
import pytest
from test_mix import DRY, RATE, full_score, length, make_score, tone

from songforge.errors import RenderError
from songforge.render.mix import RETURNS, Mixer, Placement, mix
from songforge.render.stems import FlacStems
from songforge.styles.schema import MixSettings, PartMix


def mix_into_sink(dry: dict[str, np.ndarray], order: list[str]) -> tuple[FlacStems, np.ndarray]:
    score, _ = full_score()
    parts = {part.name: part for part in score.parts}
    stems = FlacStems(RATE)
    mixer = Mixer(score, MixSettings(), RATE, length(), sink=stems)
    for name in order:
        processed, note = mixer.process(parts[name], dry[name])
        mixer.place(parts[name], processed, note)
    result = mixer.finish()
    assert result.stems == {}
    return stems.finish(result.stem_scale), result.mix


def test_stems_sent_to_the_encoder_sum_to_the_mix_within_16_bit_quantisation() -> None:
    score, dry = full_score()
    stems, mixed = mix_into_sink(dry, [part.name for part in score.parts])
    assert list(stems) == [*dry, RETURNS]
    total = np.zeros_like(mixed)
    for name in stems:
        stem = stems[name]
        assert stem.shape == (2, length()) and stem.dtype == np.float32
        total += stem
    # each stem is stored rounded to 16 bits at its own peak: far finer than one LSB of the mix
    assert np.abs(total - mixed).max() < 1.0 / 32768
    kept = mix(dry, score, MixSettings(), RATE)
    np.testing.assert_array_equal(mixed, kept.mix)  # the same mix whatever happens to stems
    for name, stem in kept.stems.items():
        np.testing.assert_allclose(stems[name], stem, atol=2.0 / 32768 * np.abs(stem).max() + 1e-9)


def test_the_mix_depends_on_the_placing_order_only() -> None:
    _, dry = full_score()
    names = list(dry)
    _, forward = mix_into_sink(dry, names)
    _, again = mix_into_sink(dry, names)
    _, backward = mix_into_sink(dry, names[::-1])
    assert forward.tobytes() == again.tobytes()
    np.testing.assert_allclose(forward, backward, atol=1e-6)  # float sums in another order


def test_a_part_processed_into_fresh_memory_equals_one_processed_in_place() -> None:
    score, dry = full_score()
    mixer = Mixer(score, MixSettings(), RATE, length())
    for part in score.parts:
        copy = dry[part.name].copy()
        kept, kept_note = mixer.process(part, dry[part.name])
        owned, owned_note = mixer.process(part, copy, in_place=True)
        fresh, fresh_note = mixer.process(part, dry[part.name], out=np.zeros_like(copy))
        assert owned is copy
        np.testing.assert_array_equal(kept, owned)
        np.testing.assert_array_equal(kept, fresh)
        assert kept_note == owned_note == fresh_note


def test_silent_stretches_are_neither_processed_nor_placed() -> None:
    n = length()
    score = make_score({"a": DRY.model_copy(update={"width": 0.6, "reverb_send": 0.3})})
    dry = tone(n)
    dry[:, : n // 3] = 0.0
    dry[:, 2 * n // 3 :] = 0.0
    mixer = Mixer(score, MixSettings(), RATE, n, keep_stems=True)
    processed, note = mixer.process(score.parts[0], dry)
    (first, last), *rest = note.spans
    assert not rest and first <= n // 3 and last < n
    assert not processed[:, :first].any() and not processed[:, last:].any()
    mixer.place(score.parts[0], processed, note)
    stem = mixer.finish().stems["a"]
    np.testing.assert_allclose(stem, mix({"a": dry}, score, MixSettings(), RATE).stems["a"])


def test_placement_is_the_mixer_s_pan_and_width() -> None:
    n = length()
    score = make_score({"a": DRY.model_copy(update={"pan": 0.4, "width": 0.7, "gain_db": -3.0})})
    mixer = Mixer(score, MixSettings(), RATE, n, keep_stems=True)
    processed, note = mixer.process(score.parts[0], tone(n))
    mixer.place(score.parts[0], processed, note)
    kept = mixer.finish()
    placement = Placement(10 ** (-3.0 / 20) * note.level_gain, 0.4, 0.7, RATE)
    np.testing.assert_allclose(
        placement.stereo(processed) * np.float32(kept.stem_scale),
        kept.stems["a"],
        rtol=1e-5,
        atol=1e-7,
    )


def test_a_stem_cannot_be_written_twice_or_read_before_the_mix_is_done() -> None:
    stems = FlacStems(RATE)
    writer = stems.open("a", 1, 0.5, None)
    writer.write(np.zeros((1, 100), np.float32))
    writer.close()
    with pytest.raises(RenderError, match="twice"):
        stems.open("a", 1, 0.5, None)
    with pytest.raises(RenderError, match="complete"):
        stems["a"]
    stems.finish(1.0)
    assert stems["a"].shape == (1, 100) and stems.stored_bytes() > 0  # unplaced: as stored


def test_stems_stream_to_files_identical_to_encoding_them_whole() -> None:
    from songforge.render.codec import encode
    from songforge.request import AudioFormat

    _, dry = full_score()
    stems, _ = mix_into_sink(dry, list(dry))
    for name in ("pad", "lead", RETURNS):
        assert stems.encode(name, AudioFormat.WAV) == encode(stems[name], RATE, AudioFormat.WAV)


def test_silent_parts_make_silent_stems() -> None:
    n = length()
    score = make_score({"a": DRY, "quiet": DRY})
    stems = FlacStems(RATE)
    mixer = Mixer(score, MixSettings(), RATE, n, sink=stems)
    for part, audio in zip(score.parts, [tone(n), np.zeros((1, n), np.float32)], strict=True):
        mixer.place(part, *mixer.process(part, audio))
    stems.finish(mixer.finish().stem_scale)
    assert not stems["quiet"].any() and stems["a"].any()


_ = PartMix


def test_a_centred_mono_part_mixes_as_the_stereo_source_whose_channels_it_is() -> None:
    """A SoundFont part whose channels are the same is rendered once (centred): through every
    chain (compressor, EQ, drive, bitcrush, chorus, ducking), the placement (width is not
    applied: it is no mono source) and the sends it mixes, and streams its stem, as its
    two-channel twin does."""
    score, dry = full_score()
    mono = {name: audio[:1] for name, audio in dry.items()}
    twins = {name: np.repeat(audio, 2, axis=0) for name, audio in mono.items()}
    parts = {part.name: part for part in score.parts}

    def mixed(sources: dict[str, np.ndarray], centred: bool) -> tuple[np.ndarray, FlacStems]:
        stems = FlacStems(RATE)
        mixer = Mixer(score, MixSettings(), RATE, length(), sink=stems)
        for name, audio in sources.items():
            processed, note = mixer.process(parts[name], audio.copy(), centred=centred)
            assert note.centred is centred
            mixer.place(parts[name], processed, note)
        result = mixer.finish()
        stems.finish(result.stem_scale)
        return result.mix, stems

    as_mono, mono_stems = mixed(mono, True)
    as_stereo, stereo_stems = mixed(twins, False)
    peak = float(np.abs(as_stereo).max())
    assert float(np.abs(as_mono - as_stereo).max()) < 1e-5 * peak
    for name in dry:
        assert float(np.abs(mono_stems[name] - stereo_stems[name]).max()) < 1e-4 * peak, name
    placement = Placement(1.0, 0.3, 0.8, RATE, centred=True)
    left_right = placement.stereo(mono["pad"])
    assert (
        float(np.abs(left_right - Placement(1.0, 0.3, 0.8, RATE).stereo(twins["pad"])).max()) < 1e-6
    )
