"""Evaluation suites (YAML data, ``eval/suites/``): which eval examples make each row of a report, and its headline.

An entry selects the examples of ``<dataset>_instructions`` / ``split`` whose ``task`` is in ``tasks``; NER
entries may keep only some ``types`` (BC5CDR-Chem) or ``collapse_types`` into one (NCBI-disease). ``headline`` is
the metric the row reports: one of the names its task family computes (:data:`FAMILY_METRICS`, checked when the
suite is loaded). The ``all`` suite lists no entries: it is every eval split
of every dataset in the hub folder, one row per (dataset, split, task), with the headline derived from the
catalog's official metric for that dataset (:func:`headline_for`, with the overrides of ``data/headlines.yaml``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from biohub.converters.catalog import MetricName, load_catalog
from biohub.errors import BiohubError
from biohub.io import InputError, first_line, hub_offline, local_or_hub, read_hub_split
from biohub.typed import from_mapping, read_yaml

SUITES = Path(__file__).parent / "suites"

HEADLINE_OVERRIDES = Path(__file__).parent / "data" / "headlines.yaml"
Headline = str  # one of FAMILY_METRICS[family] of the row's task family

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

# The metric names each task family computes (biohub.eval.score.compute; each defined in the README's metric table).
# A suite headline must be one of them (or a per-type NER value of one, such as ``f1_mention[Chemical]``).
# *_mention: mention-level (occurrence) P/R/F1; *_text_set: the set of distinct texts per example; *_concept_pair:
# document-level concept-id pairs (BC5CDR CID); tp/fp/fn: the counts behind them.
_MENTION = ("precision_mention", "recall_mention", "f1_mention", "tp_mention", "fp_mention", "fn_mention")
_TEXT_SET = ("precision_text_set", "recall_text_set", "f1_text_set", "tp_text_set", "fp_text_set", "fn_text_set")
_CONCEPT_PAIR = tuple(f"{name}_concept_pair" for name in ("precision", "recall", "f1", "tp", "fp", "fn"))
_SEQEVAL = ("seqeval_precision", "seqeval_recall", "seqeval_f1")
_LABEL = ("accuracy", "micro_f1", "macro_f1")
_GENERATION = ("rouge1", "rouge2", "rougeL", "bleu")
FAMILY_METRICS: dict[str, tuple[str, ...]] = {
    "ner": _MENTION + _TEXT_SET + _SEQEVAL,
    "ner_single": _MENTION + _TEXT_SET,
    "re": _TEXT_SET + _CONCEPT_PAIR,
    "re_binary": (*_LABEL, "f1_positive"),
    "classification": _LABEL,
    "multilabel_classification": ("micro_f1", "macro_f1", "exact_match"),
    "pair_classification": _LABEL,
    "sts": ("pearson",),
    "qa_multiple_choice": ("accuracy",),
    "qa_yesno": _LABEL,
    "qa_factoid": ("precision", "recall", "f1", "strict_accuracy", "lenient_accuracy", "mrr"),
    "qa_list": ("precision", "recall", "f1"),
    "qa_open": _GENERATION,
    "qa_open_context": _GENERATION,
    "qa_summary": _GENERATION,
    "dialogue": _GENERATION,
    "instruction": _GENERATION,
}
HEADLINES: tuple[str, ...] = tuple(sorted({name for names in FAMILY_METRICS.values() for name in names}))


def computes(family: str, metric: str) -> bool:
    """Whether the scorer computes ``metric`` for ``family`` (a per-type ``name[type]`` counts as ``name``)."""
    return metric.split("[", 1)[0] in FAMILY_METRICS.get(family, ())


class SuiteError(BiohubError, ValueError):
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
        for task in entry.tasks:
            if not computes(task, entry.headline):
                known = ", ".join(FAMILY_METRICS[task])
                problem = f"headline {entry.headline!r} is not computed for task {task} ({known})"
                raise SuiteError(f"{path}: entry {entry.name}: {problem}")
    return suite


def headline_overrides(path: Path = HEADLINE_OVERRIDES) -> dict[str, dict[str, str]]:
    """``{dataset: {family: headline}}``: rows of the ``all`` suite whose official metric is not the family's default
    (``data/headlines.yaml``); every headline must be one its family computes."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for dataset, by_family in data.items():
        for family, headline in by_family.items():
            if family not in FAMILY_KIND or not computes(family, headline):
                raise SuiteError(f"{path}: {dataset}: headline {headline!r} is not computed for task {family!r}")
    return data


def headline_for(official: MetricName, family: str, dataset: str = "") -> Headline:
    """The row headline of a dataset's task: the override of ``data/headlines.yaml`` for the dataset, else derived
    from the catalog's official metric name (NER: mention-level F1; RE: F1 over triple texts per example)."""
    override = headline_overrides().get(dataset, {}).get(family)
    if override:
        return override
    kind = FAMILY_KIND[family]
    if family == "qa_factoid":
        return "strict_accuracy"
    if family in ("ner", "ner_single"):
        return "f1_mention"
    fixed = {"triples": "f1_text_set", "spans": "f1", "score": "pearson", "text": "rougeL", "choices": "accuracy"}
    if kind in fixed:
        return fixed[kind]
    if kind == "labels":
        return "macro_f1" if official == "macro_f1" else "micro_f1"
    return {"macro_f1": "macro_f1", "f1": "f1_positive", "micro_f1": "micro_f1"}.get(official, "accuracy")  # type: ignore[return-value]


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
                entries.append(Entry(name, dataset, split, (task,), headline_for(official, task, dataset), group=_group(task)))
    return entries


def _group(family: str) -> str:
    kind = FAMILY_KIND[family]
    if family.startswith("qa_"):
        return "QA"
    if family in ("re", "re_binary"):
        return "RE"
    return {"spans_by_type": "NER", "spans": "NER", "score": "PAIR", "text": "GEN"}.get(kind, "PAIR" if family == "pair_classification" else "TC")
