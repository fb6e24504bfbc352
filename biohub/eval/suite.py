"""Evaluation suites (YAML data, ``eval/suites/``): which eval examples make each row of a report, and its headline.

An entry selects the examples of ``<dataset>_instructions`` / ``split`` whose ``task`` is in ``tasks``; NER
entries may keep only some ``types`` (BC5CDR-Chem) or ``collapse_types`` into one (NCBI-disease). ``headline`` is
the metric the row reports (one of :data:`HEADLINES`). The ``all`` suite lists no entries: it is every eval split
of every dataset in the hub folder, one row per (dataset, split, task), with the headline derived from the
catalog's official metric for that dataset (:func:`headline_for`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from biohub.converters.catalog import MetricName, load_catalog
from biohub.io import read_hub_split
from biohub.typed import from_mapping, read_yaml

SUITES = Path(__file__).parent / "suites"

Headline = Literal[
    "f1", "accuracy", "micro_f1", "macro_f1", "f1_positive", "pearson", "strict_accuracy", "rougeL", "seqeval_f1", "exact_match"
]  # fmt: skip
HEADLINES: tuple[str, ...] = Headline.__args__  # type: ignore[attr-defined]

# The answer kind of each task family (what is parsed, hence which metrics apply).
FAMILY_KIND = {
    "ner": "spans_by_type",
    "ner_single": "spans",
    "re": "triples",
    "re_binary": "label",
    "classification": "label",
    "multilabel_classification": "labels",
    "pair_classification": "label",
    "sts": "score",
    "qa_multiple_choice": "choices",
    "qa_yesno": "label",
    "qa_factoid": "spans",
    "qa_list": "spans",
    "qa_open": "text",
    "qa_open_context": "text",
    "qa_summary": "text",
    "dialogue": "text",
    "instruction": "text",
}


class SuiteError(ValueError):
    """A suite file is malformed or names something the hub folder lacks."""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    dataset: str
    split: str
    tasks: tuple[str, ...]
    headline: Headline
    group: str = ""
    types: tuple[str, ...] | None = None
    collapse_types: bool = False
    reference: str | None = None  # row of the reference table (Taiyi's dataset name)

    @property
    def config(self) -> str:
        return f"{self.dataset}_instructions"


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    description: str = ""
    entries: tuple[Entry, ...] = ()
    auto: bool = False  # every eval split of the hub folder (the `all` suite)


def load_suite(name_or_path: str) -> Suite:
    """A shipped suite by name (``taiyi_style``, ``all``) or a suite YAML file."""
    path = Path(name_or_path)
    if not path.is_file():
        path = SUITES / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in SUITES.glob("*.yaml")))
        raise SuiteError(f"no suite {name_or_path!r} (shipped: {shipped}; or give a YAML file)")
    try:
        suite: Suite = from_mapping(Suite, read_yaml(path, SuiteError, "suite"), str(path))
    except TypeError as exc:
        raise SuiteError(str(exc)) from None
    for entry in suite.entries:
        unknown = [task for task in entry.tasks if task not in FAMILY_KIND]
        if unknown:
            raise SuiteError(f"{path}: entry {entry.name}: unknown task(s) {', '.join(unknown)}")
    return suite


def headline_for(official: MetricName, family: str) -> Headline:
    """The row headline of a dataset's task from the catalog's official metric name."""
    kind = FAMILY_KIND[family]
    if family == "qa_factoid":
        return "strict_accuracy"
    fixed: dict[str, Headline] = {"spans_by_type": "f1", "triples": "f1", "spans": "f1", "score": "pearson", "text": "rougeL", "choices": "accuracy"}
    if kind in fixed:
        return fixed[kind]
    if kind == "labels":
        return "macro_f1" if official == "macro_f1" else "micro_f1"
    return {"macro_f1": "macro_f1", "f1": "f1_positive", "micro_f1": "micro_f1"}.get(official, "accuracy")  # type: ignore[return-value]


def hub_eval_splits(data: str) -> dict[str, list[str]]:
    """``{dataset: [eval split, ...]}`` of a hub folder, from its ``build_info.json``."""
    info_path = Path(data) / "build_info.json"
    if not info_path.is_file():
        from huggingface_hub import hf_hub_download

        info_path = Path(hf_hub_download(data, "build_info.json", repo_type="dataset"))
    info = json.loads(info_path.read_text(encoding="utf-8"))
    splits: dict[str, list[str]] = {}
    for config, counts in sorted(info["configs"].items()):
        if config.endswith("_instructions"):
            evals = [split for split in sorted(counts) if split != "train" and counts[split]]
            if evals:
                splits[config.removesuffix("_instructions")] = evals
    return splits


def resolve(suite: Suite, data: str) -> list[Entry]:
    """The suite's entries; for the ``all`` suite, one per (dataset, eval split, task) found in ``data``."""
    if not suite.auto:
        return list(suite.entries)
    catalog = load_catalog()
    entries = []
    for dataset, splits in hub_eval_splits(data).items():
        official = catalog[dataset].metric.name if dataset in catalog else "accuracy"
        for split in splits:
            tasks = sorted(set(read_hub_split(data, f"{dataset}_instructions", split)["task"]))
            for task in tasks:
                name = f"{dataset}/{split}" + (f"/{task}" if len(tasks) > 1 else "")
                entries.append(Entry(name, dataset, split, (task,), headline_for(official, task), group=_group(task)))
    return entries


def _group(family: str) -> str:
    kind = FAMILY_KIND[family]
    if family.startswith("qa_"):
        return "QA"
    if family in ("re", "re_binary"):
        return "RE"
    return {"spans_by_type": "NER", "spans": "NER", "score": "PAIR", "text": "GEN"}.get(kind, "PAIR" if family == "pair_classification" else "TC")
