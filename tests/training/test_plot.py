"""Loss curves: the token-weighted moving average and the PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from biohub.training.plot import moving_average, plot_losses


def test_moving_average_weighs_by_target_tokens() -> None:
    assert moving_average([1.0, 3.0, 5.0], [1, 1, 2], 2) == pytest.approx([1.0, 2.0, (3 + 10) / 3])
    assert moving_average([2.0, 4.0], [0, 0], 3) == [2.0, 4.0]  # no weight: the raw value


def test_plot_losses_writes_one_png_for_two_stages(tmp_path: Path) -> None:
    rows = [{"stage": stage, "step": step, "loss": 1.0 / step, "supervised_tokens": 10 + step} for stage in ("stage1", "stage2") for step in range(1, 13)]
    plot_losses(rows, tmp_path / "loss.png", "two stages")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
