"""A SoundFont 2 cut down to the presets a song plays, built in memory.

tinysoundfont converts every sample of a font to float when it loads it: FluidR3_GM's 148 MB
become ~300 MB and half a second of one core, while a song plays seven or eight of its 189
presets. The subset holds those presets, their instruments and only the samples they use,
with every record and sample value copied unchanged (indices and offsets renumbered), so a
part renders to the same samples from it as from the whole font (tested bit for bit).

Only the font's "hydra" (the ~200 KB of preset, instrument and sample headers) is read to plan
the subset; the sample data is read just for the samples kept. Fonts with compressed samples
(SF3) cannot be cut this way: :func:`read_hydra` says so and the whole font is loaded."""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from songforge.errors import SoundFontError

PHDR = np.dtype(
    [
        ("name", "S20"),
        ("preset", "<u2"),
        ("bank", "<u2"),
        ("bag", "<u2"),
        ("library", "<u4"),
        ("genre", "<u4"),
        ("morphology", "<u4"),
    ]
)
BAG = np.dtype([("gen", "<u2"), ("mod", "<u2")])
MOD = np.dtype(
    [("src", "<u2"), ("dest", "<u2"), ("amount", "<i2"), ("amount_src", "<u2"), ("trans", "<u2")]
)
GEN = np.dtype([("oper", "<u2"), ("amount", "<u2")])
INST = np.dtype([("name", "S20"), ("bag", "<u2")])
SHDR = np.dtype(
    [
        ("name", "S20"),
        ("start", "<u4"),
        ("end", "<u4"),
        ("start_loop", "<u4"),
        ("end_loop", "<u4"),
        ("rate", "<u4"),
        ("pitch", "u1"),
        ("correction", "i1"),
        ("link", "<u2"),
        ("type", "<u2"),
    ]
)
_HYDRA = {
    b"phdr": PHDR,
    b"pbag": BAG,
    b"pmod": MOD,
    b"pgen": GEN,
    b"inst": INST,
    b"ibag": BAG,
    b"imod": MOD,
    b"igen": GEN,
    b"shdr": SHDR,
}
GEN_INSTRUMENT = 41
GEN_SAMPLE_ID = 53
GEN_PAN = 17
GEN_EXCLUSIVE_CLASS = 57
GUARD_POINTS = 46  # zero samples the format puts after every sample (interpolation reads them)
Piece = bytes | memoryview
_LINKED_TYPES = 0x2 | 0x4 | 0x8  # right, left, linked: wSampleLink names a partner sample
_COMPRESSED_TYPE = 0x10  # SF3: Ogg Vorbis sample data


@dataclass(frozen=True)
class Hydra:
    """A font's headers and where its sample data lies in the file."""

    info: bytes  # the INFO list's body, copied unchanged
    records: dict[bytes, np.ndarray]
    smpl: tuple[int, int]  # file offset and byte length of the 16-bit sample data
    sm24: tuple[int, int] | None  # the optional low bytes of 24-bit samples

    def presets(self) -> set[tuple[int, int]]:
        """(bank, preset) of every preset."""
        phdr = self.records[b"phdr"][:-1]
        return {(int(b), int(p)) for b, p in zip(phdr["bank"], phdr["preset"], strict=True)}

    @property
    def compressed(self) -> bool:
        return bool((self.records[b"shdr"][:-1]["type"] & _COMPRESSED_TYPE).any())


def is_centred(hydra: Hydra, bank: int, preset: int) -> bool:
    """Whether every zone of preset (bank, preset), and of each instrument it uses, sits at the
    centre: no pan generator but 0 and no modulator aimed at pan. Such a preset sounds the
    same in both channels (a player then renders it once, in mono). False when unsure: the
    preset is missing or its records point outside their tables."""
    zones = _preset_zones(hydra, bank, preset)
    return zones is not None and all(_centred(gens, mods) for gens, mods in zones)


def has_exclusive_classes(hydra: Hydra, bank: int, preset: int) -> bool:
    """Whether a zone of preset (bank, preset) or of an instrument it uses sets an exclusive
    class (a note-on then ends the sounding notes of its class: the hi-hats of a drum kit).
    True when unsure: the preset is missing or its records point outside their tables."""
    zones = _preset_zones(hydra, bank, preset)
    if zones is None:
        return True
    return any(
        bool((gens["amount"][gens["oper"] == GEN_EXCLUSIVE_CLASS] != 0).any()) for gens, _ in zones
    )


def _preset_zones(
    hydra: Hydra, bank: int, preset: int
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The generators and modulators of the preset's zones, then of each instrument's it
    uses; None when the preset is missing or its records point outside their tables."""
    r = hydra.records
    phdr = r[b"phdr"]
    found = np.flatnonzero((phdr["bank"][:-1] == bank) & (phdr["preset"][:-1] == preset))
    if found.size == 0:
        return None
    first = int(found[0])
    preset_zone = _zone_records(r[b"pbag"], r[b"pgen"], r[b"pmod"], phdr["bag"], first)
    if preset_zone is None:
        return None
    zones = [preset_zone]
    gens = preset_zone[0]
    instruments = np.unique(gens["amount"][gens["oper"] == GEN_INSTRUMENT].astype(np.int64))
    inst = r[b"inst"]
    for index in instruments.tolist():
        if index >= len(inst) - 1:
            return None
        zone = _zone_records(r[b"ibag"], r[b"igen"], r[b"imod"], inst["bag"], index)
        if zone is None:
            return None
        zones.append(zone)
    return zones


def _zone_records(
    bags: np.ndarray, gens: np.ndarray, mods: np.ndarray, owner_bags: np.ndarray, owner: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The generators and modulators of every zone of one preset or instrument (its bags run
    to the next owner's first bag), or None when the indices are out of range."""
    try:
        g0, g1, m0, m1 = _zone_span(
            bags, gens, mods, int(owner_bags[owner]), int(owner_bags[owner + 1])
        )
    except SoundFontError:
        return None
    return gens[g0:g1], mods[m0:m1]


def _zone_span(
    bags: np.ndarray, gens: np.ndarray, mods: np.ndarray, first_bag: int, stop_bag: int
) -> tuple[int, int, int, int]:
    """Where the generators [g0, g1) and modulators [m0, m1) of bags [first_bag, stop_bag)
    lie (every list ends with a terminal record); SoundFontError when an index is out of
    range."""
    if not 0 <= first_bag <= stop_bag < len(bags):
        raise SoundFontError("SoundFont bag index out of range")
    g0, g1 = int(bags["gen"][first_bag]), int(bags["gen"][stop_bag])
    m0, m1 = int(bags["mod"][first_bag]), int(bags["mod"][stop_bag])
    if not (0 <= g0 <= g1 <= len(gens) - 1 and 0 <= m0 <= m1 <= len(mods) - 1):
        raise SoundFontError("SoundFont generator or modulator index out of range")
    return g0, g1, m0, m1


def _centred(gens: np.ndarray, mods: np.ndarray) -> bool:
    return (
        not (gens["amount"][gens["oper"] == GEN_PAN] != 0).any()
        and not (mods["dest"] == GEN_PAN).any()
    )


def _chunks(handle: BinaryIO, start: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """(id, body offset, body size) of the RIFF chunks in [start, stop)."""
    position = start
    while position + 8 <= stop:
        handle.seek(position)
        head = handle.read(8)
        if len(head) < 8:
            raise SoundFontError("SoundFont ends inside a chunk header")
        size = struct.unpack("<I", head[4:])[0]
        if position + 8 + size > stop:
            raise SoundFontError(f"SoundFont chunk {head[:4]!r} runs past its container")
        yield head[:4], position + 8, size
        position += 8 + size + (size & 1)


def read_hydra(path: Path) -> Hydra:
    """The headers of the SF2 at ``path``; SoundFontError when its structure is broken."""
    try:
        with path.open("rb") as handle:
            return _read_hydra(handle, path.stat().st_size)
    except OSError as exc:
        raise SoundFontError(f"SoundFont cannot be read: {path} ({exc.strerror or exc})") from exc
    except SoundFontError as exc:
        raise SoundFontError(f"{exc.message}: {path}") from exc


def _read_hydra(handle: BinaryIO, size: int) -> Hydra:
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError("not a SoundFont (no RIFF 'sfbk' header)")
    end = min(size, 8 + struct.unpack("<I", head[4:8])[0])
    info, records = b"", {}
    smpl: tuple[int, int] | None = None
    sm24: tuple[int, int] | None = None
    for chunk, offset, length in _chunks(handle, 12, end):
        if chunk != b"LIST" or length < 4:
            continue
        handle.seek(offset)
        kind = handle.read(4)
        if kind == b"INFO":
            info = handle.read(length - 4)
        for inner, body, body_size in _chunks(handle, offset + 4, offset + length):
            if kind == b"sdta" and inner == b"smpl":
                smpl = (body, body_size)
            elif kind == b"sdta" and inner == b"sm24":
                sm24 = (body, body_size)
            elif kind == b"pdta" and inner in _HYDRA:
                dtype = _HYDRA[inner]
                handle.seek(body)
                raw = handle.read(body_size)
                if len(raw) != body_size or body_size % dtype.itemsize or not raw:
                    raise SoundFontError(f"SoundFont {inner.decode()} records are malformed")
                records[inner] = np.frombuffer(raw, dtype=dtype).copy()
    missing = [name.decode() for name in _HYDRA if name not in records]
    if missing or smpl is None:
        raise SoundFontError(f"SoundFont is missing its {', '.join(missing) or 'sample data'}")
    return Hydra(info, records, smpl, sm24)


def _check_index(values: np.ndarray, limit: int, what: str) -> None:
    if values.size and int(values.max()) >= limit:
        raise SoundFontError(f"SoundFont {what} index out of range")


class _Table:
    """Keep some of a list of bags and their generators and modulators, renumbered."""

    def __init__(self, bags: np.ndarray, gens: np.ndarray, mods: np.ndarray) -> None:
        self.bags, self.gens, self.mods = bags, gens, mods
        self.kept_bags: list[np.ndarray] = []
        self.kept_gens: list[np.ndarray] = []
        self.kept_mods: list[np.ndarray] = []
        self.counts = [0, 0, 0]  # bags, gens, mods kept so far

    def keep(self, first_bag: int, stop_bag: int) -> tuple[int, np.ndarray]:
        """Bags [first_bag, stop_bag) kept; returns the new index of the first and their gens."""
        g0, g1, m0, m1 = _zone_span(self.bags, self.gens, self.mods, first_bag, stop_bag)
        bags = self.bags[first_bag : stop_bag + 1]
        renumbered = bags[:-1].copy()
        renumbered["gen"] = bags["gen"][:-1].astype(np.int64) - g0 + self.counts[1]
        renumbered["mod"] = bags["mod"][:-1].astype(np.int64) - m0 + self.counts[2]
        gens = self.gens[g0:g1].copy()
        first = self.counts[0]
        self.kept_bags.append(renumbered)
        self.kept_gens.append(gens)
        self.kept_mods.append(self.mods[m0:m1])
        self.counts = [
            first + len(renumbered),
            self.counts[1] + len(gens),
            self.counts[2] + m1 - m0,
        ]
        return first, gens

    def keep_owners(
        self, headers: np.ndarray, indices: Iterable[int]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Presets or instruments ``headers[indices]`` with the bags each owns (its ``bag`` up
        to the next header's) kept: the headers renumbered, plus the terminal header, and the
        generators of each."""
        kept, gens = [], []
        for i in indices:
            first, owned = self.keep(int(headers[i]["bag"]), int(headers[i + 1]["bag"]))
            record = headers[i].copy()
            record["bag"] = first
            kept.append(record)
            gens.append(owned)
        end = headers[-1].copy()
        end["bag"] = self.counts[0]
        return np.array([*kept, end], dtype=headers.dtype), gens

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """bags, gens and mods with their terminal records."""
        terminal = np.array([(self.counts[1], self.counts[2])], dtype=BAG)
        bags = np.concatenate([*self.kept_bags, terminal])
        gens = np.concatenate([*self.kept_gens, self.gens[-1:]])
        mods = np.concatenate([*self.kept_mods, self.mods[-1:]])
        return bags, gens, mods


def subset(path: Path, hydra: Hydra, wanted: Iterable[tuple[int, int]]) -> bytes:
    """An SF2 holding only the presets (bank, preset) in ``wanted`` (those the font has),
    their instruments and samples. ``hydra`` is :func:`read_hydra` of ``path``."""
    if hydra.compressed:
        raise SoundFontError(f"SoundFont has compressed samples and cannot be subset: {path}")
    r = hydra.records
    phdr, inst, shdr = r[b"phdr"], r[b"inst"], r[b"shdr"]
    chosen = set(wanted)
    presets = [
        i
        for i, (bank, preset) in enumerate(zip(phdr["bank"][:-1], phdr["preset"][:-1], strict=True))
        if (int(bank), int(preset)) in chosen
    ]
    preset_table = _Table(r[b"pbag"], r[b"pgen"], r[b"pmod"])
    phdr_out, preset_gens = preset_table.keep_owners(phdr, presets)
    instruments = _referenced(preset_gens, GEN_INSTRUMENT, len(inst) - 1, "instrument")
    instrument_table = _Table(r[b"ibag"], r[b"igen"], r[b"imod"])
    inst_out, instrument_gens = instrument_table.keep_owners(inst, instruments.tolist())
    samples = _referenced(instrument_gens, GEN_SAMPLE_ID, len(shdr) - 1, "sample")
    headers = shdr[samples]
    linked = headers["link"][(headers["type"] & _LINKED_TYPES) != 0]
    partners = linked[linked < len(shdr) - 1]  # stereo partners come along
    samples = np.union1d(samples, partners.astype(np.int64))
    _renumber(preset_gens, GEN_INSTRUMENT, instruments)
    _renumber(instrument_gens, GEN_SAMPLE_ID, samples)
    sample_order = samples.tolist()
    sample_index = {old: new for new, old in enumerate(sample_order)}

    pbag, pgen, pmod = preset_table.arrays()
    ibag, igen, imod = instrument_table.arrays()
    smpl_points = hydra.smpl[1] // 2
    new_shdr, pieces, cursor = [], [], 0
    for s in sample_order:
        record = shdr[s].copy()
        points = [int(record[f]) for f in ("start", "end", "start_loop", "end_loop")]
        lo = min(points)
        hi = min(smpl_points, max(points) + GUARD_POINTS)
        if lo >= hi:
            raise SoundFontError(f"SoundFont sample {s} lies outside the sample data: {path}")
        for field, point in zip(("start", "end", "start_loop", "end_loop"), points, strict=True):
            record[field] = point - lo + cursor
        if record["type"] & _LINKED_TYPES:
            record["link"] = sample_index.get(int(record["link"]), 0)
        new_shdr.append(record)
        pieces.append((lo, hi))
        cursor += hi - lo
    shdr_out = np.concatenate([np.array(new_shdr, dtype=SHDR), shdr[-1:]])
    pdta: list[Piece] = [b"pdta"]
    for name, array in (
        (b"phdr", phdr_out),
        (b"pbag", pbag),
        (b"pmod", pmod),
        (b"pgen", pgen),
        (b"inst", inst_out),
        (b"ibag", ibag),
        (b"imod", imod),
        (b"igen", igen),
        (b"shdr", shdr_out),
    ):
        pdta += _chunk(name, [array.tobytes()])
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        view = memoryview(data)
        try:
            sdta: list[Piece] = [b"sdta", *_chunk(b"smpl", _points(view, hydra.smpl, 2, pieces))]
            if hydra.sm24 is not None:
                sdta += _chunk(b"sm24", _points(view, hydra.sm24, 1, pieces))
            body: list[Piece] = [b"sfbk", *_chunk(b"LIST", [b"INFO", hydra.info])]
            body += _chunk(b"LIST", sdta) + _chunk(b"LIST", pdta)
            joined = b"".join(_chunk(b"RIFF", body))  # the one copy of the samples
            del sdta, body  # their views into the file must go before it is unmapped
            return joined
        finally:
            view.release()


def _referenced(gens: list[np.ndarray], oper: int, limit: int, what: str) -> np.ndarray:
    """The sorted distinct amounts of generator ``oper`` (an index into a list of ``limit``)."""
    if not gens:
        return np.zeros(0, dtype=np.int64)
    every = np.concatenate(gens)
    found = np.unique(every["amount"][every["oper"] == oper].astype(np.int64))
    _check_index(found, limit, what)
    return found


def _renumber(gens: list[np.ndarray], oper: int, kept: np.ndarray) -> None:
    """In place: generator ``oper``'s index amounts → their positions in ``kept`` (sorted)."""
    for table in gens:
        mask = table["oper"] == oper
        table["amount"][mask] = np.searchsorted(kept, table["amount"][mask].astype(np.int64))


def _points(
    view: memoryview, chunk: tuple[int, int], width: int, pieces: list[tuple[int, int]]
) -> list[Piece]:
    """Views of the sample data of ``pieces`` ([lo, hi) in sample points), ``width`` bytes a
    point, in the chunk at file offset ``chunk[0]`` of ``chunk[1]`` bytes."""
    offset, size = chunk
    if offset + size > len(view):
        raise SoundFontError("SoundFont sample data is truncated")
    return [view[offset + lo * width : offset + hi * width] for lo, hi in pieces]


def _chunk(name: bytes, body: list[Piece]) -> list[Piece]:
    """A RIFF chunk (its header, body and pad byte) as pieces to join."""
    size = sum(len(piece) for piece in body)
    return [name, struct.pack("<I", size), *body, *([b"\0"] if size & 1 else [])]
