"""One dataset of a build: convert, write its source and unified configs, make capped training and eval examples.

``<dataset>_source`` holds each converted record as its source file has it (verbatim text, file, line/record), the
BigBio "source" view without a per-corpus schema; ``<dataset>_unified`` the record in biohub's unified schema.

Runs in a worker process (datasets are independent); it writes its results as files under the build's staging
folder and returns a small JSON-able summary, so nothing but file paths and counts crosses process boundaries.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from biohub.converters.catalog import load_catalog
from biohub.converters.convert import conversion_info, convert_entry
from biohub.errors import ConfigError
from biohub.hub.decontam import input_text, normalize
from biohub.hub.mix import cap
from biohub.hub.recipe import DatasetPlan, Recipe
from biohub.hub.shards import write_shards
from biohub.io import write_json, write_parquet
from biohub.models import load_tokenizer
from biohub.schema import Record, features_for, to_row
from biohub.templates.example import EXAMPLE_FEATURES, InstructionExample
from biohub.templates.instruct import InstructOptions, Made, SplitStats, apply_length_policy, lost_annotations, make_examples
from biohub.templates.length import TokenCounter
from biohub.templates.tasks import DatasetInfo, record_units
from biohub.text import seeded_digest, seeded_fraction

_TOKENIZERS: dict[str, Any] = {}
EVAL_LENGTH_SAMPLE = 2000  # eval examples measured per split for the length statistics (seeded sample)


def _counter(name: str) -> TokenCounter:
    if name not in _TOKENIZERS:
        _TOKENIZERS[name] = load_tokenizer(name)
    return TokenCounter(_TOKENIZERS[name])


def _held_out(document_id: str, dataset: str, fraction: float) -> bool:
    return seeded_fraction(dataset, "holdout", document_id) < fraction


def partition(
    records: dict[str, list[Record]], plan: DatasetPlan, dataset: str, declared: list[str]
) -> tuple[list[Record], dict[str, list[Record]]]:
    """Training records and eval records per split name, following the plan (holdout by document)."""
    for split in (*plan.train, *plan.eval, *([plan.holdout.split] if plan.holdout else [])):
        if split not in declared:
            raise ConfigError(f"{dataset}: the recipe names split {split!r}, the corpus has {sorted(declared)}")
    records = {split: records.get(split, []) for split in declared}
    train = [r for split in plan.train for r in records[split]]
    evals = {split: list(records[split]) for split in plan.eval}
    if plan.holdout:
        held = plan.holdout
        rows = records[held.split]
        evals.setdefault(held.split, []).extend(r for r in rows if _held_out(r.document_id, dataset, held.eval_fraction))
        train.extend(r for r in rows if not _held_out(r.document_id, dataset, held.eval_fraction))
    return train, evals


def planned_examples(records: list[Record], info: DatasetInfo, options: InstructOptions, plan: DatasetPlan) -> list[Made]:
    """The examples ``biohub instruct`` makes of ``records`` (:func:`make_examples`), of the plan's families only."""
    return [m for m in make_examples(records, info, options) if not plan.families or m[1].family in plan.families]


def capped_examples(
    records: list[Record], info: DatasetInfo, options: InstructOptions, plan: DatasetPlan, seed: int, dataset: str
) -> tuple[list[Made], int]:
    """Training examples (of the plan's families) up to the cap, and how many records they came from.

    Records are visited as the units that make examples together (:func:`record_units`: a record alone, or the
    candidate records of one answer-selection question). Without a cap every record is used. With one, units are
    visited in a seeded order and their examples collected until the cap is reached; the collected examples are
    then trimmed to the cap by a seeded sample and returned in the records' original order. Records beyond the cap
    are never templated."""

    def wanted(unit: list[Record]) -> list[Made]:
        return planned_examples(unit, info, options, plan)

    units = record_units(records, info)
    if plan.cap is None:
        return [m for unit in units for m in wanted(unit)], len(records)
    position = {record.id: index for index, record in enumerate(records)}
    collected: list[Made] = []
    used = 0
    for unit in sorted(units, key=lambda u: seeded_digest(seed, dataset, u[0].id)):
        if len(collected) >= plan.cap:
            break
        collected.extend(wanted(unit))
        used += len(unit)
    chosen = {example.id for example in cap([m[2] for m in collected], plan.cap, seed, dataset)}
    kept = [m for m in collected if m[2].id in chosen]
    kept.sort(key=lambda m: position[m[0].id])  # stable: a record's examples keep their order
    return kept, used


def prepare_dataset(
    name: str,
    recipe: Recipe,
    mirror: Path,
    data_dir: Path,
    staging: Path,
    verify: bool = True,
    catalog: Path | None = None,
) -> dict[str, Any]:
    """Convert ``name``, write ``data/<name>_unified``, stage its examples and texts; return its summary."""
    plan = recipe.datasets[name]
    entry = load_catalog(catalog)[name]
    raw: dict[str, str] = {}
    result = convert_entry(entry, mirror, verify=verify, progress=False, raw_sink=raw)
    features = features_for(result.schema)
    for split, records in sorted(result.records.items()):
        write_shards(data_dir / f"{name}_unified", split, [to_row(r) for r in records], features)
        write_shards(data_dir / f"{name}_source", split, [source_row(r, raw) for r in records], SOURCE_FEATURES)
    conversion = conversion_info(result)  # what `biohub convert` writes as info.json, and `biohub instruct` reads
    info = DatasetInfo.from_info(conversion)
    train_records, eval_records = partition(result.records, plan, name, conversion["splits"])
    train_options = recipe.instructions
    eval_options = replace(train_options, decompose=False)
    counter = _counter(recipe.tokenizer) if train_options.max_length else None
    folder = staging / name

    stats = SplitStats(records=len(train_records), unlabeled=sum(not r.labeled for r in train_records))
    for lost in (lost_annotations(r) for r in train_records if r.labeled):
        if lost:  # skipped by make_examples: a partially labelled record makes no example
            stats.skip_partial(lost)
    made, used = capped_examples(train_records, info, train_options, plan, recipe.seed, name)
    kept = apply_length_policy(made, info, train_options, counter, stats)
    write_parquet(folder / "train.parquet", [e.to_row() for e, _ in kept], EXAMPLE_FEATURES)
    lengths = {"train": [(e.task, n) for e, n in kept if n is not None]}
    ledger = {"train": {**stats.to_json(), "records_used": used}}

    for split, records in eval_records.items():
        examples = [example for _, _, example in planned_examples(records, info, eval_options, plan)]
        write_parquet(folder / f"eval-{split}.parquet", [e.to_row() for e in examples], EXAMPLE_FEATURES)
        # statistics only: eval rows are never dropped
        measured = cap(examples, EVAL_LENGTH_SAMPLE, recipe.seed, f"{name}\x00lengths")
        counts = counter([e.messages for e in measured]) if counter else []
        lengths[split] = [(e.task, n) for e, n in zip(measured, counts)]
        ledger[split] = {
            "records": len(records),
            "examples": len(examples),
            "measured_examples": len(counts),
            "measured_longer_than_max_length": sum(n > train_options.max_length for n in counts),
        }

    used_ids = {example.source_id for example, _ in kept}  # records past the cap made no example: nothing to check
    write_parquet(folder / "texts.parquet", text_rows(name, info, train_records, used_ids, eval_records), TEXT_FEATURES)
    write_json(folder / "lengths.json", lengths)
    return {
        "dataset": name,
        "conversion": {split: ledger_split.to_json() for split, ledger_split in sorted(result.ledger.items())},
        "instructions": ledger,
        "files": result.files,
        "eval_splits": sorted(eval_records),
    }


def text_rows(
    name: str, info: DatasetInfo, train: list[Record], used_ids: set[str], evals: dict[str, list[Record]]
) -> list[dict[str, str]]:
    """The rows of ``texts.parquet`` (what decontamination compares): every eval record, and the training records
    behind the kept training examples (``used_ids``: their source ids). A training example's source id is the first
    record of its unit (:func:`record_units`): every record of the unit is listed under that id, so a leak in any
    candidate of an answer-selection question drops the question's examples."""
    source_of = {record.id: unit[0].id for unit in record_units(train, info) for record in unit}
    texts = [(record, source_of[record.id], "train") for record in train if source_of[record.id] in used_ids]
    texts += [(record, record.id, "eval") for rows in evals.values() for record in rows]
    return [
        {"record_id": record_id, "dataset": name, "split": r.split, "role": role, "text": normalize(input_text(r))}
        for r, record_id, role in texts
    ]


def source_row(record: Record, raw: dict[str, str]) -> dict[str, str]:
    """The ``<dataset>_source`` row of a record: where it came from and its verbatim source text."""
    where = json.loads(record.meta).get("source", {})
    locator = where.get("line", where.get("record", ""))
    return {
        "id": record.id,
        "document_id": record.document_id,
        "split": record.split,
        "source_file": str(where.get("path", "")),
        "source_locator": str(locator),
        "raw": raw[record.id],
    }


def load_examples(path: Path) -> list[InstructionExample]:
    """The instruction examples of one staged parquet file, in file order."""
    return [InstructionExample.from_row(row) for row in pq.read_table(path).to_pylist()]


def _string_features(*names: str) -> Any:
    from datasets import Features, Value

    return Features({name: Value("string") for name in names})


TEXT_FEATURES = _string_features("record_id", "dataset", "split", "role", "text")
SOURCE_FEATURES = _string_features("id", "document_id", "split", "source_file", "source_locator", "raw")


def read_json(path: Path) -> Any:
    """The parsed content of a UTF-8 JSON file (a staged ``lengths.json``, say)."""
    return json.loads(path.read_text(encoding="utf-8"))
