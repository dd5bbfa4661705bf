#!/usr/bin/env bash
# Dev-only: creates the separate virtualenv that scripts/genre_check.py runs in (default
# .venv-tagger/, override with TAGGER_VENV=...). It holds an independent, pre-trained music tagger,
# musicnn 0.1.0 (Pons & Serra, ISMIR 2019 LBD; ISC licence), whose trained weights ship inside its
# PyPI wheel, and a CPU TensorFlow to run them. Nothing here is a songforge runtime dependency and
# nothing is installed into the project's .venv.
#
# musicnn's metadata pins numpy<1.17 and tensorflow>=1.14 (TF1 era: no such wheels for Python
# 3.11), so it is installed with --no-deps next to a current tensorflow-cpu. genre_check.py runs the
# checkpoint's own TF 1.12 inference graph through tf.compat.v1; the compatibility shims live in
# that script, not in site-packages.
#   tf-keras (--no-deps: it would pull the full `tensorflow` wheel over tensorflow-cpu) is only for
#   `genre_check.py --cross-check`, which rebuilds the net with musicnn's own models.py through
#   tf.compat.v1.layers and compares.
#   resampy gives librosa the resampler musicnn was trained and published with (kaiser_best).
#
# Idempotent: a stamp records the pinned set; a rerun with the same pins returns at once.
# Cost (measured on a shared 2-core box): ~310 MB of wheels, ~75 s, 2.0 GB on disk (TensorFlow
# alone is 1.3 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${TAGGER_VENV:-.venv-tagger}"
PINS=("tensorflow-cpu==2.21.0" "librosa==0.11.0" "resampy==0.4.3" "soundfile>=0.12")
NODEPS=("musicnn==0.1.0" "tf-keras==2.21.0")
STAMP="$VENV/.tagger-stamp"
want="$(printf '%s\n' "${PINS[@]}" "${NODEPS[@]}")"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
echo "setup-tagger: installing the dev-only genre tagger into $VENV (TensorFlow CPU + musicnn)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip_q() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"; }
pip_q --upgrade pip
pip_q "${PINS[@]}"
pip_q --no-deps "${NODEPS[@]}"
# Smoke test: the wheel's weights are there and TensorFlow imports.
TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" - <<'EOF'
import importlib.util, os
root = os.path.dirname(importlib.util.find_spec("musicnn").origin)
for m in ("MSD_musicnn", "MTT_musicnn"):
    for f in (".index", ".meta", ".data-00000-of-00001"):
        assert os.path.exists(os.path.join(root, m, f)), f"musicnn weights missing: {m}/{f}"
import tensorflow as tf
assert tf.compat.v1.train.NewCheckpointReader(os.path.join(root, "MSD_musicnn") + "/")
EOF
printf '%s\n' "$want" > "$STAMP"
echo "setup-tagger: ready ($VENV)" >&2
