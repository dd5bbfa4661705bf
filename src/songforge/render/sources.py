"""CONTRACT: a Part of notes → a dry signal from its sound source (built-in synth or SoundFont).

Each part plays on a General MIDI SoundFont when its instrument asks for one and a font is
given, else on the built-in synthesizer. Parts render independently (their own seeded noise),
so the result does not depend on which worker rendered which part or in what order.

Two cores are used by two forked helper processes that take parts from one queue (biggest
first), optionally finish them (the mixer's per-part chain) and write them straight into shared
memory (no pickling), while this process consumes the results in that fixed order (the mixer
places them), so rendering, per-part effects and placement overlap and only a few parts are in
memory at once. Processes, not threads, because the SoundFont player holds the GIL and the
synth's many small numpy calls hold it often. Where fork is not available or not safe (not the
main thread), two threads are used; if a helper dies, its parts are done here. The result is
the same every way."""

from __future__ import annotations

import gc
import mmap
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from songforge.compose.score import Part
from songforge.errors import RenderError, SongforgeError, SoundFontError
from songforge.render.soundfont import (
    FontSource,
    load_soundfont,
    plays_centred,
    render_soundfont_part,
    song_font,
)
from songforge.render.synth import render_synth_part
from songforge.render.synth.part import HOLD_GRID_S
from songforge.styles.schema import SoundSource

PART_PEAK = 0.5  # every rendered part peaks at −6 dBFS (0.5); the mixer sets the levels
MAX_WORKERS = 2  # render lanes (helper processes, or threads where fork is not possible)
WINDOW = 5  # parts rendered but not yet consumed, at most (each holds a song-length array),
WINDOW_BYTES = 560 << 20  # and at most this much memory in those arrays (never under lanes + 1)
# Parts are consumed in order, so while the first (biggest) part renders the other lane can
# finish only WINDOW - 1 parts. A rock song (4:00, SoundFont) measured 6.23 s with 3, 5.73 s
# with 4 (6 runs each) and 6.06 → 5.75 s from 4 to 5 (median of 12); a 5-minute song at
# 44.1 kHz keeps 5, a 10-minute one gets 3.
_CENTRED_RENDER = 0.7  # a centred SoundFont part's cost, rendered in mono, relative to stereo
_CENTRED_CHAIN = 0.5  # ... and its mix chain's (one channel instead of two)
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


def uses_soundfont(part: Part, soundfont: FontSource | None) -> bool:
    """Whether ``part`` plays on the SoundFont (it asks for one and one is given)."""
    return soundfont is not None and part.instrument.source is SoundSource.SOUNDFONT


def render_part(
    part: Part,
    tempo_bpm: float,
    total_s: float,
    sample_rate_hz: int,
    soundfont: FontSource | None,
    out: np.ndarray | None = None,
    *,
    centred_mono: bool = False,
    zeroed: bool = False,
) -> np.ndarray:
    """One part, dry, peak at :data:`PART_PEAK` (silence stays silent): float32 (1, n) from
    the synth or (2, n) from the SoundFont, n = round(total_s × sample_rate_hz). With
    ``centred_mono``, a SoundFont part whose preset sits at the centre (:func:`plays_centred`)
    is (1, n): either channel of its stereo rendering, which are the same. The part is written
    into ``out`` when it fits: a SoundFont part into float32 (channels, n) of any contents, a
    synth part into float32 (1, n) that is ``zeroed`` (check the result's identity)."""
    if tempo_bpm <= 0 or sample_rate_hz <= 0:
        raise RenderError(
            f"tempo and sample rate must be positive (got {tempo_bpm}, {sample_rate_hz})"
        )
    audio: np.ndarray | None = None
    if soundfont is not None and uses_soundfont(part, soundfont):
        mono = centred_mono and plays_centred(part, soundfont)
        audio = render_soundfont_part(
            part, tempo_bpm, total_s, sample_rate_hz, soundfont, out, mono=mono
        )
    if audio is None:
        n = round(total_s * sample_rate_hz)
        fits = out is not None and zeroed and out.shape == (1, n) and out.dtype == np.float32
        audio = render_synth_part(part, tempo_bpm, total_s, sample_rate_hz, out if fits else None)
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
    distinct note (notes are cached); the SoundFont per sounding note-second, but its drums per
    hit (each distinct hit is rendered once: :mod:`songforge.render.placed_notes`)."""
    seconds_per_beat = 60.0 / tempo_bpm
    if uses_soundfont(part, soundfont):
        if part.is_drums:
            return 0.1 + 0.00015 * len(part.notes)
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


SlotFor = Callable[[int, bool], np.ndarray]  # (channels, zeroed) → room for the part's result
PartWork = Callable[[Part, "SlotFor | None"], tuple[np.ndarray, Any]]
# (part, dry, out, centred) → (audio, note); centred: a mono rendering of a centred stereo source
PartFinish = Callable[[Part, np.ndarray, "np.ndarray | None", bool], tuple[np.ndarray, Any]]
PartConsume = Callable[[Part, np.ndarray, Any], None]


class _ForkedHelper:
    """Forked children that render (and finish) parts while this process consumes them. Each
    child takes the next part from one shared counter (biggest first), so the work balances
    itself whatever the estimates said, and writes the result into anonymous shared memory (a
    part is rendered straight into it), so nothing is pickled but a small note. A
    semaphore keeps at most ``window`` parts claimed but not yet consumed, and parts are
    consumed in order, so the part at position p can use slot p mod ``window``: ``window``
    mappings serve the whole song. Reusing them saves the page faults of fresh shared memory
    (~0.4 s of CPU a song, measured) for ``window`` song-length buffers held through the
    render (bounded by :data:`WINDOW_BYTES`; affordable since a song loads only its presets of
    the SoundFont)."""

    def __init__(
        self,
        parts: list[Part],
        order: list[int],
        n_samples: int,
        channels: list[int],
        lanes: int,
        window: int,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.parts, self.order, self.n_samples = parts, order, n_samples
        self.lanes, self.lane = lanes, -1
        # pages are only allocated when first written (and read as zeros until then)
        pool = [mmap.mmap(-1, max(1, max(channels) * n_samples * 4)) for _ in range(window)]
        position_of = {index: position for position, index in enumerate(order)}
        self.slots = [pool[position_of[i] % window] for i in range(len(order))]
        self.reused = [position_of[i] >= window for i in range(len(order))]
        self.next_position = context.Value("i", 0)
        self.owner = context.Array("b", len(order))  # 1 + the lane that claimed each position
        self.tokens = context.Semaphore(window)
        self.context = context

    def claim(self) -> int | None:
        """The next part to render, or None when all are taken."""
        with self.next_position.get_lock():
            position = self.next_position.value
            if position >= len(self.order):
                return None
            self.next_position.value = position + 1
            self.owner[position] = self.lane + 1
        return self.order[position]

    def _slot(self, index: int, channels: int) -> np.ndarray:
        count = channels * self.n_samples
        return np.frombuffer(self.slots[index], np.float32, count).reshape(channels, -1)

    def _fill_slot(
        self, index: int, handed: list[np.ndarray], channels: int, zeroed: bool
    ) -> np.ndarray:
        """The part's slot as ``channels`` rows (noted in ``handed``); ``zeroed``: zero-filled
        (a slot's first use is fresh memory, already zero)."""
        view = self._slot(index, channels)
        if zeroed and (handed or self.reused[index]):
            view.fill(0.0)
        handed.append(view)
        return view

    def _child(self, work: PartWork, lane: int, conn: Connection) -> None:
        self.lane = lane
        try:
            while True:
                self.tokens.acquire()
                index = self.claim()
                if index is None:
                    self.tokens.release()
                    break
                slots: list[np.ndarray] = []
                audio, note = work(self.parts[index], partial(self._fill_slot, index, slots))
                channels = audio.shape[0]
                if not any(audio is slot for slot in slots):  # not written into the slot
                    self._slot(index, channels)[:] = audio
                del audio, slots
                conn.send(("done", index, channels, note))
            conn.send(("ok",))
        except SongforgeError as exc:
            conn.send(("error", type(exc).__name__, exc.message))
        except Exception as exc:  # the parent redoes this part and meets the error itself
            conn.send(("crash", type(exc).__name__, str(exc)))
        finally:
            conn.close()

    def run(self, work: PartWork, consume: PartConsume) -> None:
        """Consume every part in ``order``; parts whose child died are redone here."""
        processes, live = [], {}
        thawed = gc.get_freeze_count() == 0  # a caller may have frozen the heap already
        gc.freeze()  # children then leave the inherited objects alone: their pages stay shared
        try:
            for lane in range(self.lanes):
                reader, writer = self.context.Pipe(duplex=False)
                process = self.context.Process(
                    target=self._child,
                    args=(work, lane, writer),
                    name="songforge-render",
                    daemon=True,
                )
                process.start()
                writer.close()
                processes.append(process)
                live[lane] = reader
            if thawed:
                gc.unfreeze()
            done: dict[int, tuple[int, Any]] = {}
            for position, index in enumerate(self.order):
                part = self.parts[index]
                while index not in done:
                    owner = self.owner[position] - 1
                    if (owner >= 0 and owner not in live) or not live:
                        break  # its lane is gone (or every lane is): do it here
                    self._receive(live, done)
                if index in done:
                    channels, note = done.pop(index)
                    audio = self._slot(index, channels)
                    consume(part, audio, note)
                    del audio
                else:
                    audio, note = work(part, None)
                    consume(part, audio, note)
                    del audio
                if self.owner[position]:
                    self.tokens.release()
        finally:
            if thawed:
                gc.unfreeze()
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
            for reader in live.values():
                reader.close()

    def _receive(self, live: dict[int, Connection], done: dict[int, tuple[int, Any]]) -> None:
        lanes = {id(conn): lane for lane, conn in live.items()}
        for conn in wait(list(live.values())):
            lane = lanes[id(conn)]
            try:
                message = cast(Connection, conn).recv()
            except EOFError:
                message = ("crash", "EOFError", "a render helper exited without a result")
            if message[0] == "done":
                done[message[1]] = (message[2], message[3])
            elif message[0] == "error":
                raise _ERRORS.get(message[1], RenderError)(message[2])
            else:  # "ok" (all its parts delivered) or "crash" (its claimed part is redone here)
                live.pop(lane).close()


def _threaded(
    parts: list[Part], order: list[int], work: PartWork, consume: PartConsume, window: int
) -> None:
    """Two threads render while this one consumes in ``order`` (where fork is not available or
    not safe); at most ``window`` parts claimed but not consumed."""
    results: queue.SimpleQueue[tuple[int, tuple[np.ndarray, Any] | None, BaseException | None]]
    results = queue.SimpleQueue()
    tokens = threading.Semaphore(window)
    lock = threading.Lock()
    positions = iter(order)
    stopping = False

    def lane() -> None:
        while True:
            tokens.acquire()
            with lock:
                index = None if stopping else next(positions, None)
            if index is None:
                tokens.release()
                return
            try:
                results.put((index, work(parts[index], None), None))
            except BaseException as exc:
                results.put((index, None, exc))
                return

    threads = [
        threading.Thread(target=lane, name="songforge-render", daemon=True) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    done: dict[int, tuple[np.ndarray, Any]] = {}
    try:
        for index in order:
            while index not in done:
                got, result, error = results.get()
                if result is None:
                    raise error or RenderError("a render lane stopped without a result")
                done[got] = result
            audio, note = done.pop(index)
            consume(parts[index], audio, note)
            del audio
            tokens.release()
    finally:
        with lock:
            stopping = True
        for _ in threads:
            tokens.release()
        for thread in threads:
            thread.join()


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
    rendered: dict[str, np.ndarray] = {}

    def keep(part: Part, audio: np.ndarray, _: object) -> None:
        rendered[part.name] = np.array(audio)  # the consumer's view may be reused

    stream_parts(parts, tempo_bpm, total_s, sample_rate_hz, soundfont, keep)
    return {part.name: rendered[part.name] for part in parts}


def window_for(limit: int, lanes: int, n_samples: int, channels: int) -> int:
    """How many parts may be rendered but not yet consumed: ``limit``, fewer when their
    song-length float32 arrays would hold more than :data:`WINDOW_BYTES`, never under
    ``lanes + 1`` (each lane one part, and one being consumed)."""
    part_bytes = max(1, channels * n_samples * 4)
    return max(lanes + 1, min(limit, WINDOW_BYTES // part_bytes))


def stream_parts(
    parts: list[Part],
    tempo_bpm: float,
    total_s: float,
    sample_rate_hz: int,
    soundfont: Path | None,
    consume: PartConsume,
    *,
    finish: PartFinish | None = None,
    extra_cost: Callable[[Part], float] | None = None,
    window: int = WINDOW,
) -> list[str]:
    """Render every part as :func:`render_parts` does, pass each through ``finish`` (part, dry,
    out, centred) → (audio, note) in the lane that rendered it, and hand each result to
    ``consume`` here, one part at a time in a fixed order: the biggest estimated cost (render
    plus ``extra_cost``) first. Returns the part names in that order. ``centred`` tells
    ``finish`` that ``dry`` (1, n) is either channel of a centred SoundFont preset (see
    :func:`~songforge.render.soundfont.plays_centred`); with no ``finish``, such a part comes
    in its two channels, as every SoundFont part does.

    ``finish`` may run in a forked helper process: it must depend only on the part and its
    audio, and its note must be small and picklable. ``out`` is zero-filled shared memory the
    size of the part (write the result there to save a copy) or None (work on ``dry`` in place
    or return a new array); ``dry`` may itself be shared memory (a part is rendered
    straight into it). The consumer may keep nothing that points into the audio after it
    returns (the memory is reused). At most ``window`` parts are rendered but not yet consumed
    (fewer for long songs: :data:`WINDOW_BYTES`), which bounds memory; what ``consume`` sees
    never depends on the scheduling."""
    names = [part.name for part in parts]
    if len(set(names)) != len(names):
        raise RenderError(f"part names must be unique: {names}")
    font: FontSource | None = soundfont
    if soundfont is not None:
        played = [part for part in parts if uses_soundfont(part, soundfont)]
        if played:  # the song's presets only; fail early with the font's own error
            font = song_font(soundfont, played)
            load_soundfont(font)  # children inherit it

    # parts rendered as one channel of a centred stereo source (a finisher is told so)
    centred = {
        part.name
        for part in parts
        if finish is not None
        and font is not None
        and uses_soundfont(part, font)
        and plays_centred(part, font)
    }

    def work(part: Part, slot_for: SlotFor | None) -> tuple[np.ndarray, Any]:
        mono = part.name in centred
        room, zeroed = None, False
        if slot_for is not None:  # rendered straight into shared memory
            zeroed = not uses_soundfont(part, font)  # the synth adds its notes into zeros
            room = slot_for(1 if mono or zeroed else 2, zeroed)
        audio = render_part(
            part,
            tempo_bpm,
            total_s,
            sample_rate_hz,
            font,
            room,
            centred_mono=mono,
            zeroed=zeroed,
        )
        if finish is None:
            return audio, None
        if audio is room or slot_for is None:
            return finish(part, audio, None, mono)  # in place
        return finish(part, audio, slot_for(audio.shape[0], True), mono)

    def cost(part: Part) -> float:
        render, chain = estimated_cost_s(part, tempo_bpm, soundfont), 0.0
        if extra_cost is not None:
            chain = extra_cost(part)
        if part.name in centred:  # rendered in one channel
            render, chain = render * _CENTRED_RENDER, chain * _CENTRED_CHAIN
        return render + chain

    costs = [cost(part) for part in parts]
    order = sorted(range(len(parts)), key=lambda i: (-costs[i], i))
    lanes = max(1, min(MAX_WORKERS, len(parts), os.cpu_count() or 1))
    n_samples = max(0, round(total_s * sample_rate_hz))
    channels = [2 if uses_soundfont(part, soundfont) else 1 for part in parts]
    window = window_for(window, lanes, n_samples, max(channels, default=1))
    if lanes == 1 or sum(costs) < _MIN_PARALLEL_COST:
        for index in order:
            audio, note = work(parts[index], None)
            consume(parts[index], audio, note)
            del audio
        return [names[i] for i in order]
    helper: _ForkedHelper | None = None
    if _can_fork() and threading.current_thread() is threading.main_thread():
        try:
            helper = _ForkedHelper(parts, order, n_samples, channels, lanes, window)
        except OSError:  # no shared memory to be had: threads instead
            helper = None
    if helper is not None:
        helper.run(work, consume)
    else:
        _threaded(parts, order, work, consume, window)
    return [names[i] for i in order]
