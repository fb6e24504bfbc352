"""Loss curves: the token-weighted moving average, the per-window weights it uses, and the PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from biohub.training.plot import MetricsError, moving_average, plot_losses, window_weights


def test_moving_average_weighs_by_target_tokens() -> None:
    assert moving_average([1.0, 3.0, 5.0], [1, 1, 2], 2) == pytest.approx([1.0, 2.0, (3 + 10) / 3])
    assert moving_average([2.0, 4.0], [0, 0], 3) == [2.0, 4.0]  # no weight: the raw value


def test_weights_are_each_windows_target_tokens_not_the_running_total() -> None:
    """Three logging windows of 10, 20 and 30 target tokens (running totals 10, 30, 60)."""
    rows = [
        {"stage": "s", "step": 1, "loss": 2.0, "supervised_tokens": 10, "window_supervised_tokens": 10},
        {"stage": "s", "step": 2, "loss": 1.0, "supervised_tokens": 30, "window_supervised_tokens": 20},
        {"stage": "s", "step": 3, "loss": 4.0, "supervised_tokens": 60, "window_supervised_tokens": 30},
    ]
    assert window_weights(rows) == [10.0, 20.0, 30.0]
    # the mean loss per target token over windows 2 and 3: (1 * 20 + 4 * 30) / 50 = 2.8 (the running totals would give 3.0)
    assert moving_average([r["loss"] for r in rows], window_weights(rows), 2)[-1] == pytest.approx(2.8)


def test_old_metrics_rows_weigh_by_the_growth_of_the_running_total() -> None:
    """Rows written before ``window_supervised_tokens`` existed, and a resumed run mixing old and new rows."""
    old = [
        {"stage": "s", "step": step, "loss": 1.0, "supervised_tokens": total}
        for step, total in ((1, 7), (2, 12), (3, 12), (4, 40))
    ]
    assert window_weights(old) == [7.0, 5.0, 0.0, 28.0]
    mixed = [*old[:2], {"stage": "s", "step": 3, "loss": 1.0, "supervised_tokens": 20, "window_supervised_tokens": 8}, old[3]]
    assert window_weights(mixed) == [7.0, 5.0, 8.0, 20.0]


def test_rows_that_cannot_be_weighted_fail_clearly() -> None:
    with pytest.raises(MetricsError, match="stage 's', step 2: no window_supervised_tokens or supervised_tokens"):
        window_weights([{"stage": "s", "step": 1, "supervised_tokens": 3}, {"stage": "s", "step": 2}])
    with pytest.raises(MetricsError, match="step 2: supervised_tokens 3 is below the previous row's 9"):
        window_weights([{"stage": "s", "step": 1, "supervised_tokens": 9}, {"stage": "s", "step": 2, "supervised_tokens": 3}])


def test_plot_losses_writes_one_png_for_two_stages(tmp_path: Path) -> None:
    rows = [
        {"stage": stage, "step": step, "loss": 1.0 / step, "supervised_tokens": 10 * step, "window_supervised_tokens": 10}
        for stage in ("stage1", "stage2")
        for step in range(1, 13)
    ]
    plot_losses(rows, tmp_path / "loss.png", "two stages")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_plotted_average_uses_the_window_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What plot_losses hands to the moving average: each row's window count, not its running total."""
    from biohub.training import plot

    seen: list[list[float]] = []

    def recording(values: list[float], weights: list[float], window: int) -> list[float]:
        seen.append(list(weights))
        return moving_average(values, weights, window)

    monkeypatch.setattr(plot, "moving_average", recording)
    windows = [5, 50, 5, 50, 5, 50, 5, 50, 5, 50, 5, 50]
    totals = [sum(windows[: i + 1]) for i in range(len(windows))]
    rows = [
        {"stage": "s", "step": i + 1, "loss": 1.0, "supervised_tokens": t, "window_supervised_tokens": w}
        for i, (t, w) in enumerate(zip(totals, windows))
    ]
    plot_losses(rows, tmp_path / "loss.png", "weights")
    plot_losses(
        [{k: v for k, v in row.items() if k != "window_supervised_tokens"} for row in rows], tmp_path / "old.png", "old rows"
    )
    assert seen == [[float(w) for w in windows]] * 2
