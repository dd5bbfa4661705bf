"""The offline engine: prompt → plan → composition → score → audio → mix → master.

Each stage is a pure function or a backend behind a small interface; this module only wires
them and reports progress at every stage boundary (where cancellation takes effect).

Rendering and mixing overlap: render helpers on both cores render a part and run its mix chain,
and this process places each finished part into the mix (in a fixed order) and hands its stem to
an in-memory FLAC encoder, so only a few song-length arrays exist at any time."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from songforge import __version__
from songforge.compose.composer import arrange, compose
from songforge.compose.score import Part, Score
from songforge.compose.summary import chords_by_bar, section_table
from songforge.plan import SongPlan, resolve_plan
from songforge.progress import Progress, ProgressCallback, ignore_progress
from songforge.prompt.understand import Interpretation, understand
from songforge.render import meter
from songforge.render.codec import StreamEncoder
from songforge.render.master import master
from songforge.render.mix import Mixer, MixResult, Processed
from songforge.render.pages import small_pages
from songforge.render.soundfont import find_soundfont
from songforge.render.sources import stream_parts
from songforge.render.stems import FlacStems
from songforge.request import SongRequest
from songforge.seeding import rng_for
from songforge.settings import Settings
from songforge.song import Song
from songforge.styles.catalog import StyleCatalog, default_catalog
from songforge.styles.schema import Style

ENGINE_NAME = "songforge"


def choose_seed(request: SongRequest) -> int:
    """The request's seed, or one drawn from the OS (recorded in the metadata for replay)."""
    if request.seed is not None:
        return request.seed
    return int(np.random.SeedSequence().generate_state(1)[0])


class _Stages:
    """Counts stage boundaries and reports them."""

    def __init__(self, callback: ProgressCallback, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def start(self, stage: str) -> None:
        self.callback(Progress(stage, self.done, self.total))

    def finish(self) -> None:
        self.done += 1


@contextlib.contextmanager
def _settled_heap() -> Iterator[None]:
    """Everything alive before a song is moved out of the cyclic collector's way while the
    song is made: composing makes many small objects, and each full collection otherwise walked
    every imported module's objects too (~0.2 s a song). Nothing is freed later than it would
    be once the block ends, as frozen objects are only those that already existed."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _soundfont(settings: Settings) -> Path | None:
    if not settings.use_soundfont:
        return None
    return find_soundfont(settings.soundfont)


def generate(
    request: SongRequest,
    *,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    catalog: StyleCatalog | None = None,
) -> Song:
    """Make a whole mastered song from a request (the library's main entry point)."""
    settings = settings or Settings()
    stages = _Stages(progress or ignore_progress, total=5)
    with _settled_heap():
        catalog = catalog or default_catalog()
        stages.start("understand")
        seed = choose_seed(request)
        interpretation = understand(request.prompt, catalog)
        plan = resolve_plan(request, interpretation, catalog, seed)
        stages.finish()
        stages.start("compose")
        composition = compose(plan)
        stages.finish()
        stages.start("arrange")
        score = arrange(composition, plan.style, plan)
        stages.finish()
        return _perform(
            request, plan, score, settings, stages, interpretation, _soundfont(settings)
        )


def remix(
    sheet: dict[str, Any],
    *,
    genre: str,
    seed: int | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    catalog: StyleCatalog | None = None,
) -> Song:
    """Re-arrange a song's composition (from its metadata sheet) in another style."""
    from songforge.compose.serialize import composition_from_dict

    settings = settings or Settings()
    catalog = catalog or default_catalog()
    style = catalog.resolve(genre)
    composition = composition_from_dict(sheet["composition"])
    original = SongRequest.model_validate(sheet["request"])
    request = original.model_copy(update={"genre": style.id, "bpm": None, "seed": seed})
    stages = _Stages(progress or ignore_progress, total=5)
    stages.start("understand")
    seed = seed if seed is not None else int(sheet.get("seed", 0))
    low, high = style.tempo_bpm
    tempo = composition.tempo_bpm
    while tempo > high and tempo / 2 >= low:  # halve or double into the new style's range
        tempo /= 2
    while tempo < low and tempo * 2 <= high:
        tempo *= 2
    tempo = min(max(tempo, low), high)
    composition = dataclasses.replace(composition, tempo_bpm=tempo)
    total_s = composition.seconds(composition.total_beats + composition.ending_beats)
    plan = SongPlan(
        style=style,
        key=composition.key,
        tempo_bpm=tempo,
        tempo_locked=True,
        time_signature=composition.time_signature,
        duration_s=total_s,
        structure=tuple(s.kind for s in composition.sections),
        seed=seed,
        energy=style.energy,
        mood=original.mood,
        sources={"genre": "request", "composition": "remix"},
    )
    stages.finish()
    stages.start("compose")
    stages.finish()
    with _settled_heap():
        stages.start("arrange")
        score = arrange(composition, style, plan)
        stages.finish()
        song = _perform(request, plan, score, settings, stages, None, _soundfont(settings))
    song.metadata["remix_of"] = {
        "style": sheet.get("style", {}).get("id"),
        "seed": sheet.get("seed"),
        "audio_sha256": sheet.get("audio", {}).get("sha256"),
    }
    return song


def _perform(
    request: SongRequest,
    plan: SongPlan,
    score: Score,
    settings: Settings,
    stages: _Stages,
    interpretation: Interpretation | None,
    soundfont: Path | None,
) -> Song:
    style = plan.style
    rate = request.sample_rate
    stems = FlacStems(rate) if settings.keep_stems else None
    encoders: list[StreamEncoder] = []

    def encode_as_written(out: np.ndarray) -> StreamEncoder:
        """The requested format starts encoding while the master is still measuring."""
        encoders.append(StreamEncoder(out, rate, request.format))
        return encoders[-1]

    try:
        # BLAS stays on one thread: the render lanes and helper threads already fill the cores
        with meter.single_threaded_blas(), small_pages():
            mixed = _render_and_mix(score, style, rate, soundfont, stems, settings, stages)
            stem_scale = mixed.stem_scale
            stages.start("master")
            mastered = master(
                mixed.mix,
                style.mix.master,
                rate,
                in_place=True,
                tap=encode_as_written,
                spare=mixed.spare,
            )
            del mixed
            stages.finish()
    except BaseException:
        if stems is not None:
            stems.abort()
        for encoder in encoders:
            encoder.cancel()
        raise
    metadata = build_metadata(
        request,
        plan,
        score,
        style,
        interpretation,
        mastered.integrated_lufs,
        mastered.true_peak_dbtp,
        mastered.audio.shape[-1] / rate,
        soundfont,
    )
    song = Song(
        request=request,
        audio=mastered.audio,
        sample_rate_hz=rate,
        metadata=metadata,
        stems=stems.finish(stem_scale) if stems is not None else {},
        score=score,
    )
    for encoder in encoders:
        song.prefetch(request.format, encoder)
    return song


def _render_and_mix(
    score: Score,
    style: Style,
    rate: int,
    soundfont: Path | None,
    stems: FlacStems | None,
    settings: Settings,
    stages: _Stages,
) -> MixResult:
    """Render every part and mix it as it arrives (one progress stage per part, then "mix")."""
    parts = list(score.parts)
    mixer = Mixer(score, style.mix, rate, round(score.duration_s * rate), sink=stems)
    stages.total += len(parts) - 1
    stages.start("render")
    placed = 0

    def finish(
        part: Part, dry: np.ndarray, out: np.ndarray | None, centred: bool
    ) -> tuple[np.ndarray, Processed]:
        return mixer.process(part, dry, in_place=True, out=out, centred=centred)

    def place(part: Part, processed: np.ndarray, note: Processed) -> None:
        nonlocal placed
        mixer.place(part, processed, note)
        placed += 1
        stages.finish()
        if placed < len(parts):
            stages.start("render")

    stream_parts(
        parts,
        score.tempo_bpm,
        score.duration_s,
        rate,
        soundfont,
        place,
        finish=finish,
        extra_cost=mixer.estimated_cost_s,
    )
    if not parts:
        stages.finish()
    stages.start("mix")
    mixed = mixer.finish(settings.render_workers)
    stages.finish()
    return mixed


def build_metadata(
    request: SongRequest,
    plan: SongPlan,
    score: Score,
    style: Style,
    interpretation: Interpretation | None,
    integrated_lufs: float,
    true_peak_dbtp: float,
    duration_s: float,
    soundfont: Path | None,
) -> dict[str, Any]:
    """The metadata sheet (the audio file's hash is added when it is encoded)."""
    from songforge.compose.serialize import composition_to_dict
    from songforge.styles.schema import SoundSource

    composition = score.composition
    instruments = {}
    for part in score.parts:
        uses_font = soundfont is not None and part.instrument.source is SoundSource.SOUNDFONT
        instruments[part.name] = {
            "role": part.role.value,
            "source": "soundfont" if uses_font else "synth",
            "gm_program": part.instrument.gm_program,
            "gm_drum_kit": part.instrument.gm_drum_kit,
            "synth": (part.instrument.synth or part.instrument.synth_kit or "").__str__() or None,
            "notes": len(part.notes),
        }
    return {
        "engine": {"name": ENGINE_NAME, "version": __version__},
        "provider": "songforge",
        "request": request.model_dump(mode="json"),
        "seed": plan.seed,
        "style": {"id": style.id, "name": style.name},
        "inferred": {
            "sources": plan.sources,
            "style_scores": dict(interpretation.style_scores[:5]) if interpretation else {},
            "mood": plan.mood,
            "energy": round(plan.energy, 3),
        },
        "tempo_bpm": round(score.tempo_bpm, 3),
        "key": composition.key.name,
        "time_signature": composition.time_signature.value,
        "sections": section_table(composition),
        "chords_by_bar": chords_by_bar(composition),
        "instruments": instruments,
        "soundfont": soundfont.name if soundfont else None,
        "loudness": {
            "integrated_lufs": round(float(integrated_lufs), 2),
            "true_peak_dbtp": round(float(true_peak_dbtp), 2),
        },
        "duration_s": round(float(duration_s), 3),
        "composition": composition_to_dict(composition),
    }


def explain(prompt: str, catalog: StyleCatalog | None = None) -> Interpretation:
    """How the prompt is understood (what `songforge explain` prints)."""
    return understand(prompt, catalog or default_catalog())


_ = (math, rng_for)
