"""The recipe runner: every stage in order, each from the previous one's result, with metrics, plots and cards.

Outputs under ``out``: ``recipe.json`` (the resolved recipe, overrides applied), ``metrics.jsonl`` (one row per
logging step, with its ``stage``; with the recipe's ``eval.every``, also a row of ``kind`` ``eval`` per evaluation,
``eval/<row>/<metric>`` values), ``loss.png`` (a panel per stage, the task metrics under it), and per stage
``<stage>/`` (adapter or weights, tokenizer, ``README.md`` card, ``training_summary.json``, ``loss.png``,
``checkpoints/``).
A finished stage has its ``training_summary.json``; ``resume`` skips finished stages and continues the
unfinished one from its newest checkpoint. Runs the same way alone or under ``accelerate launch``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType
from transformers import set_seed

from biohub.io import write_json, write_text
from biohub.models import pad_id
from biohub.training.checkpoint import checkpoint_dirs
from biohub.training.data import StageData, prepare_stage
from biohub.training.loop import StepHook, StepInfo, run_stage
from biohub.training.memory import return_freed_memory
from biohub.training.methods import parameter_counts, prepare_model, save_stage, write_model_card
from biohub.training.plot import plot_losses
from biohub.training.preflight import SUMMARY, RunError, check_run
from biohub.training.recipe import TrainRecipe

__all__ = ["METRICS", "SUMMARY", "Evaluator", "RunError", "read_metrics", "train", "weights_sharded"]

Evaluator = Callable[[Any, Any], dict[str, float]]  # (model, tokenizer) -> {"eval/<row>/<metric>": value}

METRICS = "metrics.jsonl"


def read_metrics(out: Path) -> list[dict[str, Any]]:
    """The logged metrics rows of the run in ``out`` (``metrics.jsonl``), in order; none when nothing was logged."""
    path = out / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def skipped_line(stage: str, stage_data: StageData, max_length: int) -> str:
    """The line a stage prints when it leaves examples out: how many of how many, and why."""
    total = stage_data.examples + len(stage_data.too_long)
    return (
        f"{stage}: skipped {len(stage_data.too_long):,} of {total:,} examples longer than max_length {max_length} tokens "
        f"(not truncated; their ids: {stage}/{SUMMARY}, too_long_ids)"
    )


def _keep_metrics(out: Path, keep: list[dict[str, Any]]) -> None:
    write_text(out / METRICS, "".join(json.dumps(row, sort_keys=True) + "\n" for row in keep))


def weights_sharded(accelerator: Any) -> bool:
    """Whether the model's weights are split over the processes (FSDP, or DeepSpeed's ZeRO stage 3), so that no
    process can run the model alone."""
    if accelerator.distributed_type == DistributedType.FSDP:
        return True
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        plugin = getattr(accelerator.state, "deepspeed_plugin", None)
        return getattr(plugin, "zero_stage", None) == 3
    return False


def train(
    recipe: TrainRecipe,
    data: str,
    out: Path,
    *,
    resume: bool = False,
    show_progress: bool = True,
    on_step: StepHook | None = None,
    evaluate: Evaluator | None = None,
) -> dict[str, Any]:
    """Run every stage of ``recipe`` on the hub ``data`` (a folder or Hub id); returns the run summary. ``evaluate``
    scores the model during training when the recipe's ``eval.every`` asks for it (``biohub train`` passes
    :class:`biohub.eval.training.TrainingEval`; training does not import eval): its values are logged to
    ``metrics.jsonl`` as a row of ``kind`` ``eval`` at that step, on the main process."""
    if recipe.eval.every and evaluate is None:
        raise RunError(f"the recipe scores task metrics every {recipe.eval.every} steps (eval.every): pass evaluate=")
    if recipe.return_freed_memory:
        return_freed_memory()  # freed activations leave the process (glibc; biohub.training.memory)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    if recipe.eval.every and weights_sharded(accelerator):
        raise RunError(
            f"eval.every {recipe.eval.every}: task metrics are scored on the main process alone, which weights sharded "
            "over the processes (FSDP, DeepSpeed ZeRO-3) cannot run; set eval.every to 0 and score the saved adapters "
            "with `biohub eval`"
        )
    if accelerator.is_main_process:
        check_run(recipe, data, out, resume=resume)  # the CLI ran it before loading; a library caller gets it here
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "recipe.json", {"recipe": recipe.to_json(), "data": data, "sha256": recipe.sha256()})
    accelerator.wait_for_everyone()
    device = str(accelerator.device)
    sharded = accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
    summaries: dict[str, Any] = {}
    previous: Path | None = None
    for index, stage in enumerate(recipe.stages):
        stage_dir = out / stage.name
        done = stage_dir / SUMMARY
        if resume and done.is_file():
            summaries[stage.name] = json.loads(done.read_text(encoding="utf-8"))
            previous = stage_dir
            continue
        set_seed(recipe.seed + index)
        model, tokenizer = prepare_model(recipe, device, start_from=previous)
        pad = pad_id(tokenizer)
        stage_data = prepare_stage(
            data, stage.data, tokenizer, max_length=recipe.max_length, packing=recipe.packing,
            show_progress=show_progress and accelerator.is_main_process,
        )
        if accelerator.is_main_process and stage_data.too_long:  # every loss on screen (the ids: the stage summary)
            print(skipped_line(stage.name, stage_data, recipe.max_length), file=sys.stderr, flush=True)
        if accelerator.is_main_process:  # rows after the checkpoint a stage resumes from are logged again
            found = checkpoint_dirs(stage_dir) if resume else []
            resumed = int(json.loads((found[-1] / "progress.json").read_text(encoding="utf-8"))["step"]) if found else 0
            rows = read_metrics(out)
            kept = [r for r in rows if r["stage"] in summaries or (r["stage"] == stage.name and r["step"] <= resumed)]
            _keep_metrics(out, kept)

        def log(row: dict[str, Any]) -> None:
            with (out / METRICS).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, sort_keys=True) + "\n")

        def on_eval(info: StepInfo, tokenizer: Any = tokenizer, stage_name: str = stage.name) -> None:
            if evaluate is None or not accelerator.is_main_process:
                return
            unwrapped = accelerator.unwrap_model(info.model)
            unwrapped.eval()
            try:
                values = evaluate(unwrapped, tokenizer)
            finally:
                unwrapped.train()
            log({"stage": stage_name, "step": info.step, "kind": "eval"} | values)

        outcome = run_stage(
            accelerator, model, pad, recipe, stage, index, stage_data, stage_dir, log,
            resume=resume, show_progress=show_progress, on_step=on_step, on_eval=on_eval if evaluate else None,
        )
        unwrapped = accelerator.unwrap_model(model)
        state_dict = accelerator.get_state_dict(model) if sharded else None
        trainable, total = parameter_counts(unwrapped)
        summary = {
            "stage": stage.name,
            "configs": list(stage.data),
            "examples": stage_data.examples,
            "too_long": len(stage_data.too_long),
            "too_long_ids": stage_data.too_long,
            "rows": len(stage_data.rows),
            "packing": recipe.packing,
            "learning_rate": stage.learning_rate if stage.learning_rate is not None else recipe.learning_rate,
            "trainable_parameters": trainable,
            "parameters": total,
            "processes": accelerator.num_processes,
            "started_from": str(previous) if previous else recipe.model,
            **asdict(outcome),
        }
        if accelerator.is_main_process:
            save_stage(unwrapped, tokenizer, stage_dir, recipe, state_dict=state_dict)
            write_model_card(stage_dir, recipe, stage.name, data, summary, str(previous) if previous else None)
            rows = read_metrics(out)
            plot_losses([r for r in rows if r["stage"] == stage.name], stage_dir / "loss.png", f"{recipe.name}: {stage.name}")
            write_json(done, summary)
        accelerator.wait_for_everyone()
        summaries[stage.name] = summary
        previous = stage_dir
        del model, unwrapped, state_dict
        accelerator.free_memory()  # drop accelerate's references to this stage's model and optimizer
    if accelerator.is_main_process:
        plot_losses(read_metrics(out), out / "loss.png", recipe.name)
    accelerator.wait_for_everyone()
    return {"out": str(out), "stages": summaries}

