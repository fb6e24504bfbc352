"""The recipe runner: two stages with every output, stage 2 from stage 1, exact resume after a kill, checkpoint
rotation, methods, recipes and the command line (tiny config-built model, synthetic hub folder)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from typer.testing import CliRunner

from biohub.cli import app
from biohub.training.methods import MethodUnavailable, quantization_config
from biohub.training.recipe import TrainRecipeError, load_train_recipe
from biohub.training.run import RunError, read_metrics, train

ROOT = Path(__file__).resolve().parents[2]


def write_recipe(folder: Path, model: Path, **changes: object) -> Path:
    recipe = {
        "name": "tiny",
        "model": str(model),
        "method": "lora",
        "lora": {"r": 4, "alpha": 8, "dropout": 0.1},
        "learning_rate": 1e-3,
        "warmup_ratio": 0.2,
        "batch_size": 2,
        "gradient_accumulation": 2,
        "max_length": 256,
        "logging_every": 1,
        "checkpoint": {"every": 5, "keep": 2},
        "stages": [
            {"name": "stage1", "data": ["mix_stage1"], "epochs": 4},
            {"name": "stage2", "data": ["mix_stage2"], "epochs": 2},
        ],
    }
    recipe.update(changes)
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_two_stage_run_writes_every_output(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    recipe = load_train_recipe(write_recipe(tmp_path, tiny_model_dir), ["max_steps=3"])
    out = tmp_path / "run"
    summary = train(recipe, str(tiny_hub), out, show_progress=False)
    for stage in ("stage1", "stage2"):
        folder = out / stage
        for name in (
            "adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "README.md", "training_summary.json",
            "loss.png",
        ):
            assert (folder / name).is_file(), f"{stage}/{name}"
        assert (folder / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert summary["stages"][stage]["steps"] == 3
        assert "LoRA adapter" in (folder / "README.md").read_text(encoding="utf-8")
    assert summary["stages"]["stage1"]["examples"] == 40 and summary["stages"]["stage2"]["examples"] == 80
    assert summary["stages"]["stage2"]["started_from"] == str(out / "stage1")
    rows = read_metrics(out)
    assert [(r["stage"], r["step"]) for r in rows] == [
        ("stage1", 1), ("stage1", 2), ("stage1", 3), ("stage2", 1), ("stage2", 2), ("stage2", 3),
    ]
    assert all(r["loss"] > 0 and r["tokens_per_s"] > 0 and r["supervised_tokens"] <= r["tokens"] for r in rows)
    for stage in ("stage1", "stage2"):  # each row's window counts add up to the stage's running totals
        mine = [r for r in rows if r["stage"] == stage]
        assert all(r["window_supervised_tokens"] > 0 for r in mine)
        assert list(itertools.accumulate(r["window_supervised_tokens"] for r in mine)) == [r["supervised_tokens"] for r in mine]
        assert list(itertools.accumulate(r["window_tokens"] for r in mine)) == [r["tokens"] for r in mine]
        assert mine[-1]["supervised_tokens"] == summary["stages"][stage]["supervised"]
    assert (out / "loss.png").is_file() and json.loads((out / "recipe.json").read_text())["recipe"]["max_steps"] == 3
    first, second = (load_file(str(out / s / "adapter_model.safetensors")) for s in ("stage1", "stage2"))
    assert first.keys() == second.keys() and any(not torch.equal(first[k], second[k]) for k in first)
    with pytest.raises(RunError, match="not empty"):
        train(recipe, str(tiny_hub), out, show_progress=False)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_stage_two_starts_from_stage_one(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, method: str) -> None:
    """With a zero learning rate in stage 2, its result must be exactly stage 1's (nothing re-initialised). A recipe
    file refuses a zero rate, so the test sets it on the loaded recipe."""
    loaded = load_train_recipe(write_recipe(tmp_path, tiny_model_dir, method=method), ["max_steps=2"])
    frozen = dataclasses.replace(loaded.stages[1], learning_rate=0.0)
    recipe = dataclasses.replace(loaded, stages=(loaded.stages[0], frozen))
    out = tmp_path / "run"
    train(recipe, str(tiny_hub), out, show_progress=False)
    weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    first, second = (load_file(str(out / s / weights)) for s in ("stage1", "stage2"))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    base = load_file(str(tiny_model_dir / "model.safetensors"))
    if method == "full":  # stage 1 did change the weights
        assert any(not torch.equal(base[k], first[k]) for k in first if k in base)


KILLER = """
import os, signal, sys
from pathlib import Path
from biohub.training.recipe import load_train_recipe
from biohub.training.run import train

def hook(info):
    if (info.stage, info.step) == (sys.argv[4], int(sys.argv[5])):
        os.kill(os.getpid(), signal.SIGKILL)  # a crash: no clean-up, no final save

train(load_train_recipe(Path(sys.argv[1])), sys.argv[2], Path(sys.argv[3]), show_progress=False, on_step=hook)
"""


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory: pytest.TempPathFactory, tiny_hub: Path, tiny_model_dir: Path) -> tuple[Path, Path]:
    """(recipe, output) of a run never stopped: 6 steps a stage, a checkpoint at step 3; what a resumed run must equal."""
    folder = tmp_path_factory.mktemp("straight")
    path = write_recipe(folder, tiny_model_dir, max_steps=6, checkpoint={"every": 3, "keep": 2})
    train(load_train_recipe(path), str(tiny_hub), folder / "run", show_progress=False)
    return path, folder / "run"


@pytest.mark.parametrize("kill_at", [("stage1", 5), ("stage2", 4)])
@pytest.mark.slow
def test_resume_after_a_kill_is_exact(
    tmp_path: Path, tiny_hub: Path, straight_run: tuple[Path, Path], kill_at: tuple[str, int]
) -> None:
    """6 steps per stage straight vs killed mid-stage then resumed from the step-3 checkpoint: same losses, same
    weights (dropout on, shuffled data: RNG, optimizer, scheduler and data position must all be restored)."""
    path, straight = straight_run
    recipe = load_train_recipe(path)
    resumed = tmp_path / "resumed"
    script = tmp_path / "killer.py"
    script.write_text(KILLER, encoding="utf-8")
    process = subprocess.run(
        [sys.executable, str(script), str(path), str(tiny_hub), str(resumed), *map(str, kill_at)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]
    stage, step = kill_at
    assert [int(p.name.split("-")[1]) for p in (resumed / stage / "checkpoints").iterdir()] == [3]
    assert not (resumed / stage / "training_summary.json").exists()
    assert max(r["step"] for r in read_metrics(resumed) if r["stage"] == stage) == step

    train(recipe, str(tiny_hub), resumed, resume=True, show_progress=False)
    a, b = read_metrics(straight), read_metrics(resumed)
    assert [(r["stage"], r["step"]) for r in a] == [(r["stage"], r["step"]) for r in b]
    for x, y in zip(a, b):
        assert x["loss"] == pytest.approx(y["loss"], abs=1e-5) and x["lr"] == y["lr"] and x["tokens"] == y["tokens"]
    for name in ("stage1", "stage2"):
        first, second = (load_file(str(run / name / "adapter_model.safetensors")) for run in (straight, resumed))
        assert first.keys() == second.keys()
        assert max((first[k] - second[k]).abs().max().item() for k in first) < 1e-5
    summary = json.loads((resumed / stage / "training_summary.json").read_text())
    assert summary["resumed_from"] == 3


def test_checkpoints_keep_the_last_k_and_leave_no_partial_folder(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    recipe = load_train_recipe(
        write_recipe(tmp_path, tiny_model_dir, checkpoint={"every": 2, "keep": 2}),
        ["max_steps=9", "stages=[{name: only, data: [mix_stage1], epochs: 50}]"],
    )
    out = tmp_path / "run"
    train(recipe, str(tiny_hub), out, show_progress=False)
    assert sorted(p.name for p in (out / "only" / "checkpoints").iterdir()) == ["step-000006", "step-000008"]
    checkpoint = out / "only" / "checkpoints" / "step-000008"
    assert sorted(p.name for p in checkpoint.iterdir()) == [
        "optimizer.pt", "progress.json", "rng-rank0.json", "scheduler.json", "trainable.safetensors",
    ]
    assert json.loads((checkpoint / "progress.json").read_text())["step"] == 8


def test_padding_instead_of_packing_trains_on_the_same_examples(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    recipe = load_train_recipe(
        write_recipe(tmp_path, tiny_model_dir), ["max_steps=2", "packing=false", "stages=[{name: only, data: [mix_stage1]}]"]
    )
    summary = train(recipe, str(tiny_hub), tmp_path / "run", show_progress=False)["stages"]["only"]
    assert summary["rows"] == summary["examples"] == 40 and summary["packing"] is False


@pytest.mark.parametrize("method", ["lora", "full"])
def test_logits_at_supervised_positions_train_like_logits_everywhere(
    tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, method: str
) -> None:
    base = ["max_steps=4", "lora.dropout=0.0", f"method={method}", "stages=[{name: only, data: [mix_stage2]}]"]
    runs = {}
    for logits in ("supervised", "all"):
        folder = tmp_path / logits
        folder.mkdir()
        train(
            load_train_recipe(write_recipe(folder, tiny_model_dir), [*base, f"logits={logits}"]),
            str(tiny_hub),
            folder / "run",
            show_progress=False,
        )
        weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
        runs[logits] = (
            [(r["loss"], r["supervised_tokens"]) for r in read_metrics(folder / "run")],
            load_file(str(folder / "run" / "only" / weights)),
        )
    (losses, weights), (expected_losses, expected_weights) = runs["supervised"], runs["all"]
    assert [n for _, n in losses] == [n for _, n in expected_losses] and len(losses) == 4
    assert [loss for loss, _ in losses] == pytest.approx([loss for loss, _ in expected_losses], rel=1e-4)
    for name, value in expected_weights.items():
        torch.testing.assert_close(weights[name], value, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_gradient_checkpointing_trains_like_without(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, method: str) -> None:
    """Recomputing the layers in the backward pass (LoRA dropout on: its masks must be replayed) gives the same losses
    and weights."""
    base = ["max_steps=3", "lora.dropout=0.1", f"method={method}", "stages=[{name: only, data: [mix_stage2]}]"]
    runs = {}
    for checkpointing in (False, True):
        folder = tmp_path / str(checkpointing)
        folder.mkdir()
        overrides = [*base, f"gradient_checkpointing={str(checkpointing).lower()}"]
        recipe = load_train_recipe(write_recipe(folder, tiny_model_dir), overrides)
        train(recipe, str(tiny_hub), folder / "run", show_progress=False)
        weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
        losses = [r["loss"] for r in read_metrics(folder / "run")]
        runs[checkpointing] = (losses, load_file(str(folder / "run" / "only" / weights)))
    (losses, weights), (expected_losses, expected_weights) = runs[True], runs[False]
    assert losses == pytest.approx(expected_losses, rel=1e-5) and len(losses) == 3
    for name, value in expected_weights.items():
        torch.testing.assert_close(weights[name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_qlora_needs_cuda_and_bitsandbytes(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    recipe = load_train_recipe(write_recipe(tmp_path, tiny_model_dir, method="qlora"))
    with pytest.raises(MethodUnavailable, match="needs a CUDA GPU.*use --set method=lora"):
        quantization_config(recipe)


def test_recipes_validate_and_overrides_apply(tmp_path: Path, tiny_model_dir: Path) -> None:
    taiyi = load_train_recipe(ROOT / "recipes" / "two_stage_taiyi.yaml")
    assert (taiyi.method, taiyi.lora.r, taiyi.lora.alpha, taiyi.lora.dropout) == ("qlora", 64, 16, 0.05)
    assert (taiyi.learning_rate, taiyi.scheduler, taiyi.warmup_ratio, taiyi.max_length) == (
        2e-4, "constant_with_warmup", 0.1, 1024,
    )
    assert [(s.name, s.data, s.epochs) for s in taiyi.stages] == [
        ("stage1", ("mix_stage1",), 5.0),
        ("stage2", ("mix_stage2",), 3.0),
    ]
    demo = load_train_recipe(
        ROOT / "recipes" / "two_stage_demo.yaml", ["stages.stage2.epochs=0.5", "lora.r=8", "stages.0.learning_rate=1e-4"]
    )
    assert demo.model == "default" and demo.lora.r == 8 and demo.stages[1].epochs == 0.5 and demo.stages[0].learning_rate == 1e-4
    path = write_recipe(tmp_path, tiny_model_dir)
    for overrides, message in (
        (["lora.rank=4"], r"lora: unknown key\(s\) rank"),
        (["batch_size=two"], "batch_size: expected an integer"),
        (["method=adapters"], "method: 'adapters' is not one of"),
        (["stages.stage3.epochs=1"], "no item 'stage3'"),
        (["stages.stage1.epochs=0"], "stages.stage1.epochs: must be positive"),
        (["oops"], "expected key=value"),
    ):
        with pytest.raises(TrainRecipeError, match=message):
            load_train_recipe(path, overrides)


def test_accelerate_configs_parse() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {}
    for name in ("ddp", "fsdp", "zero2", "zero3"):
        config = load_config_from_file(str(ROOT / "recipes" / "accelerate" / f"{name}.yaml"))
        kinds[name] = str(config.distributed_type)
    assert kinds == {
        "ddp": "DistributedType.MULTI_GPU", "fsdp": "DistributedType.FSDP", "zero2": "DistributedType.DEEPSPEED",
        "zero3": "DistributedType.DEEPSPEED",
    }


def flat(text: str) -> str:
    return " ".join(text.split())


def test_train_command(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    path = write_recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(
        app, ["train", str(path), "--data", str(tiny_hub), "--out", str(out), "--max-steps", "2", "--set", "lora.r=2"]
    )
    assert result.exit_code == 0, result.output
    assert "stage2" in result.output and (out / "stage2" / "adapter_model.safetensors").is_file()
    assert json.loads((out / "stage2" / "adapter_config.json").read_text())["r"] == 2
    again = runner.invoke(app, ["train", str(path), "--data", str(tiny_hub), "--out", str(out), "--max-steps", "2"])
    assert again.exit_code == 2 and "not empty" in flat(again.output)
    resumed = runner.invoke(
        app, ["train", str(path), "--data", str(tiny_hub), "--out", str(out), "--max-steps", "3", "--set", "lora.r=2", "--resume"]
    )
    assert resumed.exit_code == 2 and "another recipe" in flat(resumed.output)
    missing = runner.invoke(
        app, ["train", str(path), "--data", str(tiny_hub), "--out", str(tmp_path / "x"), "--set", "stages.stage1.data=[nope]"]
    )
    assert missing.exit_code == 2 and "config 'nope' is not in the hub folder" in flat(missing.output)


DDP_SCRIPT = """
import json, os, sys
from pathlib import Path
from safetensors.torch import save_file
from biohub.training.checkpoint import trainable_state
from biohub.training.recipe import load_train_recipe
from biohub.training.run import train

seen, out = [], Path(sys.argv[3])
rank = int(os.environ["RANK"])  # set by the launcher (creating accelerate's state here would pre-empt train's)

def hook(info):
    seen.append({"step": info.step, "rows": info.rows})
    if info.step == 4:
        unwrapped = info.model.module if hasattr(info.model, "module") else info.model
        save_file(trainable_state(unwrapped), str(out.parent / f"weights-rank{rank}.safetensors"))

recipe = load_train_recipe(Path(sys.argv[1]), ["max_steps=4", "stages=[{name: only, data: [mix_stage2]}]"])
train(recipe, sys.argv[2], out, show_progress=False, on_step=hook)
(out.parent / f"seen-rank{rank}.json").write_text(json.dumps(seen))
"""


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    """``accelerate launch`` with the shipped DDP config, 2 processes on CPU (gloo): the ranks train on different
    rows in every step and end with identical weights, which differ from where they started."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT, encoding="utf-8")
    path = write_recipe(tmp_path, tiny_model_dir)
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ROOT / "recipes" / "accelerate" / "ddp.yaml"),
        "--num_processes", "2", "--main_process_port", str(port), str(script), str(path), str(tiny_hub), str(tmp_path / "run"),
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
    assert process.returncode == 0, process.stderr[-3000:]
    seen = [json.loads((tmp_path / f"seen-rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["step"] for s in seen[0]] == [s["step"] for s in seen[1]] == [1, 2, 3, 4]
    for zero, one in zip(*seen):
        assert not {i for batch in zero["rows"] for i in batch} & {i for batch in one["rows"] for i in batch}
    weights = [load_file(str(tmp_path / f"weights-rank{r}.safetensors")) for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert any("lora_B" in k and weights[0][k].abs().sum() > 0 for k in weights[0])  # B starts at zero
    summary = json.loads((tmp_path / "run" / "only" / "training_summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 4


@pytest.mark.slow
def test_demo_recipe_trains_the_default_model_in_two_stages(tmp_path: Path, tiny_hub: Path) -> None:
    """The shipped CPU recipe on the real default model (SmolLM2-135M-Instruct, offline GGUF), one step a stage."""
    overrides = ["max_steps=1", "batch_size=1", "gradient_accumulation=1", "max_length=256", "lora.r=2"]
    recipe = load_train_recipe(ROOT / "recipes" / "two_stage_demo.yaml", overrides)
    out = tmp_path / "run"
    summary = train(recipe, str(tiny_hub), out, show_progress=False)
    assert [s["steps"] for s in summary["stages"].values()] == [1, 1]
    assert summary["stages"]["stage1"]["parameters"] > 130_000_000
    config = json.loads((out / "stage2" / "adapter_config.json").read_text())
    assert config["r"] == 2 and "SmolLM2" in (out / "stage2" / "README.md").read_text()
    assert [r["stage"] for r in read_metrics(out)] == ["stage1", "stage2"]
