"""General MIDI SoundFont rendering through tinysoundfont: finding a font, checking it, loading
it once per process, and playing one part into a dry stereo float32 buffer.

tinysoundfont is installed with ``pip install --no-deps tinysoundfont`` (its PyAudio dependency
is only for live playback). Its renderer holds the GIL, so threads do not speed it up."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from songforge.compose.score import Part
from songforge.errors import SoundFontError
from songforge.render import placed_notes, sf2_subset
from songforge.render.synth.placement import start_sample

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

log = logging.getLogger(__name__)
ENV_VAR = "SONGFORGE_SOUNDFONT"
STANDARD_LOCATIONS: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/share/soundfonts/*.sf3",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/*.sf3",
)
DRUM_BANK = 128
DRUM_CHANNEL = 9  # General MIDI channel 10
GAIN_DB = -6.0  # FluidR3 still peaks above 1.0 at this gain: the buffer is float, never clipped
MAX_VOICES = 32  # per part, like a GM module; beyond it the voice furthest into release is stolen
_RENDER_FRAMES = 64 * 128  # frames per render call: a whole number of the player's 64-frame blocks
_INSTALL_HINT = "install it with: pip install --no-deps 'tinysoundfont>=0.3.7'"

_KEPT_SUBSETS = 4
_fonts: dict[tuple[Any, ...], Any] = {}
_hydras: dict[tuple[str, int, int], sf2_subset.Hydra] = {}
_centred: dict[tuple[str, int, int, int, int], bool] = {}
_exclusive: dict[tuple[str, int, int, int, int], bool] = {}
_fonts_lock = threading.RLock()


def _reset_lock_in_child() -> None:
    """A forked render helper must not inherit the lock held by some other thread."""
    global _fonts_lock
    _fonts_lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_in_child)


def _tsf() -> Any:
    try:
        from tinysoundfont import _tinysoundfont
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SoundFontError(
            f"SoundFont rendering needs the tinysoundfont package; {_INSTALL_HINT}"
        ) from exc
    return _tinysoundfont


def tinysoundfont_available() -> bool:
    try:
        _tsf()
    except SoundFontError:
        return False
    return True


def _check_header(path: Path) -> None:
    """A SoundFont is a RIFF file of form 'sfbk' at least as long as its RIFF header says."""
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise SoundFontError(f"SoundFont not found: {path}") from exc
    except IsADirectoryError as exc:
        raise SoundFontError(f"SoundFont path is a directory, not a file: {path}") from exc
    except OSError as exc:
        raise SoundFontError(f"SoundFont cannot be read: {path} ({exc.strerror or exc})") from exc
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise SoundFontError(f"not a SoundFont (no RIFF 'sfbk' header): {path}")
    declared = int.from_bytes(header[4:8], "little") + 8
    if size < declared:
        raise SoundFontError(f"SoundFont is truncated ({size} of {declared} bytes): {path}")


@dataclass(frozen=True, slots=True)
class SongFont:
    """A font and the presets (bank, preset) one song plays from it. Rendering loads just
    those (:mod:`songforge.render.sf2_subset`), once per process; ``presets=None`` is the whole
    font (fonts with compressed samples cannot be cut). Every part of a song must use the same
    SongFont: the player's sample positions count from the start of the loaded sample data, so
    another subset renders the same notes ~-90 dB differently."""

    path: Path
    presets: frozenset[tuple[int, int]] | None


FontSource = Path | SongFont  # a bare path means the whole font


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _hydra(path: Path) -> sf2_subset.Hydra:
    """The font's headers, read once per process (checked: header, size, structure)."""
    _check_header(path)
    key = _key(path)
    with _fonts_lock:
        hydra = _hydras.get(key)
    if hydra is None:
        hydra = sf2_subset.read_hydra(path)
        if len(hydra.records[b"phdr"]) <= 1:
            raise SoundFontError(f"SoundFont has no presets: {path}")
        with _fonts_lock:
            _hydras[key] = hydra
    return hydra


def song_font(path: Path, parts: Iterable[Part]) -> SongFont:
    """The presets of ``path`` that ``parts`` can play on it (every choice
    :func:`program_for` could make, so it chooses the same from the subset)."""
    hydra = _hydra(path)
    if hydra.compressed:
        return SongFont(path, None)
    available = hydra.presets()
    wanted = {choice for part in parts for choice in _choices(part)} & available
    return SongFont(path, frozenset(wanted))


def load_soundfont(font: FontSource) -> Any:
    """The loaded font (a :class:`SongFont`'s subset, or a whole font for a bare path), parsed
    once per process and shared (read-only) by every render; raises SoundFontError when it is
    missing, unreadable or not a valid SF2/SF3."""
    path, presets = (font.path, font.presets) if isinstance(font, SongFont) else (Path(font), None)
    hydra = _hydra(path) if presets is not None else None
    if presets is None:
        _check_header(path)
    key = (*_key(path), presets)
    with _fonts_lock:
        loaded = _fonts.get(key)
        if loaded is None:
            tsf = _tsf()
            source: bytes | str = str(path)
            if hydra is not None and presets is not None:
                try:
                    source = sf2_subset.subset(path, hydra, presets)
                except SoundFontError as exc:  # an unusual font (ROM samples...): whole, then
                    log.warning("loading all of %s: its presets cannot be cut out (%s)", path, exc)
            try:
                loaded = tsf.SoundFont(source)
            except (RuntimeError, ValueError, MemoryError) as exc:
                raise SoundFontError(f"tinysoundfont could not load {path}: {exc}") from exc
            if presets is None and loaded.get_preset_count() <= 0:
                raise SoundFontError(f"SoundFont has no presets: {path}")
            _remember(key, loaded)
    return loaded


def _remember(key: tuple[Any, ...], loaded: Any) -> None:
    """Keep a loaded font; only the newest few subsets stay (a service meets many songs)."""
    _fonts[key] = loaded
    subsets = [k for k in _fonts if k[-1] is not None]
    for old in subsets[:-_KEPT_SUBSETS]:
        del _fonts[old]


def validate_soundfont(path: Path) -> Path:
    """``path`` if it is a usable SoundFont: header, size and structure checked, and
    tinysoundfont loads one of its presets (a font with compressed samples is loaded whole)."""
    path = Path(path)
    hydra = _hydra(path)
    if hydra.compressed:
        load_soundfont(path)
    else:
        load_soundfont(SongFont(path, frozenset(sorted(hydra.presets())[:1])))
    return path


def _standard_candidates() -> Iterator[Path]:
    for pattern in STANDARD_LOCATIONS:
        if "*" in pattern:
            parent = Path(pattern).parent
            if parent.is_dir():
                yield from sorted(parent.glob(Path(pattern).name))
        else:
            yield Path(pattern)


def find_soundfont(explicit: Path | None = None) -> Path | None:
    """The SoundFont to use: ``explicit``, else $SONGFORGE_SOUNDFONT, else the first valid one
    in the standard locations, else None. A path that was asked for (explicitly or by the
    environment) must be valid: if not, SoundFontError says why."""
    if explicit is not None:
        return validate_soundfont(Path(explicit))
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return validate_soundfont(Path(from_env).expanduser())
    if not tinysoundfont_available():
        return None
    for candidate in _standard_candidates():
        if candidate.is_file():
            try:
                return validate_soundfont(candidate)
            except SoundFontError:
                continue
    return None


@dataclass(frozen=True, slots=True)
class Program:
    """Which preset a part plays: bank, 0-based preset number, and GM drum-channel rules."""

    bank: int
    preset: int
    drums: bool

    @property
    def channel(self) -> int:
        return DRUM_CHANNEL if self.drums else 0


def _is_drums(part: Part) -> bool:
    instrument = part.instrument
    return part.is_drums or (instrument.gm_program is None and instrument.gm_drum_kit is not None)


def _choices(part: Part) -> list[tuple[int, int]]:
    """(bank, preset) the part would play, best first: its own, then bank 0's (or the standard
    kit for drums)."""
    instrument = part.instrument
    if _is_drums(part):
        return [(DRUM_BANK, instrument.gm_drum_kit or 0), (DRUM_BANK, 0)]
    program = instrument.gm_program or 0
    return [(instrument.gm_bank, program), (0, program)]


def program_for(part: Part, font: Any) -> Program | None:
    """The part's GM program, falling back to bank 0 (or the standard kit for drums) when the
    font lacks it; None when the font has nothing suitable (the synth then plays the part)."""
    for bank, preset in _choices(part):
        if font.get_preset_index(bank, preset) >= 0:
            return Program(bank, preset, _is_drums(part))
    return None


def plays_centred(part: Part, font: FontSource) -> bool:
    """Whether ``part`` plays a preset of ``font`` whose every zone sits at the centre, so its
    left and right channels would be the same samples (bit for bit, measured): such a part is
    rendered once, in mono, at half the cost, and placed as the centred stereo image it is.
    False when the font has no preset for it (the synth plays it)."""
    path = font.path if isinstance(font, SongFont) else Path(font)
    available = _hydra(path).presets()
    for bank, preset in _choices(part):
        if (bank, preset) in available:
            return _preset_fact(_centred, sf2_subset.is_centred, path, bank, preset)
    return False


def _preset_fact(
    known: dict[tuple[str, int, int, int, int], bool],
    read: Callable[[sf2_subset.Hydra, int, int], bool],
    path: Path,
    bank: int,
    preset: int,
) -> bool:
    """``read`` of the font's headers for one preset, worked out once per font and preset."""
    key = (*_key(path), bank, preset)
    with _fonts_lock:
        fact = known.get(key)
    if fact is None:
        fact = read(_hydra(path), bank, preset)
        with _fonts_lock:
            known[key] = fact
    return fact


def _player(font: Any, program: Program, sample_rate_hz: int, mono: bool = False) -> Any:
    """A fresh voice pool on ``font`` (a clone shares the sample data) with the preset chosen."""
    tsf = _tsf()
    player = tsf.SoundFont(font)
    mode = tsf.OutputMode.Mono if mono else tsf.OutputMode.StereoInterleaved
    player.set_output(mode, sample_rate_hz, GAIN_DB)
    player.set_max_voices(MAX_VOICES)
    player.channel_set_bank(program.channel, program.bank)
    player.channel_set_preset_number(program.channel, program.preset, program.drums)
    return player


def _hits(part: Part, tempo_bpm: float, sample_rate_hz: int) -> list[placed_notes.Note]:
    """(onset, note-off, key, velocity) of every playable note, each note-off at least a frame
    after its onset."""
    hits: list[placed_notes.Note] = []
    for note in part.notes:
        if not 0 <= note.pitch <= 127 or note.velocity <= 0:
            continue
        on = start_sample(note, tempo_bpm, sample_rate_hz)
        off = round(note.end_beat * 60.0 / tempo_bpm * sample_rate_hz)
        hits.append((on, max(off, on + 1), note.pitch, min(note.velocity, 127)))
    return hits


def _events(hits: list[placed_notes.Note]) -> list[tuple[int, int, int, int]]:
    """(sample, order, key, velocity) in time order; offs (order 0) before ons at one sample.

    Drums get note-offs too: fonts' drum samples ring out through their release anyway, and
    without them some fonts (TimGM6mb) keep silent voices alive and render 9x slower."""
    events: list[tuple[int, int, int, int]] = []
    for on, off, key, velocity in hits:
        events.append((on, 1, key, velocity))
        events.append((off, 0, key, 0))
    events.sort()
    return events


def _play_in_order(
    player: Any, channel: int, hits: list[placed_notes.Note], out: np.ndarray
) -> None:
    """One player steps through the note-ons and -offs of ``hits`` in time order into ``out``
    (float32 (channels, n), every frame written), rendering the stretch between consecutive
    events; the font's own choke groups (hi-hats) and voice stealing apply. Stretches are
    rendered a few thousand frames at a time into one small interleaved buffer and split into
    the channels, so no song-length scratch is made (fresh memory costs more than the copy);
    the pieces are whole multiples of the player's 64-frame effect block, so the samples are
    the same as one call's."""
    channels, n_total = out.shape
    scratch = np.empty((_RENDER_FRAMES, channels), dtype=np.float32)

    def render(start: int, stop: int) -> None:
        for first in range(start, stop, _RENDER_FRAMES):
            frames = min(_RENDER_FRAMES, stop - first)
            player.render(scratch[:frames].data.cast("B"), False)
            out[:, first : first + frames] = scratch[:frames].T

    position = 0
    for sample, order, key, velocity in _events(hits):
        at = min(max(sample, 0), n_total)
        if at > position:
            render(position, at)
            position = at
        if at >= n_total:
            break
        if order == 1:
            player.channel_note_on(channel, key, velocity / 127.0)
        else:
            player.channel_note_off(channel, key)
    render(position, n_total)


def render_soundfont_part(
    part: Part,
    tempo_bpm: float,
    total_s: float,
    sample_rate_hz: int,
    soundfont: FontSource,
    out: np.ndarray | None = None,
    *,
    mono: bool = False,
) -> np.ndarray | None:
    """Play ``part`` on ``soundfont``: float32 (2, round(total_s × sample_rate_hz)), dry and
    unnormalised (peaks may exceed 1), or None when the font has no preset for it; with
    ``mono``, one channel (the font's mono mix, √2 times either channel of a centred preset:
    see :func:`plays_centred`). With ``out`` (float32 (channels, n), any contents) the part is
    written there and ``out`` returned.

    A melodic part is played by one player in time order (:func:`_play_in_order`). A drum
    part's distinct hits are rendered once each and placed wherever they play, where that is
    exact; keys that cut each other off (hi-hats) are played in order
    (:mod:`songforge.render.placed_notes`). Melodic parts were measured placed too: a rock
    song's rhythm guitar took 0.07 s instead of 0.8, but velocity layers that differ only in
    their release and long releases that the player's 32 voices cut short (an acoustic guitar
    rings 7.6 s: 75 notes at once) left most other parts no cheaper, or not the same."""
    font = load_soundfont(soundfont)
    program = program_for(part, font)
    if program is None:
        return None
    n_total = max(0, round(total_s * sample_rate_hz))
    channels = 1 if mono else 2
    if out is None:
        out = np.empty((channels, n_total), dtype=np.float32)
    elif out.shape != (channels, n_total) or out.dtype != np.float32:
        raise ValueError(
            f"out must be float32 ({channels}, {n_total}), not {out.dtype} {out.shape}"
        )

    def new_player() -> Any:
        return _player(font, program, sample_rate_hz, mono)

    def play_in_order(hits: list[placed_notes.Note], into: np.ndarray) -> None:
        _play_in_order(new_player(), program.channel, hits, into)

    hits = _hits(part, tempo_bpm, sample_rate_hz)
    if not program.drums:
        play_in_order(hits, out)
        return out
    placed_notes.play_placed(
        hits,
        out,
        sample_rate_hz,
        new_player,
        program.channel,
        play_in_order,
        exclusive_classes=_has_exclusive_classes(soundfont, program),
    )
    return out


def _has_exclusive_classes(font: FontSource, program: Program) -> bool:
    """Whether the program's preset has exclusive classes (read once per font and preset)."""
    path = font.path if isinstance(font, SongFont) else Path(font)
    return _preset_fact(
        _exclusive, sf2_subset.has_exclusive_classes, path, program.bank, program.preset
    )
