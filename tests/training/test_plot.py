"""Loss curves: the token-weighted moving average, the per-window weights it uses, and the PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors
import matplotlib.image
import matplotlib.pyplot
import pytest
from matplotlib.figure import Figure

from biohub.training.plot import MetricsError, moving_average, plot_losses, window_weights

CLOSE = matplotlib.pyplot.close  # plot_losses's call is replaced by one that keeps the figure for the test


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


def _kept_figures(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures ``plot_losses`` closes, kept open for the test to read what they show."""
    from biohub.training import plot

    kept: list[Figure] = []
    monkeypatch.setattr(plot.plt, "close", kept.append)
    return kept


def _close(figures: list[Figure]) -> None:
    for figure in figures:
        CLOSE(figure)


def test_plot_losses_draws_each_stage_its_own_losses_and_average(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One panel per stage, in order, holding that stage's steps and losses and the token-weighted moving average;
    the PNG is the figure's size and shows the lines (not a blank canvas)."""
    losses = {"stage1": [3.0 / step for step in range(1, 13)], "stage2": [1.0 + (step % 3) for step in range(1, 13)]}
    rows = [
        {
            "stage": stage,
            "step": step,
            "loss": losses[stage][step - 1],
            "supervised_tokens": 10 * step,
            "window_supervised_tokens": 10 + step,
        }
        for stage in ("stage1", "stage2")
        for step in range(1, 13)
    ]
    kept = _kept_figures(monkeypatch)
    plot_losses(rows, tmp_path / "loss.png", "two stages")
    (figure,) = kept
    assert figure.get_suptitle() == "two stages"
    assert [axis.get_title() for axis in figure.axes] == ["stage1", "stage2"]
    for axis, stage in zip(figure.axes, ("stage1", "stage2")):
        raw, average = axis.get_lines()
        assert list(raw.get_xdata()) == list(range(1, 13)) and list(raw.get_ydata()) == losses[stage]
        weights = [10.0 + step for step in range(1, 13)]
        assert list(average.get_xdata()) == list(range(1, 13))
        assert list(average.get_ydata()) == pytest.approx(moving_average(losses[stage], weights, 5))
        assert [text.get_text() for text in axis.get_legend().get_texts()] == ["per step", "moving average"]
        assert (axis.get_xlabel(), axis.get_ylabel()) == ("optimizer step", "training loss (per target token)")
    png = (tmp_path / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (990, 374)  # 9 x 3.4 in at 110 dpi
    pixels = matplotlib.image.imread(tmp_path / "loss.png")[..., :3]
    average_colour = matplotlib.colors.to_rgb(figure.axes[0].get_lines()[1].get_color())  # opaque, 2 pt wide
    assert (abs(pixels - average_colour).max(axis=-1) < 0.05).sum() > 500
    _close(kept)


def test_a_short_stage_has_no_moving_average(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under 10 logged points the raw line alone is drawn, with markers, and no legend."""
    kept = _kept_figures(monkeypatch)
    plot_losses(
        [{"stage": "only", "step": s, "loss": 2.0 - s / 10, "window_supervised_tokens": 4} for s in (1, 2, 3)],
        tmp_path / "l.png",
        "t",
    )
    (axis,) = kept[0].axes
    (line,) = axis.get_lines()
    assert list(line.get_ydata()) == [1.9, 1.8, 1.7] and line.get_marker() == "o" and axis.get_legend() is None
    _close(kept)


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
