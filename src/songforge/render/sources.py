"""CONTRACT: a Part of notes → a dry signal from its sound source (built-in synth or SoundFont).

Each part plays on a General MIDI SoundFont when its instrument asks for one and a font is
given, else on the built-in synthesizer. Parts render independently (their own seeded noise),
so the result does not depend on which worker rendered which part or in what order.

Two cores are used by a forked helper process that takes parts from the same queue as this
one (biggest first) and writes its stems straight into shared memory (no pickling). A process,
not a thread, because the SoundFont player holds the GIL and the synth's many small numpy calls
hold it often. Where fork is not available or not safe (not the main thread), two threads are
used; if the helper fails, its parts are rendered here. The result is the same every way."""

from __future__ import annotations

import mmap
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from songforge.compose.score import Part
from songforge.errors import RenderError, SongforgeError, SoundFontError
from songforge.render.soundfont import load_soundfont, render_soundfont_part
from songforge.render.synth import render_synth_part
from songforge.render.synth.part import HOLD_GRID_S
from songforge.styles.schema import SoundSource

PART_PEAK = 0.5  # every rendered part peaks at −6 dBFS (0.5); the mixer sets the levels
MAX_WORKERS = 2  # lanes: this process plus one helper
_MIN_PARALLEL_COST = 0.15  # below this estimated cost (≈ seconds) a helper is not worth forking
_ERRORS: dict[str, type[SongforgeError]] = {
    "SoundFontError": SoundFontError,
    "RenderError": RenderError,
}


class PartRenderer(Protocol):
    """Turns one part into audio: float32 (channels, round(total_s * sample_rate_hz)), channels
    1 for a mono source (the built-in synth) or 2 for a stereo one (SoundFont)."""

    def render(
        self, part: Part, tempo_bpm: float, total_s: float, sample_rate_hz: int
    ) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class SynthRenderer:
    """The built-in synthesizer as a :class:`PartRenderer` (mono, peak at −6 dBFS)."""

    def render(
        self, part: Part, tempo_bpm: float, total_s: float, sample_rate_hz: int
    ) -> np.ndarray:
        return render_part(part, tempo_bpm, total_s, sample_rate_hz, None)


@dataclass(frozen=True, slots=True)
class SoundFontRenderer:
    """A SoundFont as a :class:`PartRenderer` (stereo, peak at −6 dBFS); parts that do not ask
    for the font, or whose preset it lacks, fall back to the synth."""

    soundfont: Path

    def render(
        self, part: Part, tempo_bpm: float, total_s: float, sample_rate_hz: int
    ) -> np.ndarray:
        return render_part(part, tempo_bpm, total_s, sample_rate_hz, self.soundfont)


def uses_soundfont(part: Part, soundfont: Path | None) -> bool:
    """Whether ``part`` plays on the SoundFont (it asks for one and one is given)."""
    return soundfont is not None and part.instrument.source is SoundSource.SOUNDFONT


def render_part(
    part: Part, tempo_bpm: float, total_s: float, sample_rate_hz: int, soundfont: Path | None
) -> np.ndarray:
    """One part, dry, peak at :data:`PART_PEAK` (silence stays silent): float32 (1, n) from
    the synth or (2, n) from the SoundFont, n = round(total_s × sample_rate_hz)."""
    if tempo_bpm <= 0 or sample_rate_hz <= 0:
        raise RenderError(
            f"tempo and sample rate must be positive (got {tempo_bpm}, {sample_rate_hz})"
        )
    audio: np.ndarray | None = None
    if soundfont is not None and uses_soundfont(part, soundfont):
        audio = render_soundfont_part(part, tempo_bpm, total_s, sample_rate_hz, soundfont)
    if audio is None:
        audio = render_synth_part(part, tempo_bpm, total_s, sample_rate_hz)
    return normalise_part(audio, part.name)


def normalise_part(audio: np.ndarray, part_name: str) -> np.ndarray:
    """Scale so the peak sits at :data:`PART_PEAK`; refuse NaN or infinity."""
    if audio.size == 0:
        return audio.astype(np.float32, copy=False)
    peak = float(max(audio.max(), -audio.min()))
    if not np.isfinite(peak):
        raise RenderError(f"part {part_name!r} rendered to non-finite audio")
    if peak > 0.0:
        audio *= np.float32(PART_PEAK / peak)
    return audio.astype(np.float32, copy=False)


def estimated_cost_s(part: Part, tempo_bpm: float, soundfont: Path | None) -> float:
    """A rough render time in seconds, to hand the biggest parts out first. The synth pays per
    distinct note (notes are cached); the SoundFont per sounding note-second."""
    seconds_per_beat = 60.0 / tempo_bpm
    if uses_soundfont(part, soundfont):
        return 0.0003 * sum(min(n.duration_beats * seconds_per_beat, 8.0) + 1.5 for n in part.notes)
    if part.is_drums or part.instrument.synth is None:
        distinct_hits = {(n.pitch, n.velocity * 3 // 128) for n in part.notes}
        return 0.006 * len(distinct_hits) + 2e-5 * len(part.notes)
    distinct = {
        (n.pitch, round(n.duration_beats * seconds_per_beat / HOLD_GRID_S), n.velocity // 32)
        for n in part.notes
    }
    held_s = sum(hold * HOLD_GRID_S + 0.7 for _, hold, _ in distinct)
    return 0.003 * held_s + 5e-5 * len(part.notes)


RenderOne = Callable[[Part], np.ndarray]


class _ForkedHelper:
    """A forked child that renders parts alongside this process. Both take the next part from
    one shared counter (biggest first), so the work balances itself whatever the estimates
    said; the child writes its stems into an anonymous shared mapping, so nothing is pickled."""

    def __init__(
        self, parts: list[Part], order: list[int], n_samples: int, channels: list[int]
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.parts, self.order, self.n_samples = parts, order, n_samples
        sizes = [c * n_samples * 4 for c in channels]  # room for each part at most
        self.offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        self.shared = mmap.mmap(-1, max(1, sum(sizes)))  # pages are only allocated when written
        self.next_position = context.Value("i", 0)
        self.channels = context.Array("b", len(parts))  # 0: not (yet) rendered by the child
        self.reader, self.writer = context.Pipe(duplex=False)
        self.context = context

    def claim(self) -> int | None:
        """The next part to render, or None when all are taken."""
        with self.next_position.get_lock():
            position = self.next_position.value
            if position >= len(self.order):
                return None
            self.next_position.value = position + 1
        return self.order[position]

    def _slot(self, index: int, channels: int) -> np.ndarray:
        count = channels * self.n_samples
        view = np.frombuffer(self.shared, np.float32, count, self.offsets[index])
        return view.reshape(channels, self.n_samples)

    def _child(self, render_one: RenderOne) -> None:
        try:
            while (index := self.claim()) is not None:
                audio = render_one(self.parts[index])
                self._slot(index, audio.shape[0])[:] = audio
                self.channels[index] = audio.shape[0]
            self.writer.send(("ok",))
        except SongforgeError as exc:
            self.writer.send(("error", type(exc).__name__, exc.message))
        except Exception as exc:  # the parent re-renders this part and meets it itself
            self.writer.send(("crash", type(exc).__name__, str(exc)))
        finally:
            self.writer.close()

    def run(self, render_one: RenderOne) -> dict[int, np.ndarray]:
        """Render every part in the two processes; parts the child claimed but did not finish
        (it died) are rendered here."""
        process = self.context.Process(
            target=self._child, args=(render_one,), name="songforge-render", daemon=True
        )
        process.start()
        self.writer.close()
        rendered: dict[int, np.ndarray] = {}
        try:
            while (index := self.claim()) is not None:
                rendered[index] = render_one(self.parts[index])
            try:
                message = self.reader.recv()
            except EOFError:
                message = ("crash", "EOFError", "the render helper exited without a result")
            process.join()
            if message[0] == "error":
                raise _ERRORS.get(message[1], RenderError)(message[2])
            for index, part in enumerate(self.parts):
                if index in rendered:
                    continue
                channels = self.channels[index]
                # a view into the shared mapping, which lives as long as the stems using it
                rendered[index] = self._slot(index, channels) if channels else render_one(part)
            return rendered
        finally:
            if process.is_alive():
                process.terminate()
                process.join()
            self.reader.close()


def _can_fork() -> bool:
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    return not multiprocessing.current_process().daemon  # daemons may not have children


def render_parts(
    parts: list[Part],
    tempo_bpm: float,
    total_s: float,
    sample_rate_hz: int,
    soundfont: Path | None,
) -> dict[str, np.ndarray]:
    """Render every part with the source its style asks for: the SoundFont when ``soundfont``
    is given and the part's instrument asks for it (falling back to the synth if the font
    lacks its preset), else the built-in synth. ``soundfont=None`` means synth only.

    Each value is dry (no reverb, pan or master), unpanned float32 shaped (channels, n) with
    n = round(total_s × sample_rate_hz): 1 channel from the synth, 2 from the SoundFont, peak
    at −6 dBFS (silent parts stay zero). Uses up to two cores; the bytes never depend on how
    the work was scheduled. Raises SoundFontError if ``soundfont`` is given but unusable."""
    names = [part.name for part in parts]
    if len(set(names)) != len(names):
        raise RenderError(f"part names must be unique: {names}")
    if soundfont is not None and any(uses_soundfont(part, soundfont) for part in parts):
        load_soundfont(soundfont)  # fail early with the font's own error; children inherit it

    def render_one(part: Part) -> np.ndarray:
        return render_part(part, tempo_bpm, total_s, sample_rate_hz, soundfont)

    costs = [estimated_cost_s(part, tempo_bpm, soundfont) for part in parts]
    order = sorted(range(len(parts)), key=lambda i: (-costs[i], i))
    lanes = max(1, min(MAX_WORKERS, len(parts), os.cpu_count() or 1))
    if lanes == 1 or sum(costs) < _MIN_PARALLEL_COST:
        return {part.name: render_one(part) for part in parts}
    helper: _ForkedHelper | None = None
    if _can_fork() and threading.current_thread() is threading.main_thread():
        n_samples = max(0, round(total_s * sample_rate_hz))
        channels = [2 if uses_soundfont(part, soundfont) else 1 for part in parts]
        try:
            helper = _ForkedHelper(parts, order, n_samples, channels)
        except OSError:  # no shared memory to be had: threads instead
            helper = None
    if helper is not None:
        rendered = helper.run(render_one)
    else:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="songforge-render") as pool:
            futures = {i: pool.submit(render_one, parts[i]) for i in order}
            rendered = {i: future.result() for i, future in futures.items()}
    return {parts[i].name: rendered[i] for i in range(len(parts))}
