"""Dry stems → processed stems that sum to the pre-master mix.

Each part is brought to a reference level, run through its pedalboard chain (filters, EQ,
compressor, drive, bitcrush, chorus), faded, ducked to the kick, panned into stereo and sent to
one shared reverb and one tempo-synced delay. The per-part chain (:meth:`Mixer.process`) is a
pure function of the part and its dry audio, so it runs wherever the part was rendered (a
thread, or the render helper process) and only over the stretches where the part plays;
placing it into the mix, its sends and its stem (:meth:`Mixer.place`) happens here, one part at
a time in a fixed order, so the result is the same whatever the scheduling. A stem can go to a
:class:`StemSink` block by block instead of being kept, so no song-length stem is ever held."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import pedalboard

from songforge.compose.score import Part, Score
from songforge.errors import RenderError
from songforge.render import effects
from songforge.render.meter import db_to_gain, sample_peak
from songforge.styles.schema import DelaySettings, MixSettings, PartMix, ReverbSettings

MIX_PEAK_DBFS = -6.0  # headroom left for the master
PART_REFERENCE_DB = -20.0  # each dry part's gated RMS before its fader (gain_db is relative)
REVERB_RETURN_DB = -6.0  # Freeverb returns ~6 dB above its send: a send of 1.0 ≈ the dry level
DELAY_RETURN_DB = -3.0
DELAY_FILTER_HZ = (250.0, 6000.0)  # keep echoes out of the bass and the air
REVERB_HIGHPASS_HZ = 180.0  # no mud from the return
GATED_ROOM_SIZE = 0.85  # gated reverbs are big rooms cut short
REVERB_WARMUP_S = 8.0  # what a later slice of the returns re-runs to reach the same state
REVERB_SEGMENTS = 2  # time slices of the reverb run in parallel (fixed: output never depends
REVERB_MIN_SEGMENT_S = 30.0  # on the worker count)
BITCRUSH_BITS = 9.0
CHORUS = {"rate_hz": 0.8, "depth": 0.25, "centre_delay_ms": 7.0, "feedback": 0.0, "mix": 0.5}
RETURNS = "returns"
_SILENCE = 1e-7  # a dry block quieter than this is treated as not playing
_ACTIVE_BLOCK_S = 0.1
_TAIL_S = 0.35  # effects ring this long after a part stops (filters, compressor, chorus)
_MERGE_GAP_S = 1.0  # spans closer than this are processed as one
_NOTE_BEATS = {
    "eighth": 0.5,
    "dotted_eighth": 0.75,
    "quarter": 1.0,
    "dotted_quarter": 1.5,
    "half": 2.0,
}
_CHUNK = 1 << 17  # samples per call of the shared reverb (bounds its scratch memory)
_BLOCK = 1 << 16  # samples per block when processing and placing parts
_CHAIN_COST_S = 3e-4  # rough seconds per effect stage per second of a part (scheduling only)
_T = TypeVar("_T")


@dataclass(frozen=True)
class MixResult:
    stems: dict[str, np.ndarray]  # per part, post-fader and panned, plus "returns" (reverb/delay)
    mix: np.ndarray  # the sum of the stems: the pre-master mix, float32 (2, n)
    stem_scale: float = 1.0  # stems given to a StemSink times this sum to ``mix``
    # the reverb and delay sends' memory, unused once the mix is made: a float32 (2, n) buffer
    # whose pages are already mapped, for the master's output (fresh memory costs ~2 ms/MB)
    spare: np.ndarray | None = None


@dataclass(frozen=True)
class Placement:
    """How a processed part becomes its stereo stem: faded, panned and (mono sources) widened.
    The mixer places parts with exactly this arithmetic."""

    gain: float
    pan: float
    width: float
    sample_rate_hz: int
    centred: bool = False  # a one-channel source is a centred stereo image (no widening)

    def side_delay(self, channels: int) -> int:
        """Samples by which a source of ``channels`` sounds later in its pseudo-stereo side
        signal: 0 unless it is a widened mono source (not a centred one)."""
        if channels != 1 or self.centred or self.width <= 0.0:
            return 0
        return effects.haas_delay_samples(self.sample_rate_hz)

    def stereo(
        self, source: np.ndarray, start: int = 0, out: np.ndarray | None = None
    ) -> np.ndarray:
        """The stem's samples from ``start`` on (as many as ``out`` holds, else to the end) of
        the processed part ``source`` (1|2, n), float32 (2, m)."""
        if out is None:
            out = np.empty((2, source.shape[1] - start), dtype=np.float32)
        for channel in (0, 1):
            effects.place_channel(
                source,
                channel,
                out[channel],
                self.pan,
                self.width,
                self.gain,
                self.sample_rate_hz,
                start,
                centred=self.centred,
            )
        return out


class StemWriter(Protocol):
    """Takes one stem a block at a time."""

    def write(self, block: np.ndarray) -> None:
        """The next float32 (channels, m) samples (valid only during the call)."""

    def close(self) -> None:
        """The stem is complete."""


class StemSink(Protocol):
    """Where a mixer sends its stems instead of keeping them (e.g. an encoder)."""

    def open(
        self, name: str, channels: int, peak_bound: float, placement: Placement | None
    ) -> StemWriter:
        """A writer for stem ``name``: the part as processed, before placement (``channels``
        1 or 2, samples never above ``peak_bound`` in magnitude); the stem is
        ``placement.stereo(audio)`` (the audio itself, stereo, when ``placement`` is None)."""


@dataclass(frozen=True)
class Processed:
    """What the per-part chain tells the placement: the gain that brings the part to the
    reference level, and the sample ranges where it is not silent."""

    level_gain: float
    spans: tuple[tuple[int, int], ...]
    centred: bool = False  # the part came as one channel of a centred stereo source


def mix(
    dry: dict[str, np.ndarray],
    score: Score,
    settings: MixSettings,
    sample_rate_hz: int,
    *,
    keep_stems: bool = True,
    workers: int = 2,
) -> MixResult:
    """Mix dry stems (float32 (1|2, n), keyed by part name) into stereo stems and their sum,
    scaled together so the mix peaks at ``MIX_PEAK_DBFS``. The dry stems are left untouched.

    ``keep_stems=False`` returns only the mix (``stems`` is empty): each part's stereo stem is
    never made, which is what keeps a long song inside its memory budget."""
    n = _common_length(dry, score, sample_rate_hz)
    parts = [part for part in score.parts if part.name in dry]
    mixer = Mixer(score, settings, sample_rate_hz, n, keep_stems=keep_stems)

    def work(part: Part) -> tuple[np.ndarray, Processed]:
        return mixer.process(part, dry[part.name])

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for part, (processed, note) in _in_order(pool, parts, work, workers):
            mixer.place(part, processed, note)
            del processed
    return mixer.finish(workers)


class Mixer:
    """The mix of one score, built a part at a time: :meth:`process` (anywhere) then
    :meth:`place` (here, in a fixed order), then :meth:`finish` adds the returns and scales.

    Stems are kept (``keep_stems``), sent to ``sink`` block by block unscaled (the result's
    ``stem_scale`` brings them to the mix), or not made at all."""

    def __init__(
        self,
        score: Score,
        settings: MixSettings,
        sample_rate_hz: int,
        n: int,
        *,
        keep_stems: bool = False,
        sink: StemSink | None = None,
    ) -> None:
        self.score, self.settings, self.sample_rate_hz, self.n = score, settings, sample_rate_hz, n
        self.keep_stems, self.sink = keep_stems, sink
        # the duck envelope is shared by every ducked part (and inherited by render helpers)
        self.duck = _duck_envelope(score, list(score.parts), n, settings, sample_rate_hz)
        self.out = np.zeros((2, n), dtype=np.float32)
        self.buses = _Buses(n)
        self.stems: dict[str, np.ndarray] = {}

    def estimated_cost_s(self, part: Part) -> float:
        """Rough seconds of the part's chain (to schedule the biggest work first)."""
        if not part.notes:
            return 0.0
        m = part.mix
        stages = (
            1
            + 2 * (m.highpass_hz is not None)
            + 2 * (m.lowpass_hz is not None)
            + len(m.eq)
            + 2 * (m.compressor is not None)
            + 3 * m.chorus
            + (m.drive_db > 0.0)
            + m.bitcrush
            + (m.sidechain_db > 0.0)
        )
        first = min(note.start_beat for note in part.notes)
        last = max(note.end_beat for note in part.notes)
        return _CHAIN_COST_S * stages * (last - first) * 60.0 / self.score.tempo_bpm

    def process(
        self,
        part: Part,
        dry: np.ndarray,
        *,
        in_place: bool = False,
        out: np.ndarray | None = None,
        centred: bool = False,
    ) -> tuple[np.ndarray, Processed]:
        """The part's chain (pure: safe in a forked helper), into ``out`` (zero-filled, e.g.
        fresh shared memory: silent stretches are not written), else in place on ``dry`` when
        ``in_place``, else into a new array. ``centred``: ``dry`` (1, n) is either channel of a
        centred stereo source, and comes out as that source would (the chain's effects treat
        identical channels identically, measured bit for bit)."""
        return _process_part(
            dry,
            part.mix,
            self.duck,
            self.sample_rate_hz,
            in_place=in_place,
            out=out,
            centred=centred,
        )

    def place(self, part: Part, processed: np.ndarray, note: Processed) -> None:
        """Pan the processed part into the mix and its stem, and feed its sends."""
        fader = db_to_gain(part.mix.gain_db) * note.level_gain
        stem = np.zeros((2, self.n), dtype=np.float32) if self.keep_stems else None
        placement = Placement(
            fader, part.mix.pan, part.mix.width, self.sample_rate_hz, centred=note.centred
        )
        writer = None
        if self.sink is not None:
            peak = max((sample_peak(processed[:, a:b]) for a, b in note.spans), default=0.0)
            writer = self.sink.open(part.name, processed.shape[0], peak, placement)
        keys_gate = self.settings.reverb.gated and part.is_drums
        _place_and_send(
            processed,
            part.mix,
            placement,
            note.spans,
            self.out,
            stem,
            writer,
            self.buses,
            keys_gate,
        )
        if writer is not None:
            writer.close()
        if stem is not None:
            self.stems[part.name] = stem

    def finish(self, workers: int = 2) -> MixResult:
        """Add the reverb and delay returns (a stem of their own) and scale everything so the
        mix peaks at ``MIX_PEAK_DBFS``."""
        out, n = self.out, self.n
        separate = self.keep_stems or self.sink is not None
        returns = np.zeros((2, n), dtype=np.float32) if separate else out
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            _add_returns(
                self.buses, returns, self.score.tempo_bpm, self.settings, self.sample_rate_hz, pool
            )
        spare, self.buses = self.buses.pair, _Buses(n)
        if separate:
            out += returns
        if self.sink is not None:
            writer = self.sink.open(RETURNS, 2, sample_peak(returns), None)
            for start in range(0, n, _BLOCK):
                writer.write(returns[:, start : start + _BLOCK])
            writer.close()
        stems = self.stems
        if self.keep_stems:
            stems[RETURNS] = returns
        del returns
        peak = sample_peak(out)
        scale = 1.0
        if peak > 0.0:
            scale = db_to_gain(MIX_PEAK_DBFS) / peak
            out *= np.float32(scale)
            for stem in stems.values():
                stem *= np.float32(scale)
        self.stems = {}
        return MixResult(stems=stems, mix=out, stem_scale=float(np.float32(scale)), spare=spare)


class _Buses:
    """The mono sends, allocated only when some part uses them: reverb, delay, and the drums'
    share of the reverb send that keys a gated reverb. Reverb and delay are the rows of one
    (2, n) ``pair`` (an unused row is never touched, so it takes no memory), which the master
    can reuse whole once the mix is made."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pair: np.ndarray | None = None
        self.reverb: np.ndarray | None = None
        self.delay: np.ndarray | None = None
        self.gate_key: np.ndarray | None = None

    def send(self, kind: str, start: int, signal: np.ndarray) -> None:
        if getattr(self, kind) is None:
            if kind in ("reverb", "delay"):
                if self.pair is None:
                    self.pair = np.zeros((2, self.n), dtype=np.float32)
                setattr(self, kind, self.pair[0 if kind == "reverb" else 1])
            else:
                setattr(self, kind, np.zeros(self.n, dtype=np.float32))
        bus: np.ndarray = getattr(self, kind)
        bus[start : start + signal.shape[0]] += signal


def _placed_spans(
    spans: tuple[tuple[int, int], ...], n: int, delay: int
) -> list[tuple[int, int, bool]]:
    """[0, n) as consecutive (start, stop, playing) pieces: the spans, each lengthened by
    ``delay`` samples (the pseudo-stereo side signal sounds that much later), merged."""
    pieces: list[tuple[int, int, bool]] = []
    position = 0
    for first, last in spans:
        first, last = max(first, position), min(n, last + delay)
        if first > position:
            pieces.append((position, first, False))
        if pieces and pieces[-1][2] and pieces[-1][1] == first:
            first = pieces.pop()[0]
        if last > first:
            pieces.append((first, last, True))
            position = last
    if position < n:
        pieces.append((position, n, False))
    return pieces


def _place_and_send(
    processed: np.ndarray,
    part_mix: PartMix,
    placement: Placement,
    spans: tuple[tuple[int, int], ...],
    out: np.ndarray,
    stem: np.ndarray | None,
    writer: StemWriter | None,
    buses: _Buses,
    keys_gate: bool = False,
) -> None:
    """Pan a processed part into the mix (and its stem, when kept) and feed its sends, a block
    at a time and only where it plays (it is zero elsewhere); a writer gets the processed part
    itself. The mix gets the same bits whether or not the stem is kept."""
    n = processed.shape[1]
    fader = placement.gain
    work = np.empty((2, _BLOCK), dtype=np.float32)
    zeros = np.zeros((processed.shape[0], _BLOCK), dtype=np.float32)
    sends = [(k, g) for k, g in (("reverb", part_mix.reverb_send), ("delay", part_mix.delay_send))]
    if keys_gate and part_mix.reverb_send > 0.0:
        sends.append(("gate_key", part_mix.reverb_send))
    delay = placement.side_delay(processed.shape[0])
    playing = spans if fader != 0.0 else ()
    for first, last, sounds in _placed_spans(playing, n, delay):
        for start in range(first, last, _BLOCK):
            stop = min(start + _BLOCK, last)
            if not sounds:
                if writer is not None:
                    writer.write(zeros[:, : stop - start])
                continue
            rows = work[:, : stop - start] if stem is None else stem[:, start:stop]
            placement.stereo(processed, start, rows)
            out[:, start:stop] += rows
            if writer is not None:
                writer.write(processed[:, start:stop])
            mono = processed[0, start:stop]
            if processed.shape[0] == 2:
                mono = (mono + processed[1, start:stop]) * np.float32(0.5)
            for kind, level in sends:
                if level > 0.0:
                    buses.send(kind, start, mono * np.float32(level * fader))


def _common_length(dry: dict[str, np.ndarray], score: Score, sample_rate_hz: int) -> int:
    known = {part.name for part in score.parts}
    unknown = sorted(set(dry) - known)
    if unknown:
        raise RenderError(f"dry stems for parts not in the score: {', '.join(unknown)}")
    lengths = set()
    for name, audio in dry.items():
        if audio.ndim != 2 or audio.shape[0] not in (1, 2):
            raise RenderError(
                f"dry stem {name!r} must be shaped (1, n) or (2, n), not {audio.shape}"
            )
        lengths.add(audio.shape[1])
    if len(lengths) > 1:
        raise RenderError(f"dry stems differ in length: {sorted(lengths)} samples")
    if lengths:
        return lengths.pop()
    return round(score.duration_s * sample_rate_hz)


def _in_order(
    pool: ThreadPoolExecutor,
    parts: list[Part],
    work: Callable[[Part], _T],
    window: int,
) -> Iterator[tuple[Part, _T]]:
    """Results in score order with at most ``window`` parts in flight (bounds memory)."""
    pending: deque[tuple[Part, Future[_T]]] = deque()
    queue = iter(parts)
    for part in queue:
        pending.append((part, pool.submit(work, part)))
        if len(pending) >= window:
            break
    while pending:
        part, future = pending.popleft()
        for extra in queue:
            pending.append((extra, pool.submit(work, extra)))
            break
        yield part, future.result()


def _duck_envelope(
    score: Score, parts: list[Part], n: int, settings: MixSettings, sample_rate_hz: int
) -> np.ndarray | None:
    """The sidechain duck shape keyed to the kick (shared by every ducked part), or None."""
    if not score.kick_beats or not any(p.mix.sidechain_db > 0.0 for p in parts):
        return None
    samples_per_beat = 60.0 / score.tempo_bpm * sample_rate_hz
    hits = np.round(np.asarray(score.kick_beats, dtype=np.float64) * samples_per_beat)
    return effects.duck_envelope(
        hits.astype(np.int64), n, sample_rate_hz, settings.sidechain_release_ms
    )


def _block_stats(audio: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean power (summed over channels) and peak of each 100 ms block, and the block length."""
    channels, n = audio.shape
    block = max(1, round(_ACTIVE_BLOCK_S * sample_rate_hz))
    whole = n // block
    body = audio[:, : whole * block].reshape(channels, whole, block)
    power = np.einsum("cbk,cbk->b", body, body) / np.float32(block)
    peak = np.maximum(body.max(axis=2), -body.min(axis=2)).max(axis=0)
    if whole * block < n:
        rest = audio[:, whole * block :]
        power = np.append(power, np.mean(np.square(rest), axis=1).sum())
        peak = np.append(peak, np.abs(rest).max())
    return power.astype(np.float64), peak, block


def gated_level_db(power: np.ndarray) -> float:
    """RMS level (dB) of the blocks where a part plays, from per-block powers: an absolute gate
    at -70 dB, then a relative gate 10 dB under the mean, as loudness meters do."""
    playing = power[power > 1e-7]
    if playing.size == 0:
        return -math.inf
    playing = playing[playing > playing.mean() * 0.1]
    return 10.0 * math.log10(float(playing.mean()))


def _active_spans(peak: np.ndarray, block: int, n: int) -> list[tuple[int, int]]:
    """Sample ranges where the part plays (from per-block peaks), plus its effect tail; nearby
    ranges are merged."""
    playing = np.flatnonzero(peak > _SILENCE)
    if playing.size == 0:
        return []
    tail_blocks = math.ceil(_TAIL_S / _ACTIVE_BLOCK_S)
    merge_blocks = math.ceil(_MERGE_GAP_S / _ACTIVE_BLOCK_S)
    breaks = np.flatnonzero(np.diff(playing) > merge_blocks + tail_blocks)
    firsts = np.concatenate([[playing[0]], playing[breaks + 1]])
    lasts = np.concatenate([playing[breaks], [playing[-1]]])
    return [
        (int(first) * block, min(n, (int(last) + 1 + tail_blocks) * block))
        for first, last in zip(firsts, lasts, strict=True)
    ]


def part_boards(
    part_mix: PartMix, input_gain_db: float
) -> tuple[pedalboard.Pedalboard, pedalboard.Pedalboard]:
    """The part's insert chain around its drive stage: filters, EQ and compressor before it,
    chorus after. The signal stays at the renderer's level; compressor thresholds are shifted by
    ``input_gain_db`` so they act as if the part sat at ``PART_REFERENCE_DB``."""
    before: list[pedalboard.Plugin] = []
    if part_mix.highpass_hz:  # two first-order sections: 12 dB/octave
        before.append(pedalboard.HighpassFilter(cutoff_frequency_hz=part_mix.highpass_hz))
        before.append(pedalboard.HighpassFilter(cutoff_frequency_hz=part_mix.highpass_hz))
    if part_mix.lowpass_hz:
        before.append(pedalboard.LowpassFilter(cutoff_frequency_hz=part_mix.lowpass_hz))
        before.append(pedalboard.LowpassFilter(cutoff_frequency_hz=part_mix.lowpass_hz))
    for band in part_mix.eq:
        kind = {
            "peak": pedalboard.PeakFilter,
            "low_shelf": pedalboard.LowShelfFilter,
            "high_shelf": pedalboard.HighShelfFilter,
        }[band.kind]
        before.append(kind(cutoff_frequency_hz=band.frequency_hz, gain_db=band.gain_db, q=band.q))
    if part_mix.compressor is not None:
        c = part_mix.compressor
        before.append(
            pedalboard.Compressor(
                threshold_db=c.threshold_db - input_gain_db,
                ratio=c.ratio,
                attack_ms=c.attack_ms,
                release_ms=c.release_ms,
            )
        )
    after: list[pedalboard.Plugin] = []
    if part_mix.chorus:
        after.append(pedalboard.Chorus(**CHORUS))
    return pedalboard.Pedalboard(before), pedalboard.Pedalboard(after)


def drive(audio: np.ndarray, drive_db: float, bitcrush: bool, peak: float) -> None:
    """In place: tanh saturation (pedalboard's Distortion curve, tanh(x * gain), computed with
    numpy's vectorised tanh at a fifth of the cost) and/or bit reduction, both applied with the
    part's peak at full scale so the amount does not depend on the renderer's level. The drive
    is followed by half its gain as makeup: quiet detail comes up, peaks go down."""
    if peak <= 0.0:
        return
    if drive_db > 0.0:
        audio *= np.float32(db_to_gain(drive_db) / peak)
        np.tanh(audio, out=audio)
        audio *= np.float32(peak * db_to_gain(-drive_db / 2.0))
    if bitcrush:
        audio *= np.float32(1.0 / peak)
        audio[...] = pedalboard.Bitcrush(bit_depth=BITCRUSH_BITS).process(audio, 44100.0)
        audio *= np.float32(peak)


def _process_part(
    dry: np.ndarray,
    part_mix: PartMix,
    duck: np.ndarray | None,
    sample_rate_hz: int,
    *,
    in_place: bool = False,
    out: np.ndarray | None = None,
    centred: bool = False,
) -> tuple[np.ndarray, Processed]:
    """One part through its chain, ducked, zero where it is silent; with the gain that brings it
    to the reference level (applied with the fader) and where it plays. A ``centred`` part's
    level counts its one channel twice, as the stereo source it stands for has two. Works a
    block at a time (pedalboard keeps its state across blocks, so this equals one pass) into
    ``out`` (which must hold zeros, as fresh memory does: only where the part plays is
    written), else in place on ``dry`` when allowed, else into a new array."""
    source = np.asarray(dry, dtype=np.float32)
    writable = source is dry and dry.flags.c_contiguous and dry.flags.writeable
    if out is not None:
        dest = out
    elif in_place and writable:
        dest = source
    else:
        dest = np.zeros(source.shape, dtype=np.float32)
    n = source.shape[1]
    power, peak, block = _block_stats(source, sample_rate_hz)
    if centred:
        power *= 2.0
    level_db = gated_level_db(power)
    spans = _active_spans(peak, block, n)
    if not math.isfinite(level_db) or not spans:
        if dest is source:
            dest[...] = 0.0
        return dest, Processed(0.0, ())
    input_gain_db = PART_REFERENCE_DB - level_db
    before, after = part_boards(part_mix, input_gain_db)
    rate = float(sample_rate_hz)
    duck_by = duck if part_mix.sidechain_db > 0.0 else None
    previous = 0
    for first, last in spans:
        if dest is source:
            dest[:, previous:first] = 0.0
        previous = last
        for start in range(first, last, _BLOCK):
            stop = min(start + _BLOCK, last)
            dest[:, start:stop] = before.process(
                source[:, start:stop], rate, buffer_size=_BLOCK, reset=start == first
            )
        span = dest[:, first:last]
        if part_mix.drive_db > 0.0 or part_mix.bitcrush:
            drive(span, part_mix.drive_db, part_mix.bitcrush, sample_peak(span))
        if len(after):
            for start in range(first, last, _BLOCK):
                stop = min(start + _BLOCK, last)
                dest[:, start:stop] = after.process(
                    dest[:, start:stop], rate, buffer_size=_BLOCK, reset=start == first
                )
        if duck_by is not None:
            for start in range(first, last, _BLOCK):
                stop = min(start + _BLOCK, last)
                dest[:, start:stop] *= effects.duck_gain(duck_by[start:stop], part_mix.sidechain_db)
    if dest is source:
        dest[:, previous:] = 0.0
    return dest, Processed(db_to_gain(input_gain_db), tuple(spans), centred)


def reverb_predelay_ms(reverb: ReverbSettings, tempo_bpm: float) -> float:
    """The configured pre-delay, or a 64th note (60000 / bpm / 16 ms) when unset."""
    if reverb.pre_delay_ms is not None:
        return reverb.pre_delay_ms
    return 60000.0 / tempo_bpm / 16.0


def delay_seconds(delay: DelaySettings, tempo_bpm: float) -> float:
    return _NOTE_BEATS[delay.note] * 60.0 / tempo_bpm


def _add_returns(
    buses: _Buses,
    target: np.ndarray,
    tempo_bpm: float,
    settings: MixSettings,
    sample_rate_hz: int,
    pool: ThreadPoolExecutor,
) -> None:
    """Add the shared reverb and delay returns to ``target`` (2, n).

    Both run in fixed time slices on the pool, each later slice first re-running the preceding
    ``REVERB_WARMUP_S`` so its reverb and echo state match a single pass (to far under -60 dB).
    The split never depends on the worker count and each chunk is summed before it is added,
    so the result is the same bits whether ``target`` is a returns stem or the mix itself."""
    n = buses.n
    reverb_bus, delay_bus = buses.reverb, buses.delay
    if reverb_bus is None and delay_bus is None:
        return
    reverb = settings.reverb
    predelay = round(reverb_predelay_ms(reverb, tempo_bpm) * sample_rate_hz / 1000)
    gate = None
    if reverb.gated and reverb_bus is not None:
        key = buses.gate_key if buses.gate_key is not None else reverb_bus
        gate = effects.gate_envelope(key, sample_rate_hz)
    slices = REVERB_SEGMENTS if n >= REVERB_SEGMENTS * REVERB_MIN_SEGMENT_S * sample_rate_hz else 1
    bounds = [n * i // slices for i in range(slices + 1)]
    warmup = round(REVERB_WARMUP_S * sample_rate_hz)
    rate = float(sample_rate_hz)
    echo_gain = np.float32(db_to_gain(DELAY_RETURN_DB) * math.sqrt(0.5))

    def delayed(signal: np.ndarray, start: int, stop: int) -> np.ndarray:
        """signal[t - predelay] for t in [start, stop), zero before the song starts."""
        out = np.zeros(stop - start, dtype=np.float32)
        first = max(start, predelay)
        if first < stop:
            out[first - start :] = signal[first - predelay : stop - predelay]
        return out

    def run(index: int) -> None:
        start, stop = bounds[index], bounds[index + 1]
        reverb_board = _reverb_board(reverb)
        send_filter = _send_filter()
        delay_board = _delay_board(settings.delay, tempo_bpm)
        position = max(0, start - warmup)
        while position < stop:
            end = min(position + _CHUNK, stop)
            wet = np.zeros((2, end - position), dtype=np.float32)
            if reverb_bus is not None:
                send = delayed(reverb_bus, position, end)[np.newaxis]
                send = send_filter.process(send, rate, 1 << 16, reset=False)[0]
                wet = reverb_board.process(np.stack([send, send]), rate, 1 << 16, reset=False)
                if gate is not None:
                    wet *= delayed(gate, position, end)
            if delay_bus is not None:
                echoes = delay_board.process(
                    delay_bus[np.newaxis, position:end], rate, 1 << 16, reset=False
                )
                wet += echoes * echo_gain
            if end > start:
                keep = max(start, position)
                target[:, keep:end] += wet[:, keep - position :]
            position = end

    for future in [pool.submit(run, i) for i in range(slices)]:
        future.result()


def _reverb_board(reverb: ReverbSettings) -> pedalboard.Pedalboard:
    return pedalboard.Pedalboard(
        [
            pedalboard.Reverb(
                room_size=GATED_ROOM_SIZE if reverb.gated else reverb.room_size,
                damping=reverb.damping,
                wet_level=db_to_gain(REVERB_RETURN_DB),
                dry_level=0.0,
                width=1.0,
            )
        ]
    )


def _send_filter() -> pedalboard.Pedalboard:
    """The reverb's high-pass, on its mono send rather than its stereo return: both are linear
    and time-invariant, so the order does not change the sound, and one channel costs half."""
    return pedalboard.Pedalboard(
        [pedalboard.HighpassFilter(cutoff_frequency_hz=REVERB_HIGHPASS_HZ)]
    )


def _delay_board(delay: DelaySettings, tempo_bpm: float) -> pedalboard.Pedalboard:
    """The tempo-synced delay, band-limited so echoes stay out of the bass and the air."""
    return pedalboard.Pedalboard(
        [
            pedalboard.Delay(
                delay_seconds=delay_seconds(delay, tempo_bpm), feedback=delay.feedback, mix=1.0
            ),
            pedalboard.HighpassFilter(cutoff_frequency_hz=DELAY_FILTER_HZ[0]),
            pedalboard.LowpassFilter(cutoff_frequency_hz=DELAY_FILTER_HZ[1]),
        ]
    )
