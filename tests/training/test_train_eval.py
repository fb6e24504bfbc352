"""Task metrics during training (a recipe's ``eval`` key): rows of ``eval/<row>/<metric>`` in metrics.jsonl at the
steps asked, scored by eval's own scorers on a fixed sample (equal to ``biohub eval --protocol loglik`` of the saved
stage on the same sample), drawn under the loss, and the same after a resume as in a straight run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.run import evaluate
from biohub.eval.suite import load_suite
from biohub.eval.training import TrainingEval
from biohub.training.recipe import load_train_recipe
from biohub.training.run import RunError, read_metrics, train
from tests.training.test_train import write_recipe

EVAL = {"every": 2, "per_dataset": 2, "protocol": "loglik", "suite": "taiyi_style", "batch_size": 4}


class Stop(Exception):
    pass


def recipe(tmp_path: Path, model: Path, **eval_settings: object):  # noqa: ANN201 - a TrainRecipe
    stages = [{"name": "stage1", "data": ["mix_stage1"], "epochs": 1}, {"name": "stage2", "data": ["mix_stage2"], "epochs": 1}]
    path = write_recipe(tmp_path, model, stages=stages, checkpoint={"every": 2, "keep": 2}, eval=EVAL | eval_settings)
    return load_train_recipe(path, ["max_steps=4", "max_length=512"])


def evaluator(hub: Path, settings: dict[str, object]) -> TrainingEval:
    return TrainingEval(
        str(hub), load_suite(str(settings["suite"])), int(settings["per_dataset"]), str(settings["protocol"]),  # type: ignore[call-overload]
        batch_size=4, max_new_tokens=int(settings.get("max_new_tokens", 8)),  # type: ignore[call-overload]
    )  # fmt: skip


def eval_rows(out: Path) -> list[dict[str, object]]:
    return [row for row in read_metrics(out) if row.get("kind") == "eval"]


def test_eval_rows_are_logged_plotted_and_equal_biohub_eval(demo_hub: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    plan = recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "run"
    train(plan, str(demo_hub), out, show_progress=False, evaluate=evaluator(demo_hub, EVAL))
    rows = eval_rows(out)
    assert [(r["stage"], r["step"]) for r in rows] == [("stage1", 2), ("stage1", 4), ("stage2", 2), ("stage2", 4)]
    keys = {key for key in rows[0] if key.startswith("eval/")}
    assert {"eval/PubMedQA/acc", "eval/MedQA-USMLE/acc_norm", "eval/KUAKE-QIC-dev/acc"} <= keys
    assert all(0.0 <= float(rows[0][key]) <= 1.0 for key in keys)  # type: ignore[arg-type]
    loss_rows = [row for row in read_metrics(out) if "loss" in row]
    assert len(loss_rows) == 8 and all(row.get("kind") is None for row in loss_rows)
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    # the last evaluation of stage 2 scored the weights stage 2 saved: biohub eval of the adapter, same sample
    document = evaluate(
        str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), tmp_path / "eval", adapter=str(out / "stage2"),
        limit=2, protocol="loglik", show_progress=False, merge_adapter=False,
    )  # fmt: skip
    final = rows[-1]
    for entry in document["entries"]:
        assert final[f"eval/{entry['name']}/acc"] == pytest.approx(entry["metrics"]["acc"]), entry["name"]


@pytest.mark.slow  # three training runs (straight, stopped, resumed)
def test_a_resumed_run_logs_the_same_eval_rows_as_a_straight_one(demo_hub: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = EVAL | {"protocol": "generate", "max_new_tokens": 4, "per_dataset": 1}
    plan = recipe(tmp_path, tiny_model_dir, protocol="generate", max_new_tokens=4, per_dataset=1)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(plan, str(demo_hub), straight, show_progress=False, evaluate=evaluator(demo_hub, settings))

    def stop_at_three(info) -> None:  # noqa: ANN001 - a StepInfo
        if info.stage == "stage1" and info.step == 3:  # after step 2's checkpoint and evaluation
            raise Stop

    with pytest.raises(Stop):
        train(plan, str(demo_hub), resumed, show_progress=False, evaluate=evaluator(demo_hub, settings), on_step=stop_at_three)
    assert [(r["stage"], r["step"]) for r in eval_rows(resumed)] == [("stage1", 2)]
    train(plan, str(demo_hub), resumed, resume=True, show_progress=False, evaluate=evaluator(demo_hub, settings))
    assert eval_rows(resumed) == eval_rows(straight) and len(eval_rows(straight)) == 4
    keys = {key for key in eval_rows(straight)[0] if key.startswith("eval/")}
    assert "eval/BC5CDR-Chem/f1_mention" in keys and "eval/BC5CDR-Chem/parse_failure_rate" in keys


def test_eval_settings_are_checked_and_the_command_wires_them(demo_hub: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="pass evaluate="):
        train(recipe(tmp_path, tiny_model_dir), str(demo_hub), tmp_path / "x", show_progress=False)
    bad = write_recipe(tmp_path, tiny_model_dir, eval={"every": -1})
    with pytest.raises(ValueError, match="eval: every >= 0"):
        load_train_recipe(bad, [])
    path = write_recipe(tmp_path, tiny_model_dir, stages=[{"name": "only", "data": ["mix_stage1"], "epochs": 1}],
                        eval=EVAL | {"every": 1, "per_dataset": 1})  # fmt: skip
    result = CliRunner().invoke(
        app, ["train", str(path), "--data", str(demo_hub), "--out", str(tmp_path / "cli"), "--max-steps", "1"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    assert [row.get("kind") for row in rows] == [None, "eval"] and "eval/PubMedQA/acc" in rows[1]


def test_task_metrics_are_refused_where_no_process_holds_the_whole_model(
    demo_hub: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    from biohub.training import run as training_run

    def accelerator(kind: DistributedType, stage: int | None = None) -> SimpleNamespace:
        return SimpleNamespace(distributed_type=kind, state=SimpleNamespace(deepspeed_plugin=SimpleNamespace(zero_stage=stage)))

    assert training_run.weights_sharded(accelerator(DistributedType.FSDP))
    assert training_run.weights_sharded(accelerator(DistributedType.DEEPSPEED, 3))
    assert not training_run.weights_sharded(accelerator(DistributedType.DEEPSPEED, 2))  # ZeRO 1-2: whole weights
    assert not training_run.weights_sharded(accelerator(DistributedType.MULTI_GPU))
    assert not training_run.weights_sharded(accelerator(DistributedType.NO))
    monkeypatch.setattr(training_run, "Accelerator", lambda cpu: accelerator(DistributedType.FSDP))
    with pytest.raises(RunError, match="eval.every 2: task metrics are scored on the main process alone"):
        train(recipe(tmp_path, tiny_model_dir), str(demo_hub), tmp_path / "out", evaluate=evaluator(demo_hub, EVAL))
    assert not (tmp_path / "out").exists()
