"""How long the two sound sources take to render a 4-minute song.

Renders a synthetic score (about 6,000 notes over 8 parts, drums included, 120 bpm, 240 s) and
prints seconds per part and per source: the built-in synth part by part, all parts through
``render_parts`` three ways (a forked helper process, two threads, one lane), the same for
each SoundFont found, and then 4-minute songs written by ``songforge.compose`` in a few genres
(when the composer works). Wall and CPU times are medians and are noisy on a shared machine.

    .venv/bin/python benchmarks/bench_render.py [--repeat 3] [--sample-rate 44100] \\
        [--soundfont PATH] [--genres rock,ambient]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from songforge.compose.drums import Drum
from songforge.compose.score import Note, Part, PartRole
from songforge.render import soundfont, sources
from songforge.render.soundfont import find_soundfont, load_soundfont, render_soundfont_part
from songforge.render.sources import render_parts, uses_soundfont
from songforge.render.synth import render_synth_part
from songforge.styles.schema import InstrumentSpec, PartMix, SoundSource, SynthKit, SynthPatch

TEMPO_BPM = 120.0
BARS = 120  # 4 minutes of 4/4 at 120 bpm
TOTAL_S = BARS * 4 * 60.0 / TEMPO_BPM
PROGRESSION = ((57, "min"), (53, "maj"), (48, "maj"), (55, "maj"))  # Am F C G, roots near A3
A_MINOR = (57, 59, 60, 62, 64, 65, 67)


def _triad(root: int, quality: str) -> tuple[int, int, int]:
    return (root, root + (3 if quality == "min" else 4), root + 7)


def _instrument(
    patch: SynthPatch | None, program: int | None, kit: SynthKit | None = None
) -> InstrumentSpec:
    if kit is not None:
        return InstrumentSpec(
            source=SoundSource.SOUNDFONT, gm_bank=128, gm_drum_kit=16, synth_kit=kit
        )
    if program is None:
        return InstrumentSpec(source=SoundSource.SYNTH, synth=patch)
    return InstrumentSpec(source=SoundSource.SOUNDFONT, gm_program=program, synth=patch)


def synthetic_parts(seed: int = 7) -> list[Part]:
    """About 6,000 notes: drums, bass, guitar, pad, lead, arp, piano and transition FX."""
    rng = np.random.default_rng(seed)
    notes: dict[str, list[Note]] = {
        name: [] for name in ("drums", "bass", "guitar", "pad", "lead", "arp", "piano", "fx")
    }

    def vel(base: int) -> int:
        return int(np.clip(base + rng.integers(-10, 11), 1, 127))

    for bar in range(BARS):
        beat0 = bar * 4.0
        chorus = (bar // 16) % 2 == 1
        root, quality = PROGRESSION[bar % 4]
        triad = _triad(root, quality)
        drums = notes["drums"]
        for step in range(8):
            drums.append(
                Note(
                    beat0 + step * 0.5,
                    0.25,
                    Drum.HAT_OPEN if step == 7 and chorus else Drum.HAT_CLOSED,
                    vel(80),
                )
            )
        for beat in (0.0, 2.0, 2.5):
            drums.append(Note(beat0 + beat, 0.25, Drum.KICK, vel(110)))
        for beat in (1.0, 3.0):
            drums.append(Note(beat0 + beat, 0.25, Drum.SNARE, vel(105)))
        if bar % 8 == 0:
            drums.append(Note(beat0, 1.0, Drum.CRASH, vel(110)))
        if bar % 8 == 7:
            for i, tom in enumerate((Drum.TOM_HIGH, Drum.TOM_HIGH, Drum.TOM_MID, Drum.TOM_LOW)):
                drums.append(Note(beat0 + 3.0 + i * 0.25, 0.25, tom, vel(100)))
        for step in range(8):
            notes["bass"].append(
                Note(beat0 + step * 0.5, 0.45, root - 24 + (12 if step == 7 else 0), vel(95))
            )
        for beat in range(4):
            for pitch in (root - 12, root - 5, root):
                notes["guitar"].append(Note(beat0 + beat, 0.9, pitch, vel(100 if chorus else 85)))
        for pitch in triad:
            notes["pad"].append(Note(beat0, 4.0, pitch, vel(70)))
        position = 0.0
        while position < 4.0:
            length = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
            pitch = int(rng.choice(A_MINOR)) + (12 if chorus else 0)
            notes["lead"].append(
                Note(beat0 + position, min(length, 4.0 - position) * 0.9, pitch, vel(95))
            )
            position += length
        if chorus:
            for step in range(8):
                notes["arp"].append(Note(beat0 + step * 0.5, 0.4, triad[step % 3] + 12, vel(80)))
        for beat in range(4):
            notes["piano"].append(
                Note(beat0 + beat, 0.95, triad[beat % 3] + (12 if beat == 3 else 0), vel(75))
            )
        if bar % 16 == 14:
            notes["fx"].append(Note(beat0, 8.0, 60, 90))  # a two-bar riser into the next section
        if bar % 16 == 0 and bar:
            notes["fx"].append(Note(beat0, 0.5, 36, 110))  # an impact on the downbeat

    specs = {
        "drums": (PartRole.DRUMS, _instrument(None, None, SynthKit.ROCK)),
        "bass": (PartRole.BASS, _instrument(SynthPatch.FINGER_BASS, 33)),
        "guitar": (PartRole.CHORDS, _instrument(SynthPatch.DISTORTED_GUITAR, 29)),
        "pad": (PartRole.PAD, _instrument(SynthPatch.WARM_PAD, 89)),
        "lead": (PartRole.LEAD, _instrument(SynthPatch.SAW_LEAD, 81)),
        "arp": (PartRole.ARP, _instrument(SynthPatch.PLUCK, 46)),
        "piano": (PartRole.CHORDS, _instrument(SynthPatch.PIANO, 0)),
        "fx": (PartRole.FX, _instrument(SynthPatch.NOISE_FX, None)),
    }
    return [
        Part(name, role, tuple(notes[name]), instrument, PartMix())
        for name, (role, instrument) in specs.items()
    ]


def _timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (a helper's CPU is not
    counted) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _strategies(parts: list[Part], sr: int, font: Path | None, repeat: int) -> None:
    """render_parts three ways: a forked helper lane (the default), two threads, one lane."""

    def run() -> object:
        return render_parts(parts, TEMPO_BPM, TOTAL_S, sr, font)

    can_fork, workers = sources._can_fork, sources.MAX_WORKERS
    try:
        wall, _ = _timed(run, repeat)
        print(f"  render_parts, helper process + this one: {wall:6.3f} s wall")
        sources._can_fork = lambda: False
        wall, _ = _timed(run, repeat)
        print(f"  render_parts, two threads:               {wall:6.3f} s wall")
        sources.MAX_WORKERS = 1
        wall, _ = _timed(run, repeat)
        print(f"  render_parts, one lane:                  {wall:6.3f} s wall")
    finally:
        sources._can_fork, sources.MAX_WORKERS = can_fork, workers


def composed_parts(style_id: str, seed: int = 1) -> tuple[list[Part], float, float] | None:
    """A 4-minute song in ``style_id`` from the composer: (parts, tempo_bpm, total_s)."""
    try:
        from songforge.compose.composer import arrange, compose
        from songforge.plan import resolve_plan
        from songforge.prompt.understand import understand
        from songforge.request import SongRequest
        from songforge.styles.catalog import default_catalog

        catalog = default_catalog()
        request = SongRequest(prompt=f"{style_id} song", genre=style_id, duration=240, seed=seed)
        plan = resolve_plan(request, understand(request.prompt, catalog), catalog, seed)
        score = arrange(compose(plan), plan.style, plan)
    except Exception as exc:  # the composer is another module; report and carry on
        print(f"  {style_id}: composer unavailable ({type(exc).__name__}: {exc})")
        return None
    return list(score.parts), score.tempo_bpm, score.duration_s


def _genres(names: list[str], sr: int, fonts: list[Path]) -> None:
    print("\ncomposed 4-minute songs, render_parts (one run each):")
    for name in names:
        song = composed_parts(name)
        if song is None:
            continue
        parts, tempo_bpm, total_s = song
        notes = sum(len(p.notes) for p in parts)
        for font in [None, *fonts]:
            play = partial(render_parts, parts, tempo_bpm, total_s, sr, font)
            wall, _ = _timed(play, 1)
            label = "synth" if font is None else font.name
            print(
                f"  {name:10s} {len(parts):2d} parts {notes:5d} notes  {label:15s}"
                f" {wall:6.3f} s wall ({total_s / wall:5.0f}x real time)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--soundfont", type=Path, action="append", default=None)
    parser.add_argument("--genres", default="rock,synthwave,ambient,cinematic")
    args, _ = parser.parse_known_args(argv)  # `python -m benchmarks bench_render` passes names
    sr, repeat = args.sample_rate, args.repeat
    parts = synthetic_parts()
    note_count = sum(len(p.notes) for p in parts)
    print(f"score: {len(parts)} parts, {note_count} notes, {TOTAL_S:.0f} s at {sr} Hz")
    print(f"medians of {repeat} runs; wall and CPU seconds (timings are noisy on a shared machine)")

    print("\nbuilt-in synth, one part at a time:")
    synth_wall = synth_cpu = 0.0
    for part in parts:
        wall, cpu = _timed(partial(render_synth_part, part, TEMPO_BPM, TOTAL_S, sr), repeat)
        synth_wall, synth_cpu = synth_wall + wall, synth_cpu + cpu
        print(f"  {part.name:8s} {len(part.notes):5d} notes  {wall:6.3f} s wall  {cpu:6.3f} s cpu")
    print(f"  {'sum':8s} {'':11s}  {synth_wall:6.3f} s wall  {synth_cpu:6.3f} s cpu")
    _strategies(parts, sr, None, repeat)

    fonts = args.soundfont or [
        path
        for path in (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), find_soundfont())
        if path and path.is_file()
    ]
    for font in dict.fromkeys(fonts):
        soundfont._fonts.clear()  # time a cold load, not the one find_soundfont already did
        start = time.perf_counter()
        load_soundfont(font)
        load_s = time.perf_counter() - start
        print(f"\nSoundFont {font} (first load {load_s:.2f} s), one part at a time:")
        font_wall = font_cpu = 0.0
        for part in parts:
            if not uses_soundfont(part, font):
                continue
            play = partial(render_soundfont_part, part, TEMPO_BPM, TOTAL_S, sr, font)
            wall, cpu = _timed(play, repeat)
            font_wall, font_cpu = font_wall + wall, font_cpu + cpu
            print(
                f"  {part.name:8s} {len(part.notes):5d} notes  {wall:6.3f} s wall  {cpu:6.3f} s cpu"
            )
        print(f"  {'sum':8s} {'':11s}  {font_wall:6.3f} s wall  {font_cpu:6.3f} s cpu")
        print("  all parts (fx on the synth):")
        _strategies(parts, sr, font, repeat)
    _genres([g for g in args.genres.split(",") if g], sr, list(dict.fromkeys(fonts)))


if __name__ == "__main__":
    main()
