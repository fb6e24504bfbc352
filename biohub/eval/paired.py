"""Paired comparisons of two runs scored on the same examples: the difference of a row's headline, its
paired-bootstrap interval and a p-value, and Holm's correction over the rows tested.

Two runs are paired row by row through their ``samples.jsonl`` (:func:`biohub.eval.resample.sample_line`): a row is
compared only when both runs scored it on the same example ids (in any order; they are aligned by id) with the same
headline and resampling strategy; otherwise the row is not paired and :func:`pair_row` says why (:class:`PairingError`).
For a row, ``delta`` = headline of the other run − headline of the first (in the metric's units, like ``value``), and:

- **interval**: the paired percentile bootstrap: ``R`` resamples of the row's examples, the *same* indices for both
  runs (one index matrix from the row's generator, :func:`biohub.eval.resample.row_generator` with the report's
  seed), each replicate's difference of the two recomputed headlines; the 2.5th and 97.5th percentiles.
- **p-value**: for rows whose per-example values are all 0 or 1 in both runs (accuracy-like ``mean`` rows) the exact
  McNemar test: b = examples right in the first run only, c = right in the other only, two-sided binomial test of
  min(b, c) among b + c at 1/2 (``scipy.stats.binomtest``), 1.0 when b + c = 0. Otherwise (F1 from counts, ROUGE and
  other means, recomputed metrics) the paired bootstrap test of the null "no difference" by shifting the
  replicates: p = (1 + #{r : |δ*_r − δ| ≥ |δ|}) / (R + 1) (Efron & Tibshirani 1993, §16.4; Koehn 2004's paired
  bootstrap with the shift made explicit). A difference of exactly 0 has p = 1.
- **Holm** (optional): the step-down adjustment of the p-values of the rows tested in one comparison
  (:func:`holm`), monotone and capped at 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.stats import binomtest

from biohub.eval.resample import RowSample, index_blocks, percentile_interval, row_generator, sample_from_line, values_at
from biohub.eval.score import EvalError

__all__ = [
    "ALPHA", "NO_SAMPLES", "Paired", "PairingError", "holm", "load_samples", "mcnemar", "pair_row", "pair_runs",
    "shifted_bootstrap_p",
]

ALPHA = 0.05  # the significance level of the report's mark
NO_SAMPLES = "run {run} has no samples.jsonl (scored with --resamples 0 or by a biohub without intervals)"
Test = Literal["McNemar exact", "paired bootstrap"]


class PairingError(EvalError):
    """Two runs' rows cannot be paired (other examples, another headline, no samples): the message names the row, the
    runs and the reason."""


@dataclass(frozen=True, slots=True)
class Paired:
    """One row of a paired comparison, in the headline's units: ``delta`` = other − first, its paired-bootstrap
    ``interval``, the ``p`` value of ``test`` over ``resamples`` replicates and ``n`` examples."""

    name: str
    delta: float
    interval: tuple[float, float]
    p: float
    test: Test
    n: int
    resamples: int


def load_samples(folder: Path) -> dict[str, RowSample] | None:
    """``{row name: RowSample}`` of a run's ``samples.jsonl``; None when the run has none (scored with ``--resamples 0``
    or by a biohub without intervals). A line that is not a row's sample (edited, truncated, of another tool) is an
    :class:`EvalError` naming the file and line."""
    path = folder / "samples.jsonl"
    if not path.is_file():
        return None
    samples = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            sample = sample_from_line(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise EvalError(f"{path}:{number}: not a row sample written by biohub score/eval ({reason})") from None
        samples[sample.name] = sample
    return samples


def _aligned(first: RowSample, other: RowSample, runs: tuple[str, str]) -> RowSample:
    """``other`` with its examples in the order of ``first``'s ids; a :class:`PairingError` when the two rows cannot
    be paired (the message names the row and both runs)."""
    where = f"row {first.name}: runs {runs[0]} and {runs[1]}"
    if first.metric != other.metric:
        raise PairingError(f"{where} have different headlines ({first.metric} vs {other.metric})")
    if first.strategy != other.strategy:
        raise PairingError(f"{where} resample their headline differently ({first.strategy} vs {other.strategy})")
    if len(set(first.ids)) != len(first.ids) or len(set(other.ids)) != len(other.ids):
        raise PairingError(f"{where}: an example id occurs twice in the row, examples cannot be aligned by id")
    if set(first.ids) != set(other.ids):
        only_first, only_other = len(set(first.ids) - set(other.ids)), len(set(other.ids) - set(first.ids))
        raise PairingError(
            f"{where} were scored on different examples ({len(first.ids)} vs {len(other.ids)}; {only_first} only in "
            f"{runs[0]}, {only_other} only in {runs[1]}): other --limit, --seed or data"
        )
    for sample, run in ((first, runs[0]), (other, runs[1])):
        if sample.strategy == "recompute" and sample.entry is None:
            raise PairingError(f"{where}: samples.jsonl of {run} lacks the row's examples (scored by an older biohub)")
    position = {key: index for index, key in enumerate(other.ids)}
    order = [position[key] for key in first.ids]
    if other.strategy == "recompute":
        examples = [other.examples[i] for i in order]
        return RowSample("recompute", list(first.ids), other.stats, other.metric, other.name, examples, other.entry, other.tokens)
    return RowSample(other.strategy, list(first.ids), other.stats[order], other.metric, other.name)


def mcnemar(first: np.ndarray, other: np.ndarray) -> float:
    """The two-sided exact McNemar p-value of two runs' per-example 0/1 values on the same examples: b = right in
    ``first`` only, c = right in ``other`` only, ``binomtest(min(b, c), b + c, 0.5)``; 1.0 when b + c = 0."""
    b = int(np.sum((first == 1) & (other == 0)))
    c = int(np.sum((first == 0) & (other == 1)))
    return 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)


def shifted_bootstrap_p(delta: float, replicate_deltas: np.ndarray) -> float:
    """The paired bootstrap p-value of the null "no difference": the replicates shifted to mean 0 by the observed
    ``delta``, p = (1 + #{|δ* − δ| ≥ |δ|}) / (R + 1); 1.0 when ``delta`` is 0."""
    if delta == 0:
        return 1.0
    extreme = int(np.sum(np.abs(replicate_deltas - delta) >= abs(delta)))
    return (1 + extreme) / (len(replicate_deltas) + 1)


def _binary(sample: RowSample) -> bool:
    return sample.strategy == "mean" and bool(np.all((sample.stats == 0) | (sample.stats == 1)))


def pair_row(first: RowSample, other: RowSample, resamples: int, seed: int, runs: tuple[str, str]) -> Paired:
    """The paired comparison of one row of two runs (``runs``: their names, for messages): ``other`` aligned by id to
    ``first``, ``resamples`` replicates over one index matrix from ``row_generator(seed, row name)`` applied to both,
    McNemar's exact test for 0/1 rows and the shifted paired bootstrap otherwise (module doc). A row that cannot be
    paired is a :class:`PairingError`."""
    if resamples < 1:
        raise EvalError(f"--resamples must be a positive number of resamples for paired comparisons, not {resamples}")
    aligned = _aligned(first, other, runs)
    whole = np.arange(len(first.ids))[None, :]
    delta = float(values_at(aligned, whole)[0] - values_at(first, whole)[0])
    deltas = np.empty(resamples, dtype=np.float64)
    start = 0
    cache_first: dict[tuple[int, ...], float] = {}  # recompute rows: each multiset of examples is scored once per run
    cache_other: dict[tuple[int, ...], float] = {}
    for index in index_blocks(len(first.ids), resamples, row_generator(seed, first.name)):
        deltas[start : start + len(index)] = values_at(aligned, index, cache_other) - values_at(first, index, cache_first)
        start += len(index)
    if _binary(first) and _binary(aligned):
        test: Test = "McNemar exact"
        p = mcnemar(first.stats, aligned.stats)
    else:
        test, p = "paired bootstrap", shifted_bootstrap_p(delta, deltas)
    return Paired(first.name, delta, percentile_interval(deltas), p, test, len(first.ids), resamples)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, in the order given: the i-th smallest of m p-values times (m − i + 1), made
    non-decreasing in that order and capped at 1 (``[0.01, 0.04, 0.03]`` -> ``[0.03, 0.06, 0.06]``)."""
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: (pvalues[i], i))):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def pair_runs(
    folders: tuple[Path, Path], runs: tuple[str, str], names: Sequence[str], resamples: int, seed: int, correct: bool
) -> dict[str, Any]:
    """The paired comparison of run ``folders[1]`` against the first on the rows ``names`` (those both runs' results
    have; ``runs``: the runs' names): ``rows``: row name -> ``{"delta", "interval", "p", "p_holm", "test", "n",
    "significant"}`` (headline units; ``p_holm`` None unless ``correct``, then over the rows tested here and used for
    ``significant``: p < :data:`ALPHA`) or ``{"reason"}`` for a row not paired; ``tested``: rows paired; ``tests``:
    rows per test; ``not_paired``: rows not paired; ``refused``: when no row could be paired, why (one reason when it is
    the run's, else the first rows' reasons), else None."""
    loaded = [load_samples(folder) for folder in folders]
    paired: dict[str, Paired] = {}
    reasons: dict[str, str] = {}
    for name in names:
        try:
            for samples, run in zip(loaded, runs):
                if samples is None:
                    raise PairingError(NO_SAMPLES.format(run=run))
                if name not in samples:
                    raise PairingError(f"row {name}: run {run}'s samples.jsonl has no sample of the row")
            first, other = (samples[name] for samples in loaded if samples is not None)
            paired[name] = pair_row(first, other, resamples, seed, runs)
        except PairingError as exc:
            reasons[name] = str(exc)
    adjusted = dict(zip(paired, holm([row.p for row in paired.values()]))) if correct else {}
    rows: dict[str, dict[str, Any]] = {name: {"reason": reason} for name, reason in reasons.items()}
    for name, row in paired.items():
        p_holm = adjusted.get(name)
        rows[name] = {
            "delta": row.delta, "interval": list(row.interval), "p": row.p, "p_holm": p_holm, "test": row.test, "n": row.n,
            "significant": (row.p if p_holm is None else p_holm) < ALPHA,
        }
    tests = {test: sum(1 for row in paired.values() if row.test == test) for test in ("McNemar exact", "paired bootstrap")}
    refused = None if paired or not reasons else _summary(list(reasons.values()))
    return {"run": runs[1], "rows": rows, "tested": len(paired), "not_paired": len(reasons), "tests": tests, "refused": refused}


def _summary(reasons: list[str], shown: int = 3) -> str:
    """The reasons no row was paired, in one line: the run's own reason once (no samples), else the first ``shown``
    rows' reasons and how many more rows there are."""
    distinct = list(dict.fromkeys(reasons))
    if len(distinct) == 1:
        return distinct[0]
    more = f" (and {len(reasons) - shown} more row(s))" if len(reasons) > shown else ""
    return "; ".join(reasons[:shown]) + more
