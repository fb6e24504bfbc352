"""Calibration of option probabilities (the ``loglik`` protocol): expected calibration error, Brier score and a
reliability diagram.

Every question contributes its option probabilities ``p`` (the softmax of the options' log-likelihoods, summing to 1)
and the index of its gold option. Its *confidence* is the top probability ``max_k p_k``; it is *correct* when the
top option (the first of equal ones, as ``numpy.argmax``) is the gold one — exactly lm-eval's ``acc``.

- ECE, 10 equal-width bins on the confidence (bin ``b`` holds ``b/10 <= conf < (b+1)/10``; a confidence of 1.0 goes
  to the last bin): ``ECE = sum_b (n_b / N) * |acc_b - conf_b|``, with ``acc_b`` the share of correct questions and
  ``conf_b`` the mean confidence of bin ``b``; empty bins add nothing.
- Brier (multi-class): ``mean over questions of sum_k (p_k - y_k)^2``, ``y`` the one-hot gold; 0 is perfect, 2 the
  worst (all mass on one wrong option).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biohub.io import atomic_path

BINS = 10


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One confidence bin: its lower and upper edge, the questions in it, their accuracy and mean confidence."""

    lower: float
    upper: float
    n: int
    accuracy: float
    confidence: float


def _arrays(probabilities: Sequence[Sequence[float]], gold: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) per question."""
    confidence = np.array([max(p) for p in probabilities], dtype=float)
    correct = np.array([int(np.argmax(p)) == g for p, g in zip(probabilities, gold, strict=True)], dtype=float)
    return confidence, correct


def reliability_bins(probabilities: Sequence[Sequence[float]], gold: Sequence[int], bins: int = BINS) -> list[ReliabilityBin]:
    """The non-empty equal-width confidence bins of the questions (``probabilities[i]``: question i's options)."""
    confidence, correct = _arrays(probabilities, gold)
    index = np.minimum(np.floor(confidence * bins).astype(int), bins - 1)
    found = []
    for b in range(bins):
        inside = index == b
        if inside.any():
            accuracy, mean_confidence = float(correct[inside].mean()), float(confidence[inside].mean())
            found.append(ReliabilityBin(b / bins, (b + 1) / bins, int(inside.sum()), accuracy, mean_confidence))
    return found


def expected_calibration_error(probabilities: Sequence[Sequence[float]], gold: Sequence[int], bins: int = BINS) -> float:
    """ECE over ``bins`` equal-width bins of the top probability (module doc); 0.0 for no questions."""
    total = len(gold)
    if not total:
        return 0.0
    return float(sum(b.n / total * abs(b.accuracy - b.confidence) for b in reliability_bins(probabilities, gold, bins)))


def brier_score(probabilities: Sequence[Sequence[float]], gold: Sequence[int]) -> float:
    """Multi-class Brier score: mean over questions of ``sum_k (p_k - y_k)^2`` (module doc); 0.0 for no questions."""
    if not gold:
        return 0.0
    total = 0.0
    for p, g in zip(probabilities, gold, strict=True):
        target = np.zeros(len(p))
        target[g] = 1.0
        total += float(np.sum((np.asarray(p, dtype=float) - target) ** 2))
    return total / len(gold)


def reliability_diagram(probabilities: Sequence[Sequence[float]], gold: Sequence[int], path: Path, title: str) -> None:
    """Write a PNG reliability diagram of the questions (pooled over every row given): per confidence bin, the
    accuracy as a bar at the bin's place, the mean confidence as a dot, the diagonal of perfect calibration, the
    number of questions above each bar, ECE and Brier in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.0, 5.0))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    found = reliability_bins(probabilities, gold)
    centres = [(b.lower + b.upper) / 2 for b in found]
    axis.bar(centres, [b.accuracy for b in found], width=1 / BINS, edgecolor="black", alpha=0.7, label="accuracy")
    axis.scatter(centres, [b.confidence for b in found], color="red", zorder=3, s=14, label="mean confidence")
    for centre, b in zip(centres, found):
        axis.annotate(f"{b.n}", (centre, min(b.accuracy, 0.95) + 0.02), ha="center", fontsize=7)
    ece, brier = expected_calibration_error(probabilities, gold), brier_score(probabilities, gold)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.05)
    axis.set_xlabel("confidence (top option probability)")
    axis.set_ylabel("accuracy")
    axis.set_title(f"{title}\n{len(gold)} questions, ECE {ece:.3f}, Brier {brier:.3f}", fontsize=9)
    axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
