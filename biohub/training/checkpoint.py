"""Checkpoints: trainable weights, optimizer, scheduler, every rank's RNG state and the position in the data.

A checkpoint is a folder ``<stage>/checkpoints/step-NNNNNN``. It is written under a temporary name and renamed
into place once complete (``os.replace`` of a folder within one file system), so a kill during a save leaves the
previous checkpoints intact; only the newest ``keep`` are kept. Nothing is unpickled on load: weights are
safetensors, the optimizer state is read with ``torch.load(weights_only=True)``, and the scheduler, RNG and
progress are JSON. Under FSDP or DeepSpeed the sharded model and optimizer state are written by accelerate's
``save_state`` (its own format) inside the same folder.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType
from numpy.typing import NDArray
from safetensors.torch import load_file, save_file

from biohub.io import write_json

PREFIX = "step-"
SHARDED = (DistributedType.FSDP, DistributedType.DEEPSPEED)


@dataclass(slots=True)
class Progress:
    """Where a stage is: optimizer steps done and the running totals, plus the open logging window."""

    stage: str
    step: int
    total_steps: int
    tokens: int = 0
    supervised: int = 0
    window_loss: float = 0.0
    window_items: int = 0
    window_tokens: int = 0
    world_size: int = 1
    recipe_sha256: str = ""


def checkpoint_dirs(stage_dir: Path) -> list[Path]:
    """Complete checkpoints of a stage, oldest first."""
    folder = stage_dir / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / "progress.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.removeprefix(PREFIX)))


def rng_state() -> dict[str, Any]:
    """This process's Python, NumPy, torch and CUDA random states as JSON-ready lists (saved per rank)."""
    # the global generator is an MT19937, so the legacy state is always its tuple (numpy's stubs type the no-argument
    # call as the dict form, which is wrong, and the explicit legacy=True one as the union)
    numpy_state = cast(tuple[str, NDArray[np.uint32], int, int, float], np.random.get_state(legacy=True))
    return {
        "python": _lists(random.getstate()),
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "torch": torch.get_rng_state().tolist(),
        "cuda": [state.tolist() for state in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the random states :func:`rng_state` captured, so a resumed run draws what the uninterrupted one would."""
    random.setstate(_tuples(state["python"]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """CPU copies of the parameters that train (the LoRA adapter, or every weight for full fine-tuning), by name."""
    return {name: p.detach().to("cpu").contiguous().clone() for name, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    accelerator: Accelerator,
    stage_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    progress: Progress,
    keep: int,
) -> Path | None:
    """Write a checkpoint of ``progress.step`` atomically (all ranks call this) and drop the oldest beyond ``keep``."""
    folder = stage_dir / "checkpoints"
    final = folder / f"{PREFIX}{progress.step:06d}"
    staging = folder / f".tmp-{PREFIX}{progress.step:06d}"
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    accelerator.wait_for_everyone()
    write_json(staging / f"rng-rank{accelerator.process_index}.json", rng_state())
    if accelerator.distributed_type in SHARDED:
        accelerator.save_state(str(staging / "engine"))
    elif accelerator.is_main_process:
        save_file(trainable_state(accelerator.unwrap_model(model)), str(staging / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    if accelerator.is_main_process:
        write_json(staging / "scheduler.json", scheduler.state_dict())
        write_json(staging / "progress.json", asdict(progress))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        staging.replace(final)
        for old in checkpoint_dirs(stage_dir)[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(
    accelerator: Accelerator, folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> Progress:
    """Restore everything ``save_checkpoint`` wrote (same world size required, since RNG states are per rank)."""
    progress = Progress(**json.loads((folder / "progress.json").read_text(encoding="utf-8")))
    if progress.world_size != accelerator.num_processes:
        raise ValueError(
            f"{folder}: written by {progress.world_size} process(es), resumed with {accelerator.num_processes}; "
            "resume with the same number"
        )
    if accelerator.distributed_type in SHARDED:
        accelerator.load_state(str(folder / "engine"))
    else:
        saved = load_file(str(folder / "trainable.safetensors"))
        unwrapped = accelerator.unwrap_model(model)
        parameters = {name: p for name, p in unwrapped.named_parameters() if p.requires_grad}
        if set(saved) != set(parameters):
            raise ValueError(
                f"{folder}: its trainable weights do not match the model's (was the recipe's method or LoRA shape changed?)"
            )
        with torch.no_grad():
            for name, parameter in parameters.items():
                parameter.copy_(saved[name].to(parameter.device, parameter.dtype))
        optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True))
    scheduler.load_state_dict(json.loads((folder / "scheduler.json").read_text(encoding="utf-8")))
    set_rng_state(json.loads((folder / f"rng-rank{accelerator.process_index}.json").read_text(encoding="utf-8")))
    return progress
