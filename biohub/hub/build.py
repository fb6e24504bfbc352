"""``biohub build RECIPE --mirror DIR --out HUBDIR``: a ready Hugging Face dataset repository folder.

Steps: each dataset is converted and turned into capped training examples and full eval examples (in parallel
worker processes); eval texts are checked against every training text across all datasets and contaminated
training records are dropped, then duplicate training examples; the remaining examples make the
``<dataset>_instructions`` configs and the temperature-mixed ``mix_stage1`` / ``mix_stage2``; finally the card
(README.md with a length histogram), ``decontamination.json`` and ``build_info.json`` are written. The folder is
built beside ``HUBDIR`` and moved into place at the end, so a failed build never leaves a half-written repository.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm.auto import tqdm

import biohub
from biohub.converters.catalog import load_catalog
from biohub.converters.convert import source_bytes
from biohub.errors import ConfigError
from biohub.hub.card import write_card
from biohub.hub.decontam import Report, TextItem, drop_duplicates, find_contaminated
from biohub.hub.mix import mix
from biohub.hub.prepare import load_examples, prepare_dataset, read_json
from biohub.hub.recipe import Recipe
from biohub.hub.shards import write_shards
from biohub.io import InputError, pretrained_source, write_json
from biohub.outputs import BUILD, claim, replacing
from biohub.templates.example import EXAMPLE_FEATURES, InstructionExample
from biohub.templates.instruct import drop_lines


def build(
    recipe: Recipe,
    mirror: Path,
    out: Path,
    *,
    workers: int | None = None,
    verify: bool = True,
    progress: bool = True,
    catalog: Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Build the repository folder ``out`` from ``recipe`` and the corpora in ``mirror``; returns build info.

    ``verify=False`` skips the catalog's sha256 check of source files (for other copies, e.g. the example mirror);
    ``catalog``: a catalog folder to use instead of the built-in one (e.g. the entry ``biohub selfinstruct`` writes).
    ``overwrite``: an earlier build in ``out`` may be replaced (:mod:`biohub.outputs`: any other non-empty folder is
    refused). Unusable paths (see :func:`check_paths`) are InputErrors before any work starts."""
    out = out.resolve()
    check_paths(recipe, mirror, out, overwrite)
    with replacing(out, BUILD, overwrite=overwrite) as repo, tempfile.TemporaryDirectory(
        prefix=f".{out.name}.", suffix=".staging", dir=out.parent
    ) as scratch:
        staging = Path(scratch)
        workers = workers or min(2, os.cpu_count() or 1)
        summaries = _prepare_all(recipe, mirror, repo / "data", staging, workers, verify, progress, catalog)
        report, train = _decontaminate(recipe, staging)
        configs = _write_instruction_configs(recipe, staging, repo / "data", train)
        configs.update(_write_mixes(recipe, repo / "data", train))
        info = {
            "recipe": recipe.to_json(),
            "recipe_sha256": recipe.sha256(),
            "biohub_version": biohub.__version__,
            "datasets": summaries,
            "configs": configs,
        }
        write_json(repo / "decontamination.json", report.to_json())
        write_json(repo / "build_info.json", info)
        lengths = {name: read_json(staging / name / "lengths.json") for name in recipe.datasets}
        write_card(repo, recipe, info, report, lengths, catalog)
    return info


def build_drop_lines(info: dict[str, Any]) -> list[str]:
    """What a build's instruct stage lost, one line per dataset, reason and task with its count (as ``biohub
    instruct`` prints them; the counts are in ``build_info.json`` under ``datasets.<name>.instructions.train``)."""
    ledgers = {name: {"train": summary["instructions"]["train"]} for name, summary in sorted(info["datasets"].items())}
    return drop_lines(ledgers, info["recipe"]["instructions"]["max_length"])


def check_paths(recipe: Recipe, mirror: Path, out: Path, overwrite: bool = False) -> None:
    """Refuse, before any work, what would fail late or destroy data: a missing mirror folder; an ``out`` that
    :func:`biohub.outputs.claim` refuses (a file, a folder under a file, a non-empty folder that is not an earlier
    build, or an earlier build without ``overwrite``); a recipe tokenizer that is a missing folder or an uncached Hub
    id while offline."""
    if not mirror.is_dir():
        raise InputError(f"no such folder {mirror} (--mirror: the local mirror of the corpora)")
    claim(out, BUILD, overwrite=overwrite)
    if recipe.instructions.max_length and recipe.tokenizer != "default":
        pretrained_source(recipe.tokenizer, "tokenizer")


def _prepare_all(
    recipe: Recipe,
    mirror: Path,
    data: Path,
    staging: Path,
    workers: int,
    verify: bool,
    progress: bool,
    catalog: Path | None,
) -> dict[str, Any]:
    names = list(recipe.datasets)
    bar = tqdm(total=len(names), desc="build", unit="dataset", disable=not progress or None)
    summaries: dict[str, Any] = {}
    if workers <= 1:
        for name in names:
            summaries[name] = prepare_dataset(name, recipe, mirror, data, staging, verify, catalog)
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # biggest corpora first, so the workers finish together; results are still read in recipe order
            futures = {
                name: pool.submit(prepare_dataset, name, recipe, mirror, data, staging, verify, catalog)
                for name in _by_size(names, mirror, catalog)
            }
            try:
                for name in names:  # a worker's error is raised here as itself (errors pickle), the first in recipe order
                    summaries[name] = futures[name].result()
                    bar.update(1)
            except BaseException:
                pool.shutdown(cancel_futures=True)  # datasets not started are not prepared in vain
                raise
    bar.close()
    return summaries


def _by_size(names: list[str], mirror: Path, catalog_dir: Path | None) -> list[str]:
    """Dataset names, largest source files first."""
    catalog = load_catalog(catalog_dir)
    return sorted(names, key=lambda name: (-source_bytes(catalog[name], mirror), name))


def _texts(staging: Path, names: list[str]) -> tuple[list[TextItem], list[TextItem], dict[str, str]]:
    train: list[TextItem] = []
    evals: list[TextItem] = []
    by_id: dict[str, str] = {}
    for name in names:
        for row in pq.read_table(staging / name / "texts.parquet").to_pylist():
            item = TextItem(row["record_id"], row["dataset"], row["split"], row["text"])
            (train if row["role"] == "train" else evals).append(item)
            by_id[item.record_id] = item.text
    return train, evals, by_id


def _decontaminate(recipe: Recipe, staging: Path) -> tuple[Report, dict[str, list[InstructionExample]]]:
    """Drop training examples of contaminated records, then duplicates; per dataset, in recipe order."""
    names = list(recipe.datasets)
    train_texts, eval_texts, by_id = _texts(staging, names)
    report = Report(eval_records=len(eval_texts), train_records=len(train_texts))
    report.contaminated = find_contaminated(train_texts, eval_texts, recipe.decontamination)
    dirty = {item["train_id"] for item in report.contaminated}
    clean = [e for name in names for e in load_examples(staging / name / "train.parquet") if e.source_id not in dirty]
    train: dict[str, list[InstructionExample]] = {name: [] for name in names}
    for example in drop_duplicates(clean, by_id, report):
        train[example.dataset].append(example)
    return report, train


def _rows(examples: list[InstructionExample]) -> list[dict[str, Any]]:
    return [example.to_row() for example in examples]


def _write_instruction_configs(
    recipe: Recipe, staging: Path, data: Path, train: dict[str, list[InstructionExample]]
) -> dict[str, dict[str, int]]:
    configs: dict[str, dict[str, int]] = {}
    for name in recipe.datasets:
        for kind in ("source", "unified"):
            counts_of = configs.setdefault(f"{name}_{kind}", {})
            for path in sorted((data / f"{name}_{kind}").glob("*.parquet")):
                split = path.name.split("-")[0]
                counts_of[split] = counts_of.get(split, 0) + pq.read_metadata(path).num_rows
        config = f"{name}_instructions"
        counts = {}
        if train[name]:
            write_shards(data / config, "train", _rows(train[name]), EXAMPLE_FEATURES)
            counts["train"] = len(train[name])
        for path in sorted((staging / name).glob("eval-*.parquet")):
            split = path.stem.removeprefix("eval-")
            rows = pq.read_table(path).to_pylist()
            if write_shards(data / config, split, rows, EXAMPLE_FEATURES):
                counts[split] = len(rows)
        if counts:
            configs[config] = counts
    return configs


def _write_mixes(recipe: Recipe, data: Path, train: dict[str, list[InstructionExample]]) -> dict[str, dict[str, int]]:
    stage1 = set(recipe.mixing.stage1)
    groups = {
        "mix_stage1": {name: [e for e in examples if e.task in stage1] for name, examples in train.items()},
        "mix_stage2": dict(train),
    }
    configs = {}
    for config, group in groups.items():
        mixed = mix({name: rows for name, rows in group.items() if rows}, recipe.mixing.temperature, recipe.seed, config)
        if not mixed:  # e.g. only instructions or QA: no stage-1 task; the config is left out (and from the card)
            continue
        write_shards(data / config, "train", _rows(mixed), EXAMPLE_FEATURES)
        configs[config] = {"train": len(mixed)}
    if not configs:
        raise ConfigError("the recipe has no training examples: mix_stage1 and mix_stage2 would both be empty")
    return configs
