"""Loss curves: one panel per stage, loss against optimizer step (matplotlib, written atomically).

A mixed stage's per-step loss jumps with the tasks its batches happen to hold (dialogue tokens cost more than
entity lists), so from 10 logged points on a moving average is drawn over the raw line. Each logged loss is the mean
over its logging window's target tokens, so the average weighs it by that window's target-token count
(``window_supervised_tokens`` in ``metrics.jsonl``); rows written before that field existed carry only the stage's
running total ``supervised_tokens``, and their window counts are its differences from row to row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from biohub.errors import BiohubError
from biohub.io import atomic_path


def plot_losses(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """``rows``: metrics rows (``stage``, ``step``, ``loss``); stages keep their order of appearance. Rows of ``kind``
    ``eval`` (task metrics during training) are drawn in a second row of panels under the losses, one line per
    ``eval/<row>/<metric>`` value (x 100), against the same steps."""
    losses = [row for row in rows if row.get("kind", "loss") == "loss"]
    evals = [row for row in rows if row.get("kind") == "eval"]
    stages = list(dict.fromkeys(row["stage"] for row in rows)) or ["(no steps)"]
    figure, axes = plt.subplots(
        2 if evals else 1, len(stages), figsize=(4.5 * len(stages), 6.8 if evals else 3.4), squeeze=False
    )
    for axis, stage in zip(axes[0], stages):
        points = [row for row in losses if row["stage"] == stage]
        if points:
            steps, values = [row["step"] for row in points], [row["loss"] for row in points]
            smooth = len(points) >= 10
            axis.plot(
                steps, values, marker="o" if len(points) < 30 else None, markersize=3, linewidth=1.2,
                alpha=0.45 if smooth else 1.0, label="per step",
            )
            if smooth:
                averaged = moving_average(values, window_weights(points), max(5, len(points) // 10))
                axis.plot(steps, averaged, linewidth=2.0, label="moving average")
                axis.legend(fontsize=8)
        axis.set_title(stage)
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("training loss (per target token)")
        axis.grid(alpha=0.3)
    if evals:
        for axis, stage in zip(axes[1], stages):
            _plot_task_metrics(axis, [row for row in evals if row["stage"] == stage])
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)


def _plot_task_metrics(axis: Any, points: list[dict[str, Any]]) -> None:
    """One stage's task metrics during training: a line per ``eval/<row>/<metric>`` key (x 100) against the step."""
    keys = sorted({key for row in points for key in row if key.startswith("eval/")})
    for key in keys:
        found = [(row["step"], 100 * row[key]) for row in points if isinstance(row.get(key), (int, float))]
        if found:
            axis.plot(*zip(*found), marker="o", markersize=3, linewidth=1.2, label=key.removeprefix("eval/"))
    if keys:
        axis.legend(fontsize=6, ncol=2)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("task metric x 100 (eval sample)")
    axis.grid(alpha=0.3)


class MetricsError(BiohubError, ValueError):
    """Metrics rows that cannot be weighted (no token counts, or running totals that go down)."""


def window_weights(points: list[dict[str, Any]]) -> list[float]:
    """Target tokens of each logging window of one stage's rows (in step order): ``window_supervised_tokens``, or for
    rows without it the growth of the running total ``supervised_tokens`` since the previous row (the first row: the
    total itself, as a stage's count starts at 0)."""
    weights: list[float] = []
    previous = 0
    for row in points:
        where = f"metrics row of stage {row.get('stage')!r}, step {row.get('step')}"
        total = row.get("supervised_tokens")
        if "window_supervised_tokens" in row:
            weight = int(row["window_supervised_tokens"])
        elif total is None:
            raise MetricsError(f"{where}: no window_supervised_tokens or supervised_tokens to weigh the moving average by")
        elif total < previous:
            raise MetricsError(f"{where}: supervised_tokens {total} is below the previous row's {previous} (rows out of order?)")
        else:
            weight = total - previous
        weights.append(float(weight))
        previous = total if total is not None else previous + weight
    return weights


def moving_average(values: list[float], weights: list[float], window: int) -> list[float]:
    """Trailing weighted mean of the last ``window`` values (fewer at the start)."""
    averaged = []
    for end in range(1, len(values) + 1):
        start = max(0, end - window)
        total = sum(weights[start:end])
        averaged.append(sum(v * w for v, w in zip(values[start:end], weights[start:end])) / total if total else values[end - 1])
    return averaged
