"""Checks a training run passes before anything heavy is imported or loaded (torch, the model, the data).

``biohub train`` validates the recipe at load (:func:`biohub.training.recipe.load_train_recipe`), then calls
:func:`check_run`: the hub folder names every config the stages train on with a ``train`` split, the model is
where the recipe says, and the output folder can take the run. A mistake therefore fails in about a second with a
message naming the file and key, not after ~30 s of loading.

The output folder rule: a new run needs a new or empty folder, or the folder of a run that failed before it
saved anything (no finished stage, no checkpoint: it holds only ``recipe.json``, ``metrics.jsonl`` and empty
stage folders), which is started over. ``--resume`` needs the same recipe and data as the run it continues, unless
that run saved nothing, in which case it starts over with the new recipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from biohub.errors import BiohubError
from biohub.io import InputError, pretrained_source
from biohub.outputs import TRAIN, claim, require_hub
from biohub.training.recipe import TrainRecipe
from biohub.typed import load_yaml

SUMMARY = "training_summary.json"
RUN_RECORD = "recipe.json"
CHECKPOINT_PREFIX = "step-"  # biohub.training.checkpoint.PREFIX (that module imports torch)


class RunError(BiohubError, RuntimeError):
    """The run cannot start or continue as asked (output folder in use, recipe changed since the checkpoint)."""


def check_run(recipe: TrainRecipe, data: str, out: Path, *, resume: bool) -> None:
    """Refuse, before any loading, a run that would fail later: missing data configs, a missing model, an output
    folder that is in use (see the module docstring)."""
    check_data(recipe, data)
    check_model(recipe.model)
    check_output(out, recipe, data, resume)


def card_configs(folder: Path) -> dict[str, Any]:
    """The configs a hub folder's card (``README.md`` front matter) declares: config name -> its entry."""
    card = folder / "README.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if not text.startswith("---"):
        raise InputError(f"{card}: no Hub card with a configs list (is {folder} a folder written by `biohub build`?)")
    front = load_yaml(text.split("---", 2)[1], str(card)) or {}
    entries = front.get("configs") if isinstance(front, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "config_name" in e for e in entries):
        raise InputError(f"{card}: the card's metadata has no readable configs list")
    return {entry["config_name"]: entry for entry in entries}


def check_data(recipe: TrainRecipe, data: str) -> None:
    """``--data`` is a complete local hub folder (its ``build_info.json`` present) whose card has every stage's configs
    with a ``train`` split, or a Hub id (whose configs are checked when they load)."""
    found = require_hub(data, "--data")
    if isinstance(found, str):
        return
    configs = card_configs(found)
    for stage in recipe.stages:
        for config in stage.data:
            where = f"stages.{stage.name}.data: config {config!r}"
            if config not in configs:
                raise RunError(f"{found}: {where} is not in the hub folder (has: {', '.join(sorted(configs)) or 'none'})")
            if not any(entry.get("split") == "train" for entry in configs[config].get("data_files", [])):
                raise RunError(f"{found}: {where} has no train split")


def check_model(model: str) -> None:
    """``model`` is ``default`` (installed), an existing ``.gguf`` file, a model folder (with ``config.json``) or a
    Hub id (with HF_HUB_OFFLINE=1: in the local cache)."""
    from biohub.models import default_gguf  # cheap: torch and transformers are imported only when a model loads

    if model == "default":
        default_gguf()
        return
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise InputError(f"model: no such file {model} (a .gguf model file)")
        return
    try:
        source = Path(pretrained_source(model, "model"))
    except InputError as exc:
        raise InputError(f"model: {exc}") from None
    if path.is_dir() and not (source / "config.json").is_file():
        raise InputError(f"model: {model} is a folder without config.json (not a model folder)")


def saved_nothing(out: Path, recipe: TrainRecipe) -> bool:
    """Whether the run in ``out`` finished no stage and wrote no checkpoint (it failed before saving anything)."""
    for stage in recipe.stages:
        folder = out / stage.name
        if (folder / SUMMARY).exists():
            return False
        checkpoints = folder / "checkpoints"
        if checkpoints.is_dir() and any(p.name.startswith(CHECKPOINT_PREFIX) for p in checkpoints.iterdir()):
            return False
    return True


def _only_run_files(out: Path, recipe: TrainRecipe) -> bool:
    """Whether ``out`` holds nothing but what a run that saved nothing leaves (so starting over loses nothing)."""
    stages = {stage.name for stage in recipe.stages}
    for entry in out.iterdir():
        if entry.name in (RUN_RECORD, "metrics.jsonl", "loss.png") and entry.is_file():
            continue
        if entry.name in stages and entry.is_dir():
            continue
        return False
    return (out / RUN_RECORD).is_file() and saved_nothing(out, recipe)


def check_output(out: Path, recipe: TrainRecipe, data: str, resume: bool) -> None:
    """Whether the run may write ``out`` (see the module docstring); RunError saying what to do otherwise."""
    claim(out, TRAIN, reuse=True)  # a file, a link loop, or a non-empty folder that holds no run: refused, left untouched
    started = out.is_dir() and any(out.iterdir())
    if not resume:
        if started and not _only_run_files(out, recipe):
            raise RunError(f"{out}: exists and is not empty; give a new folder or --resume")
        return
    saved = out / RUN_RECORD
    if not saved.is_file():
        raise RunError(f"{out}: nothing to resume (no {RUN_RECORD})")
    try:
        previous = json.loads(saved.read_text(encoding="utf-8"))
        same = previous["sha256"] == recipe.sha256() and previous["data"] == data
    except (ValueError, KeyError, TypeError) as exc:
        raise RunError(f"{saved}: unreadable run record ({exc}); give a new folder") from None
    if not same and not saved_nothing(out, recipe):
        raise RunError(
            f"{out}: was started with another recipe or data; resume with the same recipe, --set values and --data"
        )
