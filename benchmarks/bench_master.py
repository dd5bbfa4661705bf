"""How long mixing, mastering, metering and encoding take for a 4-minute song.

Mixes 9 parts of synthetic dry stems (or, with ``--style``, the built-in synth's render of a real
composition in that style), masters the mix, then times loudness and true-peak measurement and
every encoder on the 4-minute stereo master. Prints wall and CPU seconds (CPU counts both
threads) and the real-time factor. Timings are noisy on a shared machine: look at the median.

    .venv/bin/python benchmarks/bench_master.py [--repeat 3] [--seconds 240] [--style house]
        [--pyloudnorm]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

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
from songforge.render import codec, meter
from songforge.render.master import master
from songforge.render.mix import mix
from songforge.request import AudioFormat
from songforge.styles.schema import (
    CompressorSettings,
    EqBand,
    InstrumentSpec,
    MixSettings,
    PartMix,
    SynthKit,
    SynthPatch,
)
from songforge.theory import Key, Mode, TimeSignature

RATE = 44100
TEMPO_BPM = 120.0

PART_MIXES: dict[str, tuple[PartRole, PartMix]] = {
    "drums": (PartRole.DRUMS, PartMix(gain_db=0, compressor=CompressorSettings(), reverb_send=0.1)),
    "bass": (PartRole.BASS, PartMix(gain_db=-2, highpass_hz=30, sidechain_db=6)),
    "pad": (
        PartRole.PAD,
        PartMix(
            gain_db=-8,
            width=1.0,
            highpass_hz=200,
            eq=(EqBand(frequency_hz=350, gain_db=-3),),
            reverb_send=0.4,
            chorus=True,
            sidechain_db=4,
        ),
    ),
    "chords": (PartRole.CHORDS, PartMix(gain_db=-7, pan=-0.3, highpass_hz=150, drive_db=6)),
    "arp": (PartRole.ARP, PartMix(gain_db=-9, pan=0.25, width=0.7, delay_send=0.3)),
    "lead": (
        PartRole.LEAD,
        PartMix(gain_db=-3, highpass_hz=250, reverb_send=0.2, delay_send=0.25),
    ),
    "counter": (PartRole.COUNTER, PartMix(gain_db=-8, pan=-0.2, lowpass_hz=6000)),
    "perc": (PartRole.PERCUSSION, PartMix(gain_db=-12, pan=0.35, highpass_hz=400)),
    "fx": (PartRole.FX, PartMix(gain_db=-14, reverb_send=0.5, bitcrush=True)),
}


def synthetic_song(seconds: float) -> tuple[Score, dict[str, np.ndarray], MixSettings]:
    """A 9-part score with numpy dry stems: parts drop in and out like an arrangement does."""
    bars = round(seconds * TEMPO_BPM / 60 / 4)
    composition = Composition(
        key=Key(9, Mode.MINOR),
        tempo_bpm=TEMPO_BPM,
        time_signature=TimeSignature.FOUR_FOUR,
        sections=(Section("song", SectionKind.VERSE, 0, bars, 0.7),),
        chords=(ChordEvent(0.0, bars * 4.0, Chord(9, ChordQuality.MINOR)),),
        melody=(),
        ending_beats=0.0,
    )
    parts = tuple(
        Part(
            name,
            role,
            (),
            InstrumentSpec(synth_kit=SynthKit.TR909)
            if role is PartRole.DRUMS
            else InstrumentSpec(synth=SynthPatch.SAW_LEAD),
            part_mix,
        )
        for name, (role, part_mix) in PART_MIXES.items()
    )
    score = Score(composition, "bench", TEMPO_BPM, parts, tuple(float(b) for b in range(bars * 4)))
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    rng = np.random.default_rng(0)
    beat = (t * TEMPO_BPM / 60) % 1.0
    dry: dict[str, np.ndarray] = {
        "drums": np.sin(2 * np.pi * 55 * t) * np.exp(-beat * 18)
        + 0.2 * rng.standard_normal(n) * np.exp(-((beat * 2) % 1) * 40),
        "bass": 0.5 * np.sign(np.sin(2 * np.pi * 55 * t)),
    }
    for i, name in enumerate(["pad", "chords", "arp", "lead", "counter", "perc", "fx"]):
        tone = 0.2 * np.sin(2 * np.pi * 110 * (i + 2) * t) + 0.02 * rng.standard_normal(n)
        if i % 2:  # half the parts rest for a quarter of the song
            tone[n // 4 : n // 2] = 0.0
        dry[name] = tone
    return score, {k: v[np.newaxis, :].astype(np.float32) for k, v in dry.items()}, MixSettings()


def rendered_song(
    style_id: str, seconds: float
) -> tuple[Score, dict[str, np.ndarray], MixSettings]:
    """A real composition in ``style_id`` rendered by the built-in synth (not timed)."""
    from songforge.compose.composer import arrange, compose
    from songforge.plan import resolve_plan
    from songforge.prompt.understand import understand
    from songforge.render.sources import render_parts
    from songforge.request import SongRequest
    from songforge.styles.catalog import default_catalog

    catalog = default_catalog()
    request = SongRequest(prompt=f"a {style_id} song", genre=style_id, seed=7, duration=seconds)
    plan = resolve_plan(request, understand(request.prompt, catalog), catalog, 7)
    score = arrange(compose(plan), plan.style, plan)
    dry = render_parts(list(score.parts), score.tempo_bpm, score.duration_s, RATE, None)
    return score, dry, plan.style.mix


def timed(label: str, work: Callable[[], object], repeat: int, audio_s: float) -> object:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall = statistics.median(walls)
    print(
        f"{label:34s} {wall:6.2f} s wall  {statistics.median(cpus):6.2f} s cpu"
        f"  {audio_s / wall:6.1f}x real time"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--style", help="render a real composition in this style instead")
    parser.add_argument("--pyloudnorm", action="store_true", help="also time pyloudnorm")
    args = parser.parse_args()

    score, dry, settings = (
        rendered_song(args.style, args.seconds) if args.style else synthetic_song(args.seconds)
    )
    seconds = next(iter(dry.values())).shape[1] / RATE
    print(f"{len(dry)} parts, {seconds:.0f} s at {RATE} Hz ({args.style or 'synthetic'})")
    mixed = timed(
        "mix (stems kept)",
        lambda: mix(dry, score, settings, RATE),
        args.repeat,
        seconds,
    )
    mixed = timed(
        "mix (keep_stems=False)",
        lambda: mix(dry, score, settings, RATE, keep_stems=False),
        args.repeat,
        seconds,
    )
    pre_master = mixed.mix  # type: ignore[attr-defined]
    mastered = timed(
        "master", lambda: master(pre_master, settings.master, RATE), args.repeat, seconds
    )
    audio = mastered.audio  # type: ignore[attr-defined]
    print(
        f"{'':34s} → {mastered.integrated_lufs:.2f} LUFS, "  # type: ignore[attr-defined]
        f"{mastered.true_peak_dbtp:.2f} dBTP"  # type: ignore[attr-defined]
    )
    timed(
        "integrated loudness", lambda: meter.integrated_loudness(audio, RATE), args.repeat, seconds
    )
    timed("true peak (4x)", lambda: meter.true_peak_dbtp(audio), args.repeat, seconds)
    if args.pyloudnorm:
        import pyloudnorm

        timed(
            "pyloudnorm (reference)",
            lambda: pyloudnorm.Meter(RATE).integrated_loudness(audio.T),
            1,
            seconds,
        )
    for fmt in AudioFormat:
        timed(
            f"encode {fmt.value}", lambda f=fmt: codec.encode(audio, RATE, f), args.repeat, seconds
        )


if __name__ == "__main__":
    main()
