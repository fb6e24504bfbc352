"""Training validates early (issue 25 item 10): values outside their domain are refused at load, ``--data``, the
model and ``--out`` are checked before anything loads, and a failed run leaves its folder retryable and resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.training.recipe import TrainRecipeError, load_train_recipe
from biohub.training.run import RunError, read_metrics, train
from tests.training.test_train import flat, write_recipe


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("learning_rate=-1", r"learning_rate: must be positive and finite \(got -1.0\)"),
        ("learning_rate=.nan", r"learning_rate: must be positive and finite \(got nan\)"),
        ("learning_rate=.inf", r"learning_rate: must be positive and finite \(got inf\)"),
        ("stages.stage1.learning_rate=0", r"stages.stage1.learning_rate: must be positive and finite"),
        ("stages.stage2.epochs=.nan", r"stages.stage2.epochs: must be positive and finite"),
        ("max_grad_norm=0", r"max_grad_norm: must be positive"),
        ("weight_decay=-0.1", r"weight_decay: must be >= 0"),
        ("max_length=-1", r"max_length: must be at least 1 \(got -1\)"),
        ("max_steps=0", r"max_steps: must be at least 1"),
        ("seed=-3", r"seed: must be >= 0"),
        ("lora.target_modules=[]", r"lora.target_modules: name at least one module"),
    ],
)
def test_values_outside_their_domain_are_refused_naming_file_and_key(
    tmp_path: Path, tiny_model_dir: Path, override: str, message: str
) -> None:
    path = write_recipe(tmp_path, tiny_model_dir)
    with pytest.raises(TrainRecipeError, match=rf"^{path}: .*{message}"):
        load_train_recipe(path, [override])


@pytest.fixture()
def no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model or training-data load fails the test: the errors below must come before them."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("loaded something before the run was checked")

    monkeypatch.setattr("biohub.training.methods.load_model", refuse)
    monkeypatch.setattr("biohub.training.run.prepare_stage", refuse)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "learning_rate=-1"], "learning_rate: must be positive and finite (got -1.0)"),
        (["--set", "stages.stage1.data=[nope]"], "stages.stage1.data: config 'nope' is not in the hub folder"),
        (["--set", "model=/no/such/model"], "model: no such folder /no/such/model"),
        (["--set", "model=/no/such/model.gguf"], "model: no such file /no/such/model.gguf"),
        (["--data", "/no/such/hub"], "no such folder /no/such/hub"),
    ],
)
def test_train_command_refuses_before_loading(
    tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, no_loading: None, arguments: list[str], message: str
) -> None:
    path = write_recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "run"
    data = [] if "--data" in arguments else ["--data", str(tiny_hub)]
    result = CliRunner().invoke(app, ["train", str(path), *data, "--out", str(out), *arguments])
    assert result.exit_code == 2 and message in flat(result.output), result.output
    assert not out.exists()


def test_a_model_folder_needs_its_config(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, no_loading: None) -> None:
    path = write_recipe(tmp_path, tmp_path)  # a folder, but not a model's
    result = CliRunner().invoke(app, ["train", str(path), "--data", str(tiny_hub), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "is a folder without config.json" in flat(result.output), result.output


class Stop(Exception):
    """Raised by a step hook: the run fails at that step."""


def fail_at(step: int) -> Any:
    def hook(info: Any) -> None:
        if info.step == step:
            raise Stop(f"failed at step {step}")

    return hook


def test_a_run_that_failed_before_saving_anything_can_be_retried_and_resumed(
    tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path
) -> None:
    path = write_recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "run"
    first = load_train_recipe(path, ["max_steps=2"])
    with pytest.raises(Stop):
        train(first, str(tiny_hub), out, show_progress=False, on_step=fail_at(1))  # before the step-5 checkpoint
    assert (out / "recipe.json").is_file()
    fixed = load_train_recipe(path, ["max_steps=2", "learning_rate=5e-4"])  # the user fixes the recipe and retries
    summary = train(fixed, str(tiny_hub), out, show_progress=False)
    assert [s["steps"] for s in summary["stages"].values()] == [2, 2]
    assert [(r["stage"], r["step"]) for r in read_metrics(out)] == [("stage1", 1), ("stage1", 2), ("stage2", 1), ("stage2", 2)]

    again = tmp_path / "again"
    with pytest.raises(Stop):
        train(first, str(tiny_hub), again, show_progress=False, on_step=fail_at(1))
    summary = train(fixed, str(tiny_hub), again, resume=True, show_progress=False)  # --resume with the fixed recipe
    assert [s["steps"] for s in summary["stages"].values()] == [2, 2]


def test_a_run_that_saved_a_checkpoint_resumes_from_it_and_is_never_started_over(
    tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path
) -> None:
    path = write_recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "run"
    recipe = load_train_recipe(path, ["max_steps=6"])
    with pytest.raises(Stop):
        train(recipe, str(tiny_hub), out, show_progress=False, on_step=fail_at(6))  # after the step-5 checkpoint
    with pytest.raises(RunError, match="exists and is not empty"):
        train(recipe, str(tiny_hub), out, show_progress=False)
    changed = load_train_recipe(path, ["max_steps=6", "learning_rate=5e-4"])
    with pytest.raises(RunError, match="another recipe"):
        train(changed, str(tiny_hub), out, resume=True, show_progress=False)
    summary = train(recipe, str(tiny_hub), out, resume=True, show_progress=False)
    assert summary["stages"]["stage1"]["resumed_from"] == 5 and summary["stages"]["stage2"]["steps"] == 6


def test_examples_too_long_are_reported_on_screen_and_in_the_summary(
    tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25 item 11: a stage that leaves over-long examples out says so, with the count of all."""
    recipe = load_train_recipe(
        write_recipe(tmp_path, tiny_model_dir), ["max_steps=1", "max_length=100", "stages=[{name: only, data: [mix_stage1]}]"]
    )
    summary = train(recipe, str(tiny_hub), tmp_path / "run", show_progress=False)["stages"]["only"]
    assert (summary["examples"], summary["too_long"], len(summary["too_long_ids"])) == (23, 17, 17)
    assert "only: skipped 17 of 40 examples longer than max_length 100 tokens" in capsys.readouterr().err
