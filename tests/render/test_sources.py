"""render_parts keeps its contract: one dry array per part, the right shape, level and source."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from songforge.compose.drums import Drum
from songforge.compose.score import Note, Part, PartRole
from songforge.errors import RenderError, SoundFontError
from songforge.render import sources
from songforge.render.soundfont import ENV_VAR, find_soundfont, tinysoundfont_available
from songforge.render.sources import PART_PEAK, render_parts
from songforge.styles.schema import InstrumentSpec, PartMix, SoundSource, SynthKit, SynthPatch

SR = 44100
SMALL_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def _part(name: str, role: PartRole, notes: list[Note], instrument: InstrumentSpec) -> Part:
    return Part(name, role, tuple(notes), instrument, PartMix())


def band(source: SoundSource = SoundSource.SOUNDFONT) -> list[Part]:
    """A small band: drums, bass, chords, a pad, a lead and an FX part with only a synth patch."""

    def gm(program: int, patch: SynthPatch) -> InstrumentSpec:
        if source is SoundSource.SYNTH:
            return InstrumentSpec(synth=patch)
        return InstrumentSpec(source=source, gm_program=program, synth=patch)

    drums = InstrumentSpec(source=source, gm_bank=128, gm_drum_kit=0, synth_kit=SynthKit.TR909)
    if source is SoundSource.SYNTH:
        drums = InstrumentSpec(synth_kit=SynthKit.TR909)
    beats = [b * 0.5 for b in range(16)]
    return [
        _part(
            "drums",
            PartRole.DRUMS,
            [Note(b, 0.25, Drum.KICK if b % 1 == 0 else Drum.HAT_CLOSED, 100) for b in beats],
            drums,
        ),
        _part(
            "bass",
            PartRole.BASS,
            [Note(b, 0.45, 40 + int(b) % 3, 90) for b in beats],
            gm(33, SynthPatch.SUB_BASS),
        ),
        _part(
            "keys",
            PartRole.CHORDS,
            [Note(b, 0.9, p, 80) for b in (0.0, 4.0) for p in (60, 64, 67)],
            gm(4, SynthPatch.ELECTRIC_PIANO),
        ),
        _part(
            "pad",
            PartRole.PAD,
            [Note(0.0, 8.0, p, 70) for p in (48, 55)],
            gm(89, SynthPatch.WARM_PAD),
        ),
        _part(
            "lead",
            PartRole.LEAD,
            [Note(b, 0.5, 72 + int(b * 2) % 5, 100) for b in beats[::2]],
            gm(80, SynthPatch.SQUARE_LEAD),
        ),
        _part(
            "fx", PartRole.FX, [Note(4.0, 4.0, 60, 100)], InstrumentSpec(synth=SynthPatch.NOISE_FX)
        ),
    ]


@pytest.fixture(scope="module")
def font_path() -> Path:
    """A real General MIDI font (the small one when present); skipped when there is none,
    unless SONGFORGE_REQUIRE_SOUNDFONT=1."""
    candidates = [Path(p) for p in (os.environ.get(ENV_VAR, ""),) if p] + [SMALL_FONT]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None and tinysoundfont_available():
        saved = os.environ.pop(ENV_VAR, None)
        try:
            path = find_soundfont()
        finally:
            if saved is not None:
                os.environ[ENV_VAR] = saved
    if path is None or not tinysoundfont_available():
        reason = "no General MIDI SoundFont (or no tinysoundfont) on this machine"
        if os.environ.get("SONGFORGE_REQUIRE_SOUNDFONT") == "1":
            pytest.fail(f"SONGFORGE_REQUIRE_SOUNDFONT=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.mark.parametrize("sample_rate_hz", [44100, 48000])
def test_every_part_is_one_dry_mono_array_of_the_exact_length_without_a_font(
    sample_rate_hz: int,
) -> None:
    parts = band()
    total_s = 4.00002
    audio = render_parts(parts, 120.0, total_s, sample_rate_hz, None)
    assert list(audio) == [p.name for p in parts]
    for name, stem in audio.items():
        assert stem.shape == (1, round(total_s * sample_rate_hz)), name
        assert stem.dtype == np.float32
        assert np.all(np.isfinite(stem))


def test_every_part_peaks_at_minus_6_dbfs() -> None:
    for name, stem in render_parts(band(), 120.0, 4.0, SR, None).items():
        assert float(np.max(np.abs(stem))) == pytest.approx(PART_PEAK, rel=1e-5), name


def test_a_silent_part_stays_silent() -> None:
    quiet = _part("quiet", PartRole.LEAD, [], InstrumentSpec(synth=SynthPatch.SAW_LEAD))
    after_end = _part(
        "late",
        PartRole.LEAD,
        [Note(100.0, 1.0, 60, 100)],
        InstrumentSpec(synth=SynthPatch.SAW_LEAD),
    )
    audio = render_parts([quiet, after_end], 120.0, 2.0, SR, None)
    assert not np.any(audio["quiet"]) and not np.any(audio["late"])


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small test scores are normally rendered in one lane: force two."""
    monkeypatch.setattr(sources, "_MIN_PARALLEL_COST", 0.0)


def _same(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> None:
    assert list(first) == list(second)
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), name


@pytest.mark.usefixtures("always_parallel")
def test_the_same_parts_give_the_same_bytes_however_they_are_scheduled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts = band(SoundSource.SYNTH)
    forked = render_parts(parts, 126.0, 4.0, SR, None)
    monkeypatch.setattr(sources, "_can_fork", lambda: False)
    threaded = render_parts(parts, 126.0, 4.0, SR, None)
    monkeypatch.setattr(sources, "MAX_WORKERS", 1)
    in_order = render_parts(parts, 126.0, 4.0, SR, None)
    _same(forked, threaded)
    _same(forked, in_order)
    reordered = render_parts(list(reversed(parts)), 126.0, 4.0, SR, None)
    for name in forked:
        assert forked[name].tobytes() == reordered[name].tobytes()


@pytest.mark.usefixtures("always_parallel")
def test_parts_are_rendered_here_when_the_helper_process_dies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts = band(SoundSource.SYNTH)
    expected = render_parts(parts, 120.0, 2.0, SR, None)

    def die(*_: object) -> None:
        os._exit(3)

    monkeypatch.setattr(sources._ForkedHelper, "_child", die)
    _same(expected, render_parts(parts, 120.0, 2.0, SR, None))


@pytest.mark.usefixtures("always_parallel")
def test_an_error_in_the_helper_process_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = band(SoundSource.SYNTH)[:2]
    real = sources.render_part

    def fail_in_the_child(part: Part, *args: object, **options: bool) -> np.ndarray:
        if multiprocessing.current_process().name == "songforge-render":
            raise RenderError(f"{part.name} exploded")
        return real(part, *args, **options)  # type: ignore[arg-type]

    real_claim = sources._ForkedHelper.claim

    def child_first(self: sources._ForkedHelper) -> int | None:
        """Let the child take the first part, so that it surely renders one."""
        if multiprocessing.current_process().name != "songforge-render":
            for _ in range(3000):
                if self.next_position.value > 0:
                    break
                time.sleep(0.01)
        return real_claim(self)

    monkeypatch.setattr(sources, "render_part", fail_in_the_child)
    monkeypatch.setattr(sources._ForkedHelper, "claim", child_first)
    with pytest.raises(RenderError, match="exploded"):
        render_parts(parts, 120.0, 2.0, SR, None)


def test_a_broken_font_path_raises_soundfont_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sf2"
    bad.write_text("not a font")
    with pytest.raises(SoundFontError):
        render_parts(band(), 120.0, 1.0, SR, bad)


def test_part_names_must_be_unique() -> None:
    parts = band(SoundSource.SYNTH)
    with pytest.raises(RenderError, match="unique"):
        render_parts([parts[0], parts[0]], 120.0, 1.0, SR, None)


def test_a_font_plays_the_parts_that_ask_for_it_in_stereo(font_path: Path) -> None:
    parts = band()
    audio = render_parts(parts, 120.0, 4.0, SR, font_path)
    for part in parts:
        stem = audio[part.name]
        channels = 2 if part.instrument.source is SoundSource.SOUNDFONT else 1
        assert stem.shape == (channels, 4 * SR), part.name
        assert float(np.max(np.abs(stem))) == pytest.approx(PART_PEAK, rel=1e-5)


def test_synth_parts_ignore_the_font(font_path: Path) -> None:
    parts = band(SoundSource.SYNTH)
    with_font = render_parts(parts, 120.0, 2.0, SR, font_path)
    without = render_parts(parts, 120.0, 2.0, SR, None)
    for name in without:
        assert with_font[name].tobytes() == without[name].tobytes()


def test_a_font_render_is_byte_identical_across_runs(font_path: Path) -> None:
    parts = band()
    first = render_parts(parts, 100.0, 3.0, SR, font_path)
    second = render_parts(parts, 100.0, 3.0, SR, font_path)
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), name


def test_the_renderers_follow_the_part_renderer_protocol(font_path: Path) -> None:
    drums = band()[0]
    synth: sources.PartRenderer = sources.SynthRenderer()
    font: sources.PartRenderer = sources.SoundFontRenderer(font_path)
    assert synth.render(drums, 120.0, 1.0, SR).shape == (1, SR)
    assert font.render(drums, 120.0, 1.0, SR).shape == (2, SR)


@pytest.mark.usefixtures("always_parallel")
def test_shared_buffers_reused_by_later_parts_hold_nothing_of_earlier_ones(
    font_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More parts than buffers: a synth part that finishes into a buffer a SoundFont part
    filled before, writing only its first half, still reads zeros in the other half (as in
    fresh memory)."""
    tick = _part(  # the cheapest part: rendered last, into a buffer a SoundFont part used
        "tick", PartRole.FX, [Note(0.0, 0.1, 72, 90)], InstrumentSpec(synth=SynthPatch.SAW_LEAD)
    )
    more = [_part(f"{p.name}_2", p.role, list(p.notes), p.instrument) for p in band()]
    parts = [*band(), *more, tick]
    assert len(parts) > 2 * sources.WINDOW
    synth_only = {p.name for p in parts if p.instrument.source is not SoundSource.SOUNDFONT}

    def first_half(
        part: Part, dry: np.ndarray, out: np.ndarray | None, centred: bool
    ) -> tuple[np.ndarray, None]:
        if dry.shape[0] == 2 or centred:  # a SoundFont part keeps all of itself (in place)
            return dry, None
        if out is None:
            out = np.zeros_like(dry)
        half = dry.shape[1] // 2
        out[:, :half] = dry[:, :half]
        return out, None

    def collect(into: dict[str, np.ndarray]) -> sources.PartConsume:
        return lambda part, audio, _note: into.__setitem__(part.name, np.array(audio))

    forked: dict[str, np.ndarray] = {}
    sources.stream_parts(parts, 110.0, 3.0, SR, font_path, collect(forked), finish=first_half)
    monkeypatch.setattr(sources, "_can_fork", lambda: False)
    threaded: dict[str, np.ndarray] = {}
    sources.stream_parts(parts, 110.0, 3.0, SR, font_path, collect(threaded), finish=first_half)
    assert sorted(forked) == sorted(threaded)
    for name, audio in forked.items():
        if name in synth_only:
            assert not np.any(audio[:, audio.shape[1] // 2 :]), name
        assert audio.tobytes() == threaded[name].tobytes(), name


def test_long_songs_keep_fewer_parts_in_flight_so_memory_stays_bounded() -> None:
    minutes = [round(m * 60 * SR) for m in (1, 4, 5, 10)]
    windows = [sources.window_for(sources.WINDOW, 2, n, 2) for n in minutes]
    assert windows[:3] == [sources.WINDOW] * 3  # up to 5 minutes of stereo: the full window
    assert windows[3] == 3  # 10 minutes: two lanes and one part being placed
    for n, window in zip(minutes, windows, strict=True):
        assert window == 3 or window * 2 * n * 4 <= sources.WINDOW_BYTES
    assert sources.window_for(sources.WINDOW, 2, minutes[3], 1) == sources.WINDOW  # mono: half
