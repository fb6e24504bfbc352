"""How cost grows with work (``benchmarks/peers.py``): ``biohub build`` at several ``--cap`` values, and training
tokens/s at several row lengths; a least-squares line for the build, and the plots.

- **build**: the recipe (``recipes/taiyi_style.yaml``) with every corpus' training examples capped at N (``biohub
  build --cap N``; eval sets stay whole), each cap in a fresh child: wall time, training examples written (the train
  splits of the ``*_instructions`` configs: what the cap changes), all rows written, and the peak RSS of the child's
  process tree (the build's worker processes included). A line ``seconds = a + b x examples`` is fitted: ``a`` is the
  work no cap changes (every corpus converted, the whole eval sets templated, the card), ``b`` is given as seconds per
  1,000 training examples, with R^2 and the marginal cost of each step between caps. The growth is called
  super-linear when a step's marginal cost is more than twice the first's, or the line misses (R^2 < 0.98) with the
  last step dearer than the first; linear when the line fits (R^2 >= 0.98); else sub-linear (the line misses because
  later steps cost less).
- **training**: biohub's trainer on the same examples, packed rows of ``max_length`` 512, 1,024 and 2,048 tokens (one
  row per step), tokens/s over steps 2..N and peak RSS (attention is quadratic in the row length; the rest is linear).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def build_child(recipe: str, mirror: str, cap: int, keep: str | None = None) -> dict[str, Any]:
    """``biohub build RECIPE --cap CAP`` (two workers, as the CLI's default on 2 cores): seconds, rows, tree peak."""
    from tree_memory import TreePeak

    from biohub.hub.build import build
    from biohub.hub.recipe import load_recipe, with_cap

    plan = with_cap(load_recipe(Path(recipe)), cap)
    with tempfile.TemporaryDirectory() as tmp, TreePeak() as peak:
        started = time.perf_counter()
        info = build(plan, Path(mirror), Path(keep) if keep else Path(tmp) / "hub", workers=2, progress=False)
        seconds = time.perf_counter() - started
    configs = info["configs"]
    rows = sum(sum(splits.values()) for splits in configs.values())
    examples = sum(splits.get("train", 0) for name, splits in configs.items() if name.endswith("_instructions"))
    mixed = sum(splits.get("train", 0) for name, splits in configs.items() if name.startswith("mix_"))
    return {"seconds": seconds, "rows": rows, "examples": examples, "mixed": mixed, "tree_peak_mib": round(peak.peak / 2**20)}


def linear_fit(examples: list[float], seconds: list[float]) -> dict[str, Any]:
    """Least-squares ``seconds = a + b x examples``: ``b`` per 1,000 examples, the fixed cost ``a``, R^2, each step's
    marginal cost, and the growth (module doc: ``linear``, ``sub-linear`` or ``super-linear``)."""
    x, y = np.asarray(examples, dtype=float), np.asarray(seconds, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    predicted = intercept + slope * x
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(((y - predicted) ** 2).sum()) / total if total else 1.0
    marginal = [float((y[i + 1] - y[i]) / (x[i + 1] - x[i]) * 1000) for i in range(len(x) - 1) if x[i + 1] != x[i]]
    if marginal and (any(step > 2 * marginal[0] for step in marginal) or (r2 < 0.98 and marginal[-1] > marginal[0])):
        growth = "super-linear"
    elif not marginal or r2 >= 0.98:
        growth = "linear"
    else:
        growth = "sub-linear"
    return {
        "seconds_per_1000": float(slope * 1000), "intercept_s": float(intercept), "r2": r2,
        "marginal_s_per_1000": marginal, "growth": growth,
    }  # fmt: skip


def plot(build: list[dict[str, Any]], fit: dict[str, Any], training: dict[Any, dict[str, Any]], path: Path) -> None:
    """Two panels: build seconds (and peak RSS) against rows written with the fitted line; training tokens/s (and peak
    RSS) against the row length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    rows = [point["examples"] for point in build]
    left.plot(rows, [point["seconds"] for point in build], "o", color="C0", label="biohub build (wall s)")
    line = np.linspace(0, max(rows) * 1.05, 50)
    left.plot(line, fit["intercept_s"] + fit["seconds_per_1000"] / 1000 * line, "-", color="C0", alpha=0.5,
              label=f"fit: {fit['seconds_per_1000']:.2f} s / 1,000 examples, R² {fit['r2']:.3f}")  # fmt: skip
    for index, point in enumerate(build):  # labels below and above in turn: the small caps sit close together
        offset = (6, -12) if index % 2 == 0 else (-10, 8)
        left.annotate(f"cap {point['cap']:,}", (point["examples"], point["seconds"]), textcoords="offset points", xytext=offset)
    left.set_xlabel("training examples written (the *_instructions configs)")
    left.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:.0f}k"))
    left.set_ylim(0, max(point["seconds"] for point in build) * 1.15)
    left.set_ylabel("seconds")
    memory = left.twinx()
    memory.plot(rows, [point["tree_peak_mib"] for point in build], "s--", color="C1", label="peak RSS (MiB)")
    memory.set_ylabel("peak RSS of the process tree (MiB)")
    memory.set_ylim(0, max(point["tree_peak_mib"] for point in build) * 1.6)
    left.legend(loc="upper left", fontsize=8)
    memory.legend(loc="lower right", fontsize=8)
    left.set_title("biohub build recipes/taiyi_style.yaml --cap N")
    training = {int(length): row for length, row in training.items()}  # (keys are strings after a JSON round trip)
    lengths = sorted(training)
    right.plot(lengths, [training[n]["tokens_per_s"] for n in lengths], "o-", color="C2", label="tokens/s")
    right.set_xscale("log", base=2)
    right.set_xticks(lengths, [str(n) for n in lengths])
    right.set_xlabel("packed row length (max_length, tokens)")
    right.set_ylabel("useful tokens/s")
    rss = right.twinx()
    rss.plot(lengths, [training[n]["peak_rss_mib"] for n in lengths], "s--", color="C1", label="peak RSS (MiB)")
    rss.set_ylabel("peak RSS (MiB)")
    right.set_ylim(0, max(training[n]["tokens_per_s"] for n in lengths) * 1.25)
    rss.set_ylim(0, max(training[n]["peak_rss_mib"] for n in lengths) * 1.25)
    right.legend(loc="upper left", fontsize=8)
    rss.legend(loc="upper right", fontsize=8)
    right.set_title("biohub train (LoRA, default model), one row per step")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
