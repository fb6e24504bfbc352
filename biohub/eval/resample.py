"""Bootstrap confidence intervals of a row's headline: resample the row's examples with replacement, recompute.

A row's examples are resampled (``n`` draws with replacement from its ``n`` examples) ``R`` times; the headline of
each resample is a *replicate*, and the 95% interval is the 2.5th and 97.5th percentile of the replicates (the
percentile bootstrap; :func:`percentile_interval`). How a replicate is recomputed depends on the headline
(:func:`row_sample`):

- ``counts``: P/R/F1 headlines whose scorer reports the counts behind them (``f1_mention`` with ``tp_mention``,
  ``fp_mention``, ``fn_mention``; ``f1`` with ``tp``, ...). Each example's (tp, fp, fn) comes from the scorer on that
  example alone; a replicate sums the counts of its examples and computes P, R or F1 from the sums, as the row
  itself (micro) does, never averaging F1s.
- ``mean``: headlines that are a mean of one value per example, declared per scorer in ``data/resampling.yaml``
  (accuracy, exact match, ROUGE, ...); a replicate is the mean of its examples' values.
- ``recompute``: every other headline (macro-F1, correlations, corpus BLEU/chrF, coreference, seqeval): the
  scorer runs on each resample (the slow strategy).

For ``counts`` and ``mean`` the aggregate over all the examples must reproduce the row's value (to 1e-9), or an
:class:`~biohub.eval.score.EvalError` names the row and metric (a wrong declaration or a scorer whose value does
not decompose so). A row's generator is ``numpy.random.default_rng([seed, crc32(row name)])``, so its interval
depends on the run's seed and its own examples only, not on the other rows of the suite.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from biohub.eval.score import EntryResult, EvalError, Judged, TokensLookup, compute
from biohub.eval.suite import Entry
from biohub.templates.library import families
from biohub.templates.registry import METRICS, SCORERS
from biohub.typed import read_yaml

__all__ = [
    "MEANS", "RESAMPLES", "RowSample", "averages", "declared_means", "index_blocks", "percentile_interval", "replicates",
    "row_generator", "row_sample", "sample_from_line", "sample_line", "values_at",
]

MEANS = Path(__file__).parent / "data" / "resampling.yaml"
RESAMPLES = 1000  # bootstrap resamples per row (the floor); 0: no intervals
Strategy = Literal["counts", "mean", "recompute"]
TOLERANCE = 1e-9
_CELLS = 4_000_000  # the most (replicate, example) index cells drawn at once


@dataclass(slots=True)
class RowSample:
    """What a bootstrap of one row resamples: its example ids in order and, per strategy, the per-example statistics
    (``counts``: shape (n, 3), tp/fp/fn of the headline's unit; ``mean``: shape (n,), the per-example value;
    ``recompute``: empty, the judged ``examples`` are kept with the ``entry`` and ``tokens`` to score them again);
    ``draws``: the row's replicates once :func:`biohub.eval.run.score_outputs` has drawn them."""

    strategy: Strategy
    ids: list[str]
    stats: np.ndarray
    metric: str = ""  # the row's headline
    name: str = ""  # the row's name
    examples: list[Judged] = field(default_factory=list, repr=False)
    entry: Entry | None = field(default=None, repr=False)
    tokens: TokensLookup | None = field(default=None, repr=False)
    draws: np.ndarray | None = field(default=None, repr=False)  # the headline per replicate, once drawn


@cache
def declared_means(path: Path = MEANS) -> dict[str, frozenset[str]]:
    """``{scorer: headlines that are a per-example mean}`` of ``data/resampling.yaml``; unknown scorers or metrics
    are errors naming the file."""
    data = read_yaml(path, EvalError, "resampling declarations") or {}
    declared: dict[str, frozenset[str]] = {}
    for scorer, names in sorted(data.items()):
        if scorer not in SCORERS:
            raise EvalError(f"{path}: {scorer!r} is not a scorer ({', '.join(sorted(SCORERS.names()))})")
        unknown = [name for name in names if name not in METRICS]
        if unknown:
            raise EvalError(f"{path}: {scorer}: unknown metric(s) {', '.join(unknown)}")
        declared[scorer] = frozenset(names)
    return declared


def _unit(metric: str) -> str | None:
    """``"mention"`` for ``f1_mention`` (``""`` for a bare ``f1``); None for a metric that is not P, R or F1."""
    for prefix in ("precision", "recall", "f1"):
        if metric == prefix:
            return ""
        if metric.startswith(f"{prefix}_"):
            return metric[len(prefix) + 1 :]
    return None


def _count_names(unit: str) -> tuple[str, str, str]:
    """The tp/fp/fn metric names of a P/R/F1 unit (``tp_mention``; ``tp`` for the bare unit)."""
    suffix = f"_{unit}" if unit else ""
    return f"tp{suffix}", f"fp{suffix}", f"fn{suffix}"


def _strategy(entry: Entry, judged: Sequence[Judged], values: dict[str, float]) -> Strategy:
    """How the row's headline is recomputed on a resample (see the module doc)."""
    unit = _unit(entry.headline)
    if unit is not None and all(name in values for name in _count_names(unit)):
        return "counts"
    if entry.headline in declared_means().get(families()[judged[0].task].eval.scorer, frozenset()):
        return "mean"
    return "recompute"


def row_sample(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None, values: dict[str, float]) -> RowSample:
    """The bootstrap sample of one row (``values``: the row's metrics over all ``judged``): per-example statistics
    from the scorer on each example alone (``counts``, ``mean``), or the examples kept (``recompute``). An aggregate
    that does not reproduce the row's headline is an :class:`EvalError` naming the row and metric."""
    strategy = _strategy(entry, judged, values)
    ids = [j.id for j in judged]
    if strategy == "recompute":
        return RowSample(strategy, ids, np.empty(0), entry.headline, entry.name, list(judged), entry, tokens)
    # tokens only feed seqeval_*, always recomputed: the per-example values of counts and mean rows never need them
    per_example = [compute(entry, [j], None) for j in judged]
    names = _count_names(_unit(entry.headline) or "") if strategy == "counts" else (entry.headline,)
    for j, one in zip(judged, per_example):
        if any(name not in one for name in names):
            raise EvalError(f"row {entry.name}: {entry.headline}: the scorer gives no {'/'.join(names)} on example {j.id} alone")
    if strategy == "counts":
        stats = np.array([[one[name] for name in names] for one in per_example], dtype=np.int64).reshape(len(judged), 3)
        full = _from_counts(stats.sum(axis=0, keepdims=True), entry.headline)[0]
        expected_counts = [values[name] for name in names]
        if stats.sum(axis=0).tolist() != expected_counts:
            raise EvalError(
                f"row {entry.name}: {entry.headline}: per-example counts sum to {stats.sum(axis=0).tolist()}, the row "
                f"has {expected_counts} ({', '.join(names)}): the scorer's counts do not add up over examples"
            )
    else:
        stats = np.array([one[entry.headline] for one in per_example], dtype=np.float64)
        full = float(stats.mean())
    if abs(full - values[entry.headline]) > TOLERANCE:
        raise EvalError(
            f"row {entry.name}: {entry.headline}: aggregated as per-example {strategy}, its examples give {full!r}; the "
            f"row's value is {values[entry.headline]!r}: the headline does not decompose so (check {MEANS.name})"
        )
    return RowSample(strategy, ids, stats, entry.headline, entry.name)


def _from_counts(sums: np.ndarray, metric: str) -> np.ndarray:
    """P, R or F1 (as ``metric`` names) of each row of summed (tp, fp, fn), 0.0 where undefined (as ``metrics.prf``)."""
    tp, fp, fn = (sums[:, i].astype(np.float64) for i in range(3))
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    if metric.startswith("precision"):
        return precision
    if metric.startswith("recall"):
        return recall
    both = precision + recall
    f1: np.ndarray = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return f1


def row_generator(seed: int, name: str) -> np.random.Generator:
    """The row's own generator: ``default_rng([seed mod 2**32, crc32(row name)])``."""
    return np.random.default_rng([seed % 2**32, zlib.crc32(name.encode("utf-8"))])


def index_blocks(n: int, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The (replicate, example) index matrix of ``resamples`` bootstrap resamples of ``n`` examples, drawn from ``rng``
    in blocks of rows (at most about four million cells each): every strategy, and both runs of a paired comparison,
    draw the same matrix from the same generator."""
    block = max(1, _CELLS // max(n, 1))
    for start in range(0, resamples, block):
        yield rng.integers(0, n, size=(min(block, resamples - start), n))


def replicates(sample: RowSample, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The headline of each of ``resamples`` bootstrap resamples of the row's examples (shape (resamples,)), over the
    index matrix of :func:`index_blocks`."""
    values = np.empty(resamples, dtype=np.float64)
    scored: dict[tuple[int, ...], float] = {}  # recompute: the headline of each multiset of examples scored so far
    start = 0
    for index in index_blocks(len(sample.ids), resamples, rng):
        values[start : start + len(index)] = values_at(sample, index, scored)
        start += len(index)
    return values


def values_at(sample: RowSample, index: np.ndarray, scored: dict[tuple[int, ...], float] | None = None) -> np.ndarray:
    """The headline of the resamples of one block of an index matrix (one resample per row of ``index``, examples by
    their position in ``sample.ids``). A recompute resample is scored with its examples in index order, once per
    multiset (``scored``, a cache kept across blocks; small rows repeat multisets often): a resample's order is
    arbitrary, and the scorers do not depend on it."""
    if sample.strategy == "counts":
        return _from_counts(sample.stats[index].sum(axis=1), sample.metric)
    if sample.strategy == "mean":
        return np.asarray(sample.stats[index].mean(axis=1), dtype=np.float64)
    if sample.entry is None:
        raise ValueError(f"row {sample.name}: a recompute sample needs its entry and examples")
    entry, examples = sample.entry, sample.examples
    cache = {} if scored is None else scored
    values = []
    for row in np.sort(index, axis=1).tolist():
        key = tuple(row)
        if key not in cache:
            cache[key] = compute(entry, [examples[i] for i in row], sample.tokens).get(sample.metric, 0.0)
        values.append(cache[key])
    return np.array(values, dtype=np.float64)


def percentile_interval(replicate_values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The percentile-bootstrap interval: the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the
    replicates (numpy's linear interpolation)."""
    low, high = np.percentile(replicate_values, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(low), float(high)


def averages(results: Sequence[EntryResult], draws: dict[str, np.ndarray]) -> dict[str, Any]:
    """The mean of the rows' headlines, overall and per report group, with its 95% interval: the rows are
    independent samples, so replicate r of an average is the mean over its rows of each row's replicate r
    (``draws``: row name -> replicates; an interval is None when a row has none)."""

    def average(rows: list[EntryResult]) -> dict[str, Any]:
        value = sum(r.value for r in rows) / len(rows)
        interval = None
        if all(r.name in draws for r in rows):
            low, high = percentile_interval(np.mean([draws[r.name] for r in rows], axis=0))
            interval = [low, high]
        return {"value": value, "interval": interval, "rows": len(rows)}

    groups: dict[str, list[EntryResult]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    overall = average(list(results)) if results else None
    return {"overall": overall, "groups": {group: average(rows) for group, rows in groups.items()}}


def sample_line(sample: RowSample) -> dict[str, Any]:
    """One line of ``samples.jsonl``: name, metric, strategy, ids and the per-example stats as lists (None for a
    recompute row). A recompute row also carries what scoring it again needs (:func:`sample_from_line`): its judged
    ``examples`` (every :class:`~biohub.eval.score.Judged` field), its suite ``entry`` and, for token (seqeval) rows,
    ``tokens``: source id -> [tokens, gold tags] of its examples."""
    line: dict[str, Any] = {"name": sample.name, "metric": sample.metric, "strategy": sample.strategy, "ids": sample.ids}
    line["stats"] = None if sample.strategy == "recompute" else sample.stats.tolist()
    if sample.strategy == "recompute":
        line["examples"] = [dataclasses.asdict(j) for j in sample.examples]
        line["entry"] = None if sample.entry is None else dataclasses.asdict(sample.entry)
        if sample.tokens is not None:
            found = {j.source_id: sample.tokens(j.source_id) for j in sample.examples}
            line["tokens"] = {key: [list(pair[0]), list(pair[1])] for key, pair in sorted(found.items()) if pair is not None}
    return line


def sample_from_line(line: dict[str, Any]) -> RowSample:
    """The :class:`RowSample` of a ``samples.jsonl`` line (:func:`sample_line`); a recompute row written by an older
    biohub, without its examples, comes back without them (``entry`` None: it cannot be resampled)."""
    strategy: Strategy = line["strategy"]
    if strategy != "recompute":
        stats = np.array(line["stats"], dtype=np.int64 if strategy == "counts" else np.float64)
        return RowSample(strategy, list(line["ids"]), stats.reshape(len(line["ids"]), 3) if strategy == "counts" else stats,
                         line["metric"], line["name"])
    if line.get("entry") is None:
        return RowSample(strategy, list(line["ids"]), np.empty(0), line["metric"], line["name"])
    fields = line["entry"]
    types = None if fields["types"] is None else tuple(fields["types"])
    entry = Entry(**(fields | {"tasks": tuple(fields["tasks"]), "types": types}))
    examples = [Judged(**(example | {"labels": tuple(example["labels"])})) for example in line["examples"]]
    tokens: TokensLookup | None = None
    if "tokens" in line:
        table = {key: (list(pair[0]), list(pair[1])) for key, pair in line["tokens"].items()}
        tokens = table.get
    return RowSample(strategy, list(line["ids"]), np.empty(0), line["metric"], line["name"], examples, entry, tokens)
