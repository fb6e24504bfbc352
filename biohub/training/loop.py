"""One training stage: the optimizer-step loop on accelerate, with logging, checkpoints and exact resume.

Each optimizer step takes ``gradient_accumulation`` micro-batches per rank (from
:class:`~biohub.training.data.Schedule`); the loss is the sum of token losses over the step's supervised tokens on
the rank, divided by their number, so every target token weighs the same however the rows are packed or split into
micro-batches. DDP averages the ranks' gradients (gradient sync only on the last micro-batch). AdamW, a transformers
learning-rate schedule, gradient clipping. The loop is driven by the global step, so resuming from a checkpoint
replays nothing and skips nothing: the batches of step k are a pure function of (seed, k).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import get_scheduler

from biohub.training.checkpoint import Progress, checkpoint_dirs, load_checkpoint, save_checkpoint
from biohub.training.data import Schedule, StageData
from biohub.training.loss import accepts_logits_to_keep, supervised_loss, takes_a_logits_mask
from biohub.training.packing import PackedRow, collate_packed, collate_padded
from biohub.training.recipe import Stage, TrainRecipe
from biohub.training.tokenize import IGNORE_INDEX, Tokenized


@dataclass(frozen=True, slots=True)
class StepInfo:
    """What a step hook sees after each optimizer step: the stage, the step number (1-based), the (wrapped)
    model and the row indexes this rank trained on in that step."""

    stage: str
    step: int
    model: torch.nn.Module
    rows: list[list[int]]


StepHook = Callable[[StepInfo], None]


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """What a finished stage reports to its summary: steps and epochs run, tokens and target tokens seen (over all
    ranks), the last logged loss, the step it resumed from (0 for a fresh start) and its wall-clock seconds."""

    steps: int
    epochs: float
    tokens: int
    supervised: int
    final_loss: float
    resumed_from: int
    seconds: float


def collate(rows: list[Any], pad_id: int, dtype: torch.dtype, attention: str) -> dict[str, torch.Tensor]:
    """A batch of packed rows (block-diagonal mask; flash-attention finds the boundaries from the restarting
    position ids instead) or of single examples (padded)."""
    if isinstance(rows[0], PackedRow):
        batch = collate_packed(rows, pad_id, dtype)
        if attention == "flash_attention_2":
            del batch["attention_mask"]
        return batch
    assert all(isinstance(row, Tokenized) for row in rows)
    return collate_padded(rows, pad_id)


def _summed(accelerator: Accelerator, progress: Progress) -> tuple[float, float, float]:
    """The logging window's loss sum, target tokens and tokens, summed over the ranks."""
    window = torch.tensor(
        [progress.window_loss, progress.window_items, progress.window_tokens], dtype=torch.float64, device=accelerator.device
    )
    loss, items, tokens = accelerator.reduce(window, "sum").tolist()
    return loss, items, tokens


def total_steps(recipe: TrainRecipe, stage: Stage, schedule: Schedule) -> int:
    """The optimizer steps a stage runs: its epochs over the schedule (at least one step), capped by ``max_steps``."""
    steps = max(1, math.ceil(stage.epochs * schedule.steps_per_epoch))
    return min(steps, recipe.max_steps) if recipe.max_steps else steps


def run_stage(
    accelerator: Accelerator,
    model: torch.nn.Module,
    pad_id: int,
    recipe: TrainRecipe,
    stage: Stage,
    stage_index: int,
    data: StageData,
    stage_dir: Path,
    log: Callable[[dict[str, Any]], None],
    *,
    resume: bool,
    show_progress: bool = True,
    on_step: StepHook | None = None,
    on_eval: StepHook | None = None,
) -> StageOutcome:
    """Train ``model`` on ``data`` for the stage's steps; ``log`` receives one metrics row per logging step.
    ``on_eval`` runs every ``recipe.eval.every`` steps and after the last, before that step's checkpoint is saved (so a
    run resumed from a checkpoint has every evaluation up to it, and redoes the later ones on the same weights);
    ``on_step`` after every step."""
    schedule = Schedule(
        len(data.rows), recipe.batch_size, recipe.gradient_accumulation, accelerator.num_processes,
        recipe.seed + 7919 * stage_index,
    )
    steps = total_steps(recipe, stage, schedule)
    learning_rate = stage.learning_rate if stage.learning_rate is not None else recipe.learning_rate
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=recipe.weight_decay)
    scheduler = get_scheduler(
        recipe.scheduler, optimizer, num_warmup_steps=round(recipe.warmup_ratio * steps), num_training_steps=steps
    )
    model, optimizer = accelerator.prepare(model, optimizer)
    dtype = next(p.dtype for p in model.parameters() if p.is_floating_point())
    attention = getattr(accelerator.unwrap_model(model).config, "_attn_implementation", "sdpa")

    progress = Progress(stage.name, 0, steps, world_size=accelerator.num_processes, recipe_sha256=recipe.sha256())
    existing = checkpoint_dirs(stage_dir) if resume else []
    if existing:
        progress = load_checkpoint(accelerator, existing[-1], model, optimizer, scheduler)
        if progress.total_steps != steps:
            raise ValueError(
                f"{existing[-1]}: planned {progress.total_steps} steps, the recipe now gives {steps}; "
                "resume with the same recipe and data"
            )
    resumed_from = progress.step
    if not accelerator.is_main_process:  # a checkpoint holds the ranks' summed window, counted once
        progress.window_loss, progress.window_items, progress.window_tokens = 0.0, 0, 0
    model.train()
    sparse_head = recipe.logits == "supervised" and accepts_logits_to_keep(accelerator.unwrap_model(model))
    by_mask = takes_a_logits_mask(accelerator.unwrap_model(model))
    started = window_started = time.perf_counter()
    window_start_step = progress.step
    last_loss = math.nan
    bar = tqdm(
        total=steps, initial=progress.step, desc=stage.name, unit="step",
        disable=not (show_progress and accelerator.is_main_process),
    )
    while progress.step < steps:
        plan = schedule.micro_batches(progress.step, accelerator.process_index)
        micro_batches = [collate([data.rows[i] for i in indexes], pad_id, dtype, attention) for indexes in plan]
        items = sum(int((batch["labels"][:, 1:] != IGNORE_INDEX).sum()) for batch in micro_batches)
        scale = torch.tensor(max(items, 1), device=accelerator.device)
        step_loss = 0.0
        for number, batch in enumerate(micro_batches):
            batch = {key: value.to(accelerator.device) for key, value in batch.items()}
            syncing = number == len(micro_batches) - 1
            with contextlib.nullcontext() if syncing else accelerator.no_sync(model):
                if sparse_head:
                    loss = supervised_loss(model, batch, scale, by_mask=by_mask)
                else:
                    loss = model(**batch, num_items_in_batch=scale, use_cache=False).loss
                accelerator.backward(loss)
            step_loss += float(loss.detach())  # each micro-batch's token-loss sum / the step's item count
        grad_norm = accelerator.clip_grad_norm_(parameters, recipe.max_grad_norm) if recipe.max_grad_norm > 0 else None
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        progress.step += 1
        progress.window_loss += step_loss * items
        progress.window_items += items
        progress.window_tokens += sum(len(data.rows[i].input_ids) for indexes in plan for i in indexes)
        if progress.step % recipe.logging_every == 0 or progress.step == steps:
            window_loss, window_items, window_tokens = _summed(accelerator, progress)
            progress.tokens += int(window_tokens)
            progress.supervised += int(window_items)
            elapsed = time.perf_counter() - window_started
            last_loss = window_loss / max(window_items, 1)
            row = {
                "stage": stage.name,
                "step": progress.step,
                "epoch": round(progress.step / schedule.steps_per_epoch, 4),
                "loss": round(last_loss, 6),
                "lr": scheduler.get_last_lr()[0],
                "grad_norm": round(float(grad_norm), 6) if grad_norm is not None else None,
                "tokens": progress.tokens,  # running totals of the stage
                "supervised_tokens": progress.supervised,
                "window_tokens": int(window_tokens),  # this logging window's (the steps since the previous row)
                "window_supervised_tokens": int(window_items),  # what this row's loss is the mean over
                "tokens_per_s": round(window_tokens / elapsed, 1),
                "supervised_tokens_per_s": round(window_items / elapsed, 1),
                "steps_per_s": round((progress.step - window_start_step) / elapsed, 3),
            }
            if accelerator.is_main_process:
                log(row)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{row['lr']:.2e}", tok_s=f"{row['tokens_per_s']:,.0f}")
            progress.window_loss, progress.window_items, progress.window_tokens = 0.0, 0, 0
            window_started, window_start_step = time.perf_counter(), progress.step
        bar.update(1)
        if on_eval is not None and recipe.eval.every and (progress.step % recipe.eval.every == 0 or progress.step == steps):
            on_eval(StepInfo(stage.name, progress.step, model, plan))
        if recipe.checkpoint.every and progress.step % recipe.checkpoint.every == 0 and progress.step < steps:
            window_loss, window_items, window_tokens = _summed(accelerator, progress)
            snapshot = dataclasses.replace(
                progress, window_loss=window_loss, window_items=int(window_items), window_tokens=int(window_tokens)
            )
            save_checkpoint(accelerator, stage_dir, model, optimizer, scheduler, snapshot, recipe.checkpoint.keep)
        if on_step is not None:
            on_step(StepInfo(stage.name, progress.step, model, plan))
    bar.close()
    return StageOutcome(
        steps, steps / schedule.steps_per_epoch, progress.tokens, progress.supervised, last_loss, resumed_from,
        time.perf_counter() - started,
    )
