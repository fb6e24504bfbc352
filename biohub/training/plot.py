"""Loss curves: one panel per stage, loss against optimizer step (matplotlib, written atomically).

A mixed stage's per-step loss jumps with the tasks its batches happen to hold (dialogue tokens cost more than
entity lists), so from 10 logged points on a moving average weighted by target tokens is drawn over the raw line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from biohub.io import atomic_path


def plot_losses(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """``rows``: metrics rows (``stage``, ``step``, ``loss``); stages keep their order of appearance."""
    stages = list(dict.fromkeys(row["stage"] for row in rows)) or ["(no steps)"]
    figure, axes = plt.subplots(1, len(stages), figsize=(4.5 * len(stages), 3.4), squeeze=False)
    for axis, stage in zip(axes[0], stages):
        points = [row for row in rows if row["stage"] == stage]
        if points:
            steps, losses = [row["step"] for row in points], [row["loss"] for row in points]
            smooth = len(points) >= 10
            axis.plot(steps, losses, marker="o" if len(points) < 30 else None, markersize=3, linewidth=1.2, alpha=0.45 if smooth else 1.0, label="per step")
            if smooth:
                weights = [float(row.get("supervised_tokens", 1)) for row in points]
                axis.plot(steps, moving_average(losses, weights, max(5, len(points) // 10)), linewidth=2.0, label="moving average")
                axis.legend(fontsize=8)
        axis.set_title(stage)
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("training loss (per target token)")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)


def moving_average(values: list[float], weights: list[float], window: int) -> list[float]:
    """Trailing weighted mean of the last ``window`` values (fewer at the start)."""
    averaged = []
    for end in range(1, len(values) + 1):
        start = max(0, end - window)
        total = sum(weights[start:end])
        averaged.append(sum(v * w for v, w in zip(values[start:end], weights[start:end])) / total if total else values[end - 1])
    return averaged
