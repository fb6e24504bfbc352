"""lm-evaluation-harness hooks of a ``biohub export --format lm-eval`` folder: score lm-eval's generations exactly as
``biohub score --suite all`` scores them.

The export's ``utils.py`` re-exports :class:`BiohubTask`; every task YAML of the export names it
(``class: !function utils.BiohubTask``) and holds only data: the doc file, the prompt fields and the task's dataset
and family (``metadata``). The class adds what biohub's evaluation defines, so the export never goes stale against it:

- ``generation_kwargs``: greedy, biohub eval's budget of new tokens for the family
  (``eval.max_new_tokens`` of its file), stopping at the model's end of turn only (``until: []``), as biohub's generator;
  a YAML or ``--gen_kwargs`` value still wins;
- ``metric_list``: every metric :func:`biohub.eval.score.compute` reports for the task's docs, plus ``headline``
  (the metric the ``all`` suite reports for that dataset and family) and ``parse_failure_rate``; each aggregated by
  :func:`aggregate`. A task whose docs cannot give its headline is refused when created (:class:`EvalError`, as
  ``biohub score`` refuses the row), never scored 0;
- ``process_results``: :func:`process_results`, one item per metric (the doc's scoring fields and the output).

:func:`aggregate` parses every output of the task with the template's own parser (lenient, as ``biohub score``:
full-width punctuation, a preamble line, a trailing explanation, option text for a letter, ...) and computes the
family's metrics over the whole task; an output that does not parse counts as wrong, as in biohub.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any

from lm_eval.api.task import ConfigurableTask

from biohub.converters.catalog import load_catalog
from biohub.eval.run import EvalError, max_new_tokens
from biohub.eval.score import compute, judge
from biohub.eval.suite import Entry, headline_for

ROW_KEYS = ("id", "source_id", "dataset", "task", "language", "meta", "gold")
HEADLINE = "headline"
PARSE_FAILURE_RATE = "parse_failure_rate"


def process_results(doc: dict[str, Any], results: Sequence[str], metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    """lm-eval ``process_results`` of a ``generate_until`` task: one item per metric name in ``metrics``."""
    if len(results) != 1 or not isinstance(results[0], str):
        raise ValueError(f"doc {doc.get('id')!r}: expected one generated string, got {results!r}")
    row = {key: doc[key] for key in ROW_KEYS}
    return {name: {"metric": name, "row": row, "output": results[0]} for name in metrics}


def aggregate(items: Sequence[dict[str, Any]]) -> float:
    """lm-eval aggregation of every metric: biohub's value of the items' metric over all the task's outputs."""
    if not items:
        return 0.0
    names = {item["metric"] for item in items}
    if len(names) != 1:
        raise ValueError(f"items of several metrics in one aggregation: {sorted(names)}")
    pairs = tuple((json.dumps(item["row"], sort_keys=True, ensure_ascii=False), item["output"]) for item in items)
    values = task_scores(pairs)
    name = names.pop()
    if name not in values:
        raise KeyError(f"biohub computes no metric {name!r} for these docs; it computes {', '.join(sorted(values))}")
    return values[name]


@lru_cache(maxsize=32)
def task_scores(pairs: tuple[tuple[str, str], ...]) -> dict[str, float]:
    """All metrics of one task's (row JSON, output) pairs, as ``biohub score --suite all`` computes its row."""
    rows = [json.loads(row) for row, _ in pairs]
    kinds = {(row["dataset"], row["task"]) for row in rows}
    if len(kinds) != 1:
        raise ValueError(f"one lm-eval task mixes datasets or task families: {sorted(kinds)}")
    dataset, family = kinds.pop()
    judged = [judge(row, output) for row, (_, output) in zip(rows, pairs)]
    entry = Entry(f"{dataset}/{family}", dataset, "", (family,), headline_for(_official(dataset), family, dataset))
    values = dict(compute(entry, judged))
    if entry.headline not in values:  # as biohub score: an error, never a silent 0
        raise EvalError(
            f"lm-eval task {entry.name}: its headline {entry.headline!r} cannot be computed on these docs (computed: "
            f"{', '.join(sorted(values))}); *_mention and *_concept_pair need the gold annotations (meta.gold_kb, with "
            "concept ids for *_concept_pair) that this biohub's instruct/build write: rebuild the hub folder and export it again"
        )
    values[HEADLINE] = values[entry.headline]
    values[PARSE_FAILURE_RATE] = sum(1 for j in judged if not j.parse_ok) / len(judged)
    return values


def _official(dataset: str) -> Any:
    """The catalog's official metric name of ``dataset`` (``accuracy`` for uncatalogued ones), as the ``all`` suite."""
    return _official_metrics().get(dataset, "accuracy")


@cache
def _official_metrics() -> dict[str, Any]:
    """dataset -> official metric name, read from the catalog once per process."""
    return {name: entry.metric.name for name, entry in load_catalog().items()}


def task_metrics(docs: Sequence[dict[str, Any]]) -> list[str]:
    """``headline``, every metric biohub computes for these docs (found by scoring their reference answers: which
    metrics exist depends on the family and on what the docs carry, never on the outputs), ``parse_failure_rate``."""
    if not docs:
        raise ValueError("an lm-eval task without docs")
    pairs = tuple(
        (json.dumps({key: doc[key] for key in ROW_KEYS}, sort_keys=True, ensure_ascii=False), doc["target"]) for doc in docs
    )
    computed = sorted(set(task_scores(pairs)) - {HEADLINE, PARSE_FAILURE_RATE})
    return [HEADLINE, *computed, PARSE_FAILURE_RATE]


def higher_is_better(metric: str) -> bool:
    """Every metric but the parse failure rate, Text2DT's tree edit distance and the false positive / false negative
    counts."""
    return metric not in (PARSE_FAILURE_RATE, "tree_edit_distance") and not metric.startswith(("fp_", "fn_"))


def _docs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The docs of an exported task, read from its data file (one JSON object per line)."""
    path = Path(config["dataset_kwargs"]["data_files"][config["test_split"]])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class BiohubTask(ConfigurableTask):  # type: ignore[misc]  # lm_eval ships no type information: its base class is Any
    """An exported biohub task: the YAML's data fields plus biohub's generation settings and metrics (above)."""

    def __init__(
        self,
        data_dir: str | None = None,
        cache_dir: str | None = None,
        download_mode: Any = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        config = {key: value for key, value in (config or {}).items() if key != "class"}
        family = config["metadata"]["biohub_family"]
        budget = max_new_tokens()[family]
        config.setdefault("generation_kwargs", {"until": [], "max_gen_toks": budget, "do_sample": False})
        try:  # a headline the docs cannot give fails when the task is created, not after generating
            self.biohub_metrics = task_metrics(_docs(config))
        except EvalError as exc:
            raise EvalError(f"{config['dataset_kwargs']['data_files'][config['test_split']]}: {exc}") from None
        config["process_results"] = partial(process_results, metrics=tuple(self.biohub_metrics))
        config["metric_list"] = [
            {"metric": name, "aggregation": aggregate, "higher_is_better": higher_is_better(name)} for name in self.biohub_metrics
        ]
        super().__init__(data_dir=data_dir, cache_dir=cache_dir, download_mode=download_mode, config=config)
