"""Evaluation suites (YAML data, ``eval/suites/``): which eval examples make each row of a report, and its headline.

An entry selects the examples of ``<dataset>_instructions`` / ``split`` whose ``task`` is in ``tasks``; NER
entries may keep only some ``types`` (BC5CDR-Chem) or ``collapse_types`` into one (NCBI-disease). ``headline`` is
the metric the row reports: one of the names its task family computes (``eval.metrics`` of the family file,
checked when the suite is loaded). The ``all`` suite lists no entries: it is every eval split
of every dataset in the hub folder, one row per (dataset, split, task), with the headline derived from the
catalog's official metric for that dataset (:func:`headline_for`, with the overrides of ``data/headlines.yaml``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from biohub.converters.catalog import MetricName, load_catalog
from biohub.errors import BiohubError
from biohub.io import InputError, first_line, hub_offline, local_or_hub, read_hub_split
from biohub.templates.library import families
from biohub.templates.registry import unknown_name
from biohub.typed import build_config, load_yaml, read_yaml

SUITES = Path(__file__).parent / "suites"

HEADLINE_OVERRIDES = Path(__file__).parent / "data" / "headlines.yaml"
Headline = str  # one of the metrics of the row's task family (``eval.metrics`` of its family file)


def headlines() -> tuple[str, ...]:
    """Every metric name some task family computes (a possible headline)."""
    return tuple(sorted({name for family in families().values() for name in family.eval.metrics}))


def computes(family: str, metric: str) -> bool:
    """Whether the scorer computes ``metric`` for ``family`` (a per-type ``name[type]`` counts as ``name``)."""
    return family in families() and families()[family].eval.computes(metric)


class SuiteError(BiohubError, ValueError):
    """A suite file is malformed or names something the hub folder lacks."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a report: the examples it scores (dataset, split, task families, optional entity-type filter or
    collapse, optional language), its headline metric, report group and the row of the reference table it compares
    with."""

    name: str
    dataset: str
    split: str
    tasks: tuple[str, ...]
    headline: Headline
    group: str = ""
    types: tuple[str, ...] | None = None
    collapse_types: bool = False
    reference: str | None = None  # row of the reference table (Taiyi's dataset name)
    language: str | None = None  # only the examples of this language (prompt language; None: all)

    @property
    def config(self) -> str:
        """The hub config holding the row's examples (``<dataset>_instructions``)."""
        return f"{self.dataset}_instructions"


@dataclass(frozen=True, slots=True)
class Suite:
    """A suite as loaded from its YAML file: its rows, or ``auto`` for every eval split of the hub folder."""

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
    suite = build_config(Suite, read_yaml(path, SuiteError, "suite"), str(path), SuiteError)
    for entry in suite.entries:
        for task in entry.tasks:
            if task not in families():
                raise SuiteError(f"{path}: entry {entry.name}: {unknown_name('task', task, families())}")
            if not computes(task, entry.headline):
                known = ", ".join(families()[task].eval.metrics)
                problem = f"headline {entry.headline!r} is not computed for task {task} ({known})"
                raise SuiteError(f"{path}: entry {entry.name}: {problem}")
    return suite


def headline_overrides(path: Path = HEADLINE_OVERRIDES) -> dict[str, dict[str, str]]:
    """``{dataset: {family: headline}}``: rows of the ``all`` suite whose official metric is not the family's default
    (``data/headlines.yaml``); every headline must be one its family computes."""
    data = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    for dataset, by_family in data.items():
        for family, headline in by_family.items():
            if not computes(family, headline):
                raise SuiteError(f"{path}: {dataset}: headline {headline!r} is not computed for task {family!r}")
    return data


def headline_for(official: MetricName, family: str, dataset: str = "") -> Headline:
    """The row headline of a dataset's task: the override of ``data/headlines.yaml`` for the dataset, else the family's
    headline for the catalog's official metric name (``eval.headline_by_official``, else ``eval.headline``)."""
    override = headline_overrides().get(dataset, {}).get(family)
    return override or families()[family].eval.headline_for(official)


def build_info_path(data: str) -> Path:
    """``build_info.json`` of a hub folder, or of an explicit Hub id ORG/NAME (downloaded; with HF_HUB_OFFLINE=1 from
    the local cache only). A folder without one, or a name that is neither, is a SuiteError: never a Hub fallback."""
    try:
        found = local_or_hub(data, "hub dataset")
    except InputError as exc:
        raise SuiteError(str(exc)) from None
    if isinstance(found, Path):
        if not (found / "build_info.json").is_file():
            raise SuiteError(f"{found}: no build_info.json (the `all` suite needs a folder written by `biohub build`)")
        return found / "build_info.json"
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(found, "build_info.json", repo_type="dataset", local_files_only=hub_offline()))
    except (OSError, ValueError) as exc:
        where = " (HF_HUB_OFFLINE=1: only the local Hugging Face cache was read)" if hub_offline() else ""
        raise SuiteError(f"{found}: cannot read build_info.json of the Hub dataset{where}: {first_line(exc)}") from None


def hub_eval_splits(data: str) -> dict[str, list[str]]:
    """``{dataset: [eval split, ...]}`` of a hub folder (or Hub id), from its ``build_info.json``."""
    info_path = build_info_path(data)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{info_path}: not a JSON document ({exc})") from None
    splits: dict[str, list[str]] = {}
    for config, counts in sorted(info["configs"].items()):
        if config.endswith("_instructions"):
            evals = [split for split in sorted(counts) if split != "train" and counts[split]]
            if evals:
                splits[config.removesuffix("_instructions")] = evals
    return splits


def resolve(suite: Suite, data: str) -> list[Entry]:
    """The suite's entries; for the ``all`` suite, one per (dataset, eval split, task) found in ``data``, and one per
    language of the task's examples when they have several (``.../<language>``: e.g. ParaMed's two translation
    directions, each prompted in its source language)."""
    if not suite.auto:
        return list(suite.entries)
    catalog = load_catalog()
    entries = []
    for dataset, splits in hub_eval_splits(data).items():
        official = catalog[dataset].metric.name if dataset in catalog else "accuracy"
        for split in splits:
            examples = read_hub_split(data, f"{dataset}_instructions", split)
            languages: dict[str, set[str]] = {}
            for task, language in zip(examples["task"], examples["language"]):
                languages.setdefault(task, set()).add(language)
            for task in sorted(languages):
                name = f"{dataset}/{split}" + (f"/{task}" if len(languages) > 1 else "")
                headline = headline_for(official, task, dataset)
                several = sorted(languages[task]) if len(languages[task]) > 1 else [None]
                for language in several:
                    row = f"{name}/{language}" if language else name
                    entries.append(Entry(row, dataset, split, (task,), headline, group=_group(task), language=language))
    return entries


def _group(family: str) -> str:
    """The report group of a family's rows (``eval.group`` of its file)."""
    return families()[family].eval.group
