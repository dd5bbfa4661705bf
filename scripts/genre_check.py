#!/usr/bin/env python3
"""Dev-only check: does an independent, pre-trained audio tagger hear each song's genre?

Run it in the tagger venv made by scripts/setup-tagger.sh (never in the project's .venv: neither
TensorFlow nor the tagger is a songforge dependency)::

    bash scripts/setup-tagger.sh
    .venv-tagger/bin/python scripts/genre_check.py out/genres/*.wav

Each song ``x.wav`` (or .flac/.mp3/.ogg) is expected to have songforge's metadata sheet ``x.json``
beside it; the expected style is its ``["style"]["id"]``. ``x.wav=STYLE`` names the style
explicitly (for files without a sheet).

The tagger
----------
musicnn 0.1.0 (Jordi Pons & Xavier Serra, "musicnn: pre-trained convolutional neural networks for
music audio tagging", ISMIR 2019 LBD; ISC licence), whose trained checkpoints ship inside its PyPI
wheel. Two of them are used, each with 50 tags:

* ``MSD_musicnn`` - trained on the Million Song Dataset's top-50 last.fm tags (rock, pop, jazz,
  metal, punk, blues, country, funk, Hip-Hop, House, electronic, dance, chillout, 80s, ...).
  Test ROC-AUC 0.88.
* ``MTT_musicnn`` - trained on MagnaTagATune (techno, classical, ambient, new age, dance, country,
  metal, rock, pop, plus instrument/vocal descriptors). Test ROC-AUC 0.91.

As in ``musicnn.tagger.top_tags``, a song is cut into consecutive non-overlapping 3 s patches
(187 frames of a 96-band log-mel spectrogram at 16 kHz), each patch is tagged, and the per-tag
sigmoid outputs are averaged over the whole song.

How it is run (faithfully) on Python 3.11 / TensorFlow 2.x / NumPy 2
--------------------------------------------------------------------
musicnn pins numpy<1.17 and tensorflow>=1.14, so it is installed with --no-deps and none of its
site-packages code is patched. The shims live here:

1. *The network.* The checkpoint's own ``.meta`` holds the TF 1.12 training graph. Its inference
   sub-graph (input placeholder -> ``model/Sigmoid``) is cut out, every ``VariableV2`` is replaced
   by a constant holding the checkpoint value, ``RefSwitch`` becomes ``Switch`` (no more ref
   tensors), and the stale ``_output_shapes``/``_class`` annotations that TF 2 refuses are dropped.
   The result runs with ``tf.compat.v1.Session``; the ``is_training`` placeholder is fed False.
   ``--cross-check`` also rebuilds the net from musicnn's own ``models.py`` (through
   ``tf.compat.v1.layers``, i.e. tf-keras) and restores the checkpoint into it: both give the same
   numbers (max |diff| 0.0 on FluidR3-rendered rock/jazz/strings/techno test clips).
2. *The input.* musicnn's ``batch_data`` does ``x = mel.astype(float16); log10(10000 * x + 1)``.
   Under the NumPy it was written for (legacy value-based casting) ``10000 * float16`` is float32;
   under NumPy 2 (NEP 50) it stays float16 and overflows to inf for any mel bin above 6.55, so
   loud music comes out as NaN. We keep the float16 quantisation and upcast before scaling.
3. *Loading.* The wheel's ``checkpoint`` files point at the author's paths, and
   ``musicnn.extractor`` swallows restore errors with a bare ``except`` (it then tags with random
   weights: every song gets the same tags). We read the checkpoint prefix directly and fail loudly.
   Audio is resampled with resampy's ``kaiser_best`` (librosa's default when musicnn was trained);
   librosa's current default (soxr) is used only if resampy is missing.

Verdict rule (documented; change with --top-k)
----------------------------------------------
A style is *recognised* when at least one of its mapped tags (table ``STYLE_TAGS`` below) is among
the top-k (default 5) tags of the MSD model or among the top-k tags of the MTT model. Tags are
namespaced ``msd:`` / ``mtt:`` because the two vocabularies overlap. Each style maps to

* *specific* tags - the style itself (``msd:House`` for house, ``mtt:techno`` for techno); and
* *family* tags - the nearest genre the tagger knows when it has no label for the style (trance,
  drum and bass and synthwave have none: for them ``electronic``/``dance``/``electro`` and, for
  synthwave, ``80s`` are the best a 2019 last.fm/MagnaTagATune tagger can say).

The report says which kind matched. Mood, instrument, vocal and era tags (``instrumental``,
``Mellow``, ``guitar``, ``synth``, ``no vocals``, ...) are never accepted, whatever the style:
every songforge render is instrumental, so ``instrumental`` would make the check pass trivially.
The tagger knows no "lofi", "trap", "cinematic", "trance" or "drum and bass"; those rows are
mapped to the closest genres it does know and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TOP_K = 5
MODELS = ("MSD_musicnn", "MTT_musicnn")

# style id -> (specific tags, family tags). "msd:" = MSD_musicnn label, "mtt:" = MTT_musicnn label.
# fmt: off
STYLE_TAGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rock": (
        ("msd:rock", "msd:classic rock", "msd:hard rock", "msd:alternative rock",
         "msd:indie rock", "msd:Progressive rock", "mtt:rock"),
        ("msd:alternative", "msd:indie"),
    ),
    "metal": (
        ("msd:metal", "msd:heavy metal", "mtt:metal"),
        ("msd:hard rock",),
    ),
    "punk": (
        ("msd:punk",),
        ("msd:hard rock", "msd:alternative rock"),
    ),
    "pop": (
        ("msd:pop", "msd:indie pop", "mtt:pop"),
        ("msd:dance", "msd:rnb"),
    ),
    "house": (
        ("msd:House",),
        ("msd:dance", "msd:electronic", "msd:electronica", "msd:electro",
         "mtt:dance", "mtt:techno", "mtt:electronic"),
    ),
    "techno": (
        ("mtt:techno",),
        ("msd:electronic", "msd:electronica", "msd:electro", "msd:dance", "msd:House",
         "mtt:electronic", "mtt:dance"),
    ),
    "trance": (
        (),  # no trance label in either vocabulary
        ("msd:electronic", "msd:electronica", "msd:dance", "msd:electro",
         "mtt:techno", "mtt:electronic", "mtt:dance"),
    ),
    "drum_and_bass": (
        (),  # no drum-and-bass/jungle label in either vocabulary
        ("msd:electronic", "msd:electronica", "msd:electro", "msd:dance",
         "mtt:techno", "mtt:electronic", "mtt:dance"),
    ),
    "synthwave": (
        ("msd:80s",),  # synthwave is 80s-retro electronic; no synthwave/synthpop label exists
        ("msd:electronic", "msd:electronica", "msd:electro", "msd:dance",
         "mtt:electronic", "mtt:techno"),
    ),
    "hip_hop": (
        ("msd:Hip-Hop",),
        ("msd:rnb",),
    ),
    "trap": (
        ("msd:Hip-Hop",),  # trap is a hip-hop subgenre; no trap label exists
        ("msd:rnb",),
    ),
    "lofi": (
        ("msd:chillout", "msd:chill", "msd:Hip-Hop"),  # lo-fi hip-hop = chill instrumental beats
        ("msd:electronica", "msd:easy listening", "msd:jazz"),
    ),
    "ambient": (
        ("msd:ambient", "mtt:ambient"),
        ("msd:chillout", "msd:chill", "msd:experimental", "mtt:new age"),
    ),
    "jazz": (
        ("msd:jazz",),
        ("msd:easy listening", "msd:soul"),
    ),
    "funk": (
        ("msd:funk",),
        ("msd:soul", "msd:rnb"),
    ),
    "blues": (
        ("msd:blues",),
        ("msd:classic rock", "msd:soul"),
    ),
    "country": (
        ("msd:country", "mtt:country"),
        ("msd:folk",),
    ),
    "cinematic": (
        ("mtt:classical", "mtt:classic"),  # orchestral score; no soundtrack/score label exists
        ("mtt:new age", "msd:ambient", "mtt:ambient"),
    ),
}
# fmt: on


@dataclass
class Result:
    path: Path
    style: str
    seconds: float
    patches: int
    top: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    hits: list[tuple[str, int, str]] = field(default_factory=list)  # (tag, rank, kind)
    # where the style's specific tags rank among all 50 of their model: (tag, rank, probability)
    specific_ranks: list[tuple[str, int, float]] = field(default_factory=list)

    @property
    def recognised(self) -> bool:
        return bool(self.hits)

    @property
    def specific(self) -> bool:
        return any(kind == "specific" for _, _, kind in self.hits)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "style": self.style,
            "seconds": round(self.seconds, 2),
            "patches": self.patches,
            "recognised": self.recognised,
            "specific": self.specific,
            "matched": [{"tag": t, "rank": r, "kind": k} for t, r, k in self.hits],
            "specific_tag_ranks": [
                {"tag": t, "rank": r, "probability": round(p, 4)} for t, r, p in self.specific_ranks
            ],
            "top": {m: [[t, round(p, 4)] for t, p in tags] for m, tags in self.top.items()},
        }


# ----------------------------------------------------------------------------------- the tagger


def _musicnn_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("musicnn")
    if spec is None or spec.origin is None:
        sys.exit(
            "genre_check: musicnn is not installed here; run scripts/setup-tagger.sh and use "
            ".venv-tagger/bin/python"
        )
    return Path(spec.origin).parent


def _labels(model: str) -> list[str]:
    from musicnn import configuration  # plain constants; importing it loads no TensorFlow

    return list(configuration.MSD_LABELS if model.startswith("MSD") else configuration.MTT_LABELS)


def log_mel_patches(path: Path) -> Any:
    """musicnn's batch_data(), with its input maths kept as the pinned NumPy computed it."""
    import librosa
    import numpy as np
    from musicnn import configuration as c

    try:
        import resampy  # noqa: F401

        res_type = "kaiser_best"
    except ImportError:
        res_type = "soxr_hq"
    audio, sr = librosa.load(str(path), sr=c.SR, res_type=res_type)
    mel = librosa.feature.melspectrogram(
        y=audio, sr=sr, hop_length=c.FFT_HOP, n_fft=c.FFT_SIZE, n_mels=c.N_MELS
    ).T
    # Shim 2: float16 storage as in musicnn, but 10000*x evaluated in float32 as legacy NumPy did.
    mel = mel.astype(np.float16).astype(np.float32)
    rep = np.log10(10000.0 * mel + 1.0).astype(np.float32)
    n = librosa.time_to_frames(3, sr=c.SR, n_fft=c.FFT_SIZE, hop_length=c.FFT_HOP) + 1  # 187
    starts = range(0, rep.shape[0] - n + 1, n)
    if not starts:
        raise ValueError(f"{path}: shorter than the tagger's 3 s input")
    return np.stack([rep[t : t + n] for t in starts]), len(audio) / sr


class FrozenTagger:
    """One musicnn checkpoint's inference graph, frozen from its own .meta + weights (shim 1)."""

    def __init__(self, model: str, threads: int) -> None:
        import tensorflow as tf
        from tensorflow.core.framework import graph_pb2
        from tensorflow.core.protobuf import meta_graph_pb2

        tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
        self.model = model
        self.labels = _labels(model)
        prefix = str(_musicnn_dir() / model) + "/"  # shim 3: the checkpoint prefix, not its index
        meta = meta_graph_pb2.MetaGraphDef()
        meta.ParseFromString(Path(prefix + ".meta").read_bytes())
        sub = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, ["model/Sigmoid"])
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        frozen = graph_pb2.GraphDef()
        for node in sub.node:
            new = frozen.node.add()
            if node.op in ("VariableV2", "Variable"):
                new.name, new.op = node.name, "Const"
                new.attr["dtype"].type = node.attr["dtype"].type
                new.attr["value"].tensor.CopyFrom(
                    tf.make_tensor_proto(reader.get_tensor(node.name))
                )
                continue
            new.CopyFrom(node)
            if node.op == "RefSwitch":
                new.op = "Switch"
            for key in ("_output_shapes", "_class"):
                if key in new.attr:
                    del new.attr[key]
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(frozen, name="")
        placeholders = [
            op.outputs[0] for op in self.graph.get_operations() if op.type == "Placeholder"
        ]
        self.x = next(t for t in placeholders if t.dtype == tf.float32 and t.shape.rank == 3)
        self.is_training = next(t for t in placeholders if t.dtype == tf.bool)
        self.y = self.graph.get_tensor_by_name("model/Sigmoid:0")
        if self.y.shape[-1] != len(self.labels):
            raise RuntimeError(f"{model}: {self.y.shape[-1]} outputs for {len(self.labels)} labels")
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads
        )
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)

    def taggram(self, batch: Any) -> Any:
        return self.session.run(self.y, {self.x: batch, self.is_training: False})


def cross_check(batch: Any, tagger: FrozenTagger) -> float:
    """Max |difference| against musicnn's own models.py network (needs tf-keras)."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.compat.v1.layers lives in tf-keras on TF >= 2.16
    import warnings

    import numpy as np
    import tensorflow as tf

    warnings.filterwarnings("ignore", module="musicnn")
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    from musicnn import models

    graph = tf.Graph()
    with graph.as_default():
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, batch.shape[1], batch.shape[2]])
            is_training = tf.compat.v1.placeholder(tf.bool)
            logits = models.define_model(x, is_training, tagger.model, len(tagger.labels))[0]
            y = tf.nn.sigmoid(logits)
        with tf.compat.v1.Session(graph=graph) as session:
            tf.compat.v1.train.Saver().restore(session, str(_musicnn_dir() / tagger.model) + "/")
            reference = session.run(y, {x: batch, is_training: False})
    return float(np.abs(reference - tagger.taggram(batch)).max())


# ---------------------------------------------------------------------------------- the check


def expected_style(arg: str) -> tuple[Path, str]:
    if "=" in arg and not Path(arg).exists():
        file, style = arg.rsplit("=", 1)
        return Path(file), style
    path = Path(arg)
    sheet = path.with_suffix(".json")
    try:
        style = json.loads(sheet.read_text(encoding="utf-8"))["style"]["id"]
    except FileNotFoundError:
        raise SystemExit(
            f"genre_check: {sheet} not found (songforge writes it beside the song; "
            f"or pass {arg}=STYLE)"
        ) from None
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"genre_check: {sheet} has no style.id ({exc})") from None
    return path, str(style)


def judge(style: str, top: dict[str, list[tuple[str, float]]]) -> list[tuple[str, int, str]]:
    specific, family = STYLE_TAGS[style]
    hits = []
    for model, tags in top.items():
        ns = "msd:" if model.startswith("MSD") else "mtt:"
        for rank, (tag, _) in enumerate(tags, 1):
            key = ns + tag
            if key in specific:
                hits.append((key, rank, "specific"))
            elif key in family:
                hits.append((key, rank, "family"))
    return hits


def fmt_top(tags: list[tuple[str, float]]) -> str:
    return ", ".join(f"{t} {p:.2f}" for t, p in tags)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Check that an independent pre-trained tagger (musicnn) hears each song's "
        "genre. Files: songs with songforge metadata JSON beside them, or FILE=STYLE.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Tag map (specific | family):\n"
        + "\n".join(
            f"  {s:14s} {', '.join(sp) or '-'} | {', '.join(fa)}"
            for s, (sp, fa) in STYLE_TAGS.items()
        ),
    )
    ap.add_argument("files", nargs="+", help="song files (x.wav with x.json beside), or FILE=STYLE")
    ap.add_argument(
        "-k",
        "--top-k",
        type=int,
        default=TOP_K,
        help=f"a mapped tag must rank in each model's top-k (default {TOP_K})",
    )
    ap.add_argument("--json", type=Path, help="also write the results to this JSON file")
    ap.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 unless every style is recognised (default: report only)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow threads (default 1: the machine is shared)",
    )
    ap.add_argument(
        "--cross-check",
        action="store_true",
        help="also run musicnn's own models.py network (tf-keras) and compare outputs",
    )
    args = ap.parse_args(argv)

    jobs = [expected_style(a) for a in args.files]
    for path, style in jobs:
        if style not in STYLE_TAGS:
            raise SystemExit(f"genre_check: {path}: unknown style {style!r}")
        if not path.exists():
            raise SystemExit(f"genre_check: {path} not found")

    _musicnn_dir()  # fail early, with a hint, outside the tagger venv
    t0 = time.monotonic()
    taggers = [FrozenTagger(m, args.threads) for m in MODELS]
    import numpy as np

    results: list[Result] = []
    for path, style in jobs:
        batch, seconds = log_mel_patches(path)
        res = Result(path=path, style=style, seconds=seconds, patches=len(batch))
        for tagger in taggers:
            mean = np.asarray(tagger.taggram(batch)).mean(axis=0)
            if not np.all(np.isfinite(mean)):
                raise SystemExit(f"genre_check: {tagger.model} gave non-finite tags for {path}")
            order = mean.argsort()[::-1]
            top = order[: args.top_k]
            res.top[tagger.model] = [(tagger.labels[i], float(mean[i])) for i in top]
            ns = "msd:" if tagger.model.startswith("MSD") else "mtt:"
            for rank, i in enumerate(order, 1):
                if ns + tagger.labels[i] in STYLE_TAGS[style][0]:
                    res.specific_ranks.append((ns + tagger.labels[i], rank, float(mean[i])))
            if args.cross_check:
                diff = cross_check(batch, tagger)
                print(f"  cross-check {tagger.model} {path.name}: max |diff| = {diff:.3g}")
        res.hits = sorted(judge(style, res.top), key=lambda h: (h[2] != "specific", h[1]))
        results.append(res)
        verdict = (
            ("RECOGNISED" if res.specific else "recognised (family)")
            if res.recognised
            else "NOT recognised"
        )
        print(f"{path.name}  style={style}  {seconds:.0f}s/{res.patches} patches  -> {verdict}")
        for model, tags in res.top.items():
            print(f"    {model[:3]} top{args.top_k}: {fmt_top(tags)}")
        if res.hits:
            print("    matched: " + ", ".join(f"{t} (#{r}, {k})" for t, r, k in res.hits))
        else:
            sp, fa = STYLE_TAGS[style]
            print(f"    wanted one of: {', '.join(sp + fa)}")
        if not res.specific and res.specific_ranks:
            res.specific_ranks.sort(key=lambda x: x[1])
            print(
                "    style's own tags rank: "
                + ", ".join(f"{t} #{r} ({p:.3f})" for t, r, p in res.specific_ranks)
            )
        sys.stdout.flush()

    n, m = sum(r.recognised for r in results), len(results)
    ns = sum(r.specific for r in results)
    print()
    print(f"{'style':14s} {'verdict':10s} {'matched':28s} MSD top-3 / MTT top-3")
    for r in results:
        verdict = "specific" if r.specific else "family" if r.recognised else "NO"
        matched = ", ".join(f"{t}#{k}" for t, k, _ in r.hits[:2]) or "-"
        tops = " / ".join(", ".join(t for t, _ in r.top[mdl][:3]) for mdl in MODELS)
        print(f"{r.style:14s} {verdict:10s} {matched:28s} {tops}")
    print(
        f"\n{n}/{m} recognised (top-{args.top_k} of MSD or MTT musicnn; "
        f"{ns}/{m} by a style-specific tag)  [{time.monotonic() - t0:.0f}s]"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "tagger": "musicnn 0.1.0 (MSD_musicnn + MTT_musicnn)",
                    "top_k": args.top_k,
                    "recognised": n,
                    "specific": ns,
                    "total": m,
                    "songs": [r.as_json() for r in results],
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 1 if args.strict and n < m else 0


if __name__ == "__main__":
    sys.exit(main())
