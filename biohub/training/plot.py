"""Loss curves: one panel per stage, loss against optimizer step (matplotlib, written atomically)."""

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
        points = [(row["step"], row["loss"]) for row in rows if row["stage"] == stage]
        if points:
            steps, losses = zip(*points)
            axis.plot(steps, losses, marker="o" if len(points) < 30 else None, markersize=3, linewidth=1.2)
        axis.set_title(stage)
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("training loss (per target token)")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
