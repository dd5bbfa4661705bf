# songforge — `make demo` writes a song, `make test` runs the checks; both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-installed-stamp
# The CPU build of torch (the project machines keep this version's wheel on local disk; an
# unpinned torch would pull a multi-GB CUDA build). Only the tests of the neural providers need it.
TORCH  ?= torch==2.13.0
PROMPT ?= driving 90s alternative rock anthem, 140 bpm, E minor

.PHONY: setup bytecode demo test lint typecheck bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	@bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[analysis]'
	# tinysoundfont declares PyAudio for live playback only (no Linux wheel): install without it
	$(BIN)/python -m pip install -q --no-deps 'tinysoundfont>=0.3.7,<0.4'
	@touch $(STAMP)

# The editable install's modules compiled ahead, as pip does for an installed package (a
# shell with PYTHONDONTWRITEBYTECODE set would otherwise compile them on every command).
bytecode: setup
	@$(BIN)/python -m compileall -q src/songforge benchmarks

demo: bytecode
	$(BIN)/songforge generate "$(PROMPT)" --seed 1 --stems --midi -o out/demo.mp3

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q '$(TORCH)'
	$(BIN)/python -m pip install -q -e '.[dev,analysis,neural]'
	@touch $(TEST_STAMP)

test: setup $(TEST_STAMP)
	@bash scripts/system-deps.sh --test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 --dist loadfile; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

lint:
	$(BIN)/ruff check src tests benchmarks && $(BIN)/ruff format --check src tests benchmarks

bench: bytecode
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-tagger out .pytest_cache .mypy_cache .ruff_cache

# --- dev-only: does an independent pre-trained tagger (musicnn) hear each style's genre? -------
# One 60 s song per style (regenerated every run), then scripts/genre_check.py in its own venv
# (.venv-tagger: TensorFlow CPU + musicnn, ~2 GB, dev only, never a runtime dependency).
GENRES     := rock metal punk pop house techno trance drum_and_bass synthwave hip_hop trap lofi \
              ambient jazz funk blues country cinematic
GENRE_DIR  := out/genres
TAGGER_BIN := .venv-tagger/bin
GENRE_SEED ?= 1

.PHONY: tagger check-genres

tagger:
	@bash scripts/setup-tagger.sh

check-genres: setup tagger
	@mkdir -p $(GENRE_DIR)
	@set -e; for g in $(GENRES); do \
	  echo "generate $$g"; \
	  $(BIN)/songforge generate "$$(echo $$g | tr _ ' ') song" --genre $$g --duration 60 \
	    --seed $(GENRE_SEED) -q -o $(GENRE_DIR)/$$g.wav; \
	done
	$(TAGGER_BIN)/python scripts/genre_check.py --json $(GENRE_DIR)/genre-check.json \
	  $(GENRES:%=$(GENRE_DIR)/%.wav)
