"""Training recipes (YAML data): model, method, stages and their data configs, hyper-parameters, checkpointing.

Keys are the field names of the dataclasses below; unknown keys and wrongly typed values are errors naming the
key. ``--set key=value`` overrides any key before validation (dotted paths; list items by index or, for stages,
by name; the value is read as YAML)::

    biohub train recipes/two_stage_demo.yaml --data HUBDIR --out runs/demo \\
        --set stages.stage1.epochs=1 --set batch_size=2 --set lora.r=8

Stages run in order; each starts from the previous stage's result (LoRA: the same adapter keeps training; full:
the previous weights) with a fresh optimizer and learning-rate schedule, as Taiyi's two runs did.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from biohub.errors import BiohubError
from biohub.typed import build_config, load_yaml, read_yaml

Method = Literal["lora", "qlora", "full"]
EvalProtocol = Literal["loglik", "generate"]
Scheduler = Literal["constant_with_warmup", "constant", "linear", "cosine"]
Logits = Literal["supervised", "all"]

LLAMA_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class TrainRecipeError(BiohubError, ValueError):
    """A training recipe or an override is malformed; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class Lora:
    """LoRA adapter shape (also used by QLoRA): rank, scaling numerator and dropout, on these projections."""

    r: int = 64
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = LLAMA_PROJECTIONS


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: the hub configs (their ``train`` split) it trains on, for ``epochs`` passes."""

    name: str
    data: tuple[str, ...]
    epochs: float = 1.0
    learning_rate: float | None = None  # None = the recipe's


@dataclass(frozen=True, slots=True)
class Checkpointing:
    """Save every ``every`` optimizer steps (0 = only at the end of a stage), keeping the last ``keep``."""

    every: int = 500
    keep: int = 2


@dataclass(frozen=True, slots=True)
class TrainEval:
    """Task metrics during training: every ``every`` optimizer steps (0 = never) and at the end of each stage, a fixed
    seeded sample of ``per_dataset`` eval examples per row of ``suite`` (the hub's eval splits) is scored with
    ``biohub eval``'s scorers, by ``protocol`` (``loglik``: the closed-answer rows, option log-likelihoods, nothing
    generated; ``generate``: every row, greedy answers of at most ``max_new_tokens`` tokens, parsed and scored)."""

    every: int = 0
    per_dataset: int = 20
    protocol: EvalProtocol = "loglik"
    suite: str = "taiyi_style"
    max_new_tokens: int = 64
    batch_size: int = 8


@dataclass(frozen=True, slots=True)
class TrainRecipe:
    """A whole training run as validated data: the base model, the method, the stages in order and the
    hyper-parameters they share (a stage may override the learning rate)."""

    name: str
    stages: tuple[Stage, ...]
    description: str = ""
    model: str = "default"  # "default" | a .gguf file | a local folder | a Hub id
    method: Method = "lora"
    lora: Lora = field(default_factory=Lora)
    merge: bool = False  # also save the adapter merged into the base weights (LoRA/QLoRA)
    learning_rate: float = 2e-4
    scheduler: Scheduler = "constant_with_warmup"
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    batch_size: int = 4  # rows per device per micro-step (packed rows or single examples)
    gradient_accumulation: int = 1
    max_length: int = 1024
    packing: bool = True
    gradient_checkpointing: bool = False
    # glibc malloc: serve every block >= 1 MiB with its own mmap, so freed activations leave the process (on CPU: a
    # 4x lower resident peak with gradient checkpointing, ~1.3x its step time; biohub.training.memory)
    return_freed_memory: bool = False
    # supervised: the vocabulary projection only at positions that predict a target token (same loss and gradients,
    # less compute and memory; biohub.training.loss); all: the model's own loss over every position
    logits: Logits = "supervised"
    max_steps: int | None = None  # cap on optimizer steps per stage (smoke runs)
    seed: int = 0
    logging_every: int = 10
    checkpoint: Checkpointing = field(default_factory=Checkpointing)
    eval: TrainEval = field(default_factory=TrainEval)

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain JSON data (nested dicts and lists), as written to ``recipe.json``."""
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        """A fingerprint of every setting (sha256 of the key-sorted JSON): a resumed run must present the same one."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def _set(data: Any, path: list[str], value: Any, where: str) -> None:
    key, rest = path[0], path[1:]
    if isinstance(data, list):
        if key.isdigit() and int(key) < len(data):
            index = int(key)
        else:
            matches = [i for i, item in enumerate(data) if isinstance(item, dict) and item.get("name") == key]
            if not matches:
                raise TrainRecipeError(f"{where}: no item {key!r} (give an index or a stage name)")
            index = matches[0]
        if rest:
            _set(data[index], rest, value, where)
        else:
            data[index] = value
        return
    if not isinstance(data, dict):
        raise TrainRecipeError(f"{where}: {key!r} is inside a value that is not a mapping")
    if rest:
        if data.get(key) is None:
            data[key] = {}
        _set(data[key], rest, value, where)
    else:
        data[key] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``data`` with each ``key.path=value`` applied (the value parsed as YAML)."""
    data = copy.deepcopy(data)
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise TrainRecipeError(f"--set {override!r}: expected key=value")
        try:
            value = load_yaml(raw, f"--set {key}") if raw else ""
        except yaml.YAMLError as exc:
            raise TrainRecipeError(f"--set {override!r}: invalid value: {exc}") from None
        _set(data, key.split("."), value, f"--set {key}")
    return data


def load_train_recipe(path: Path, overrides: list[str] | None = None) -> TrainRecipe:
    """Load, override and validate a training recipe (``load_yaml``: safe, no duplicate keys)."""
    data = read_yaml(path, TrainRecipeError, "recipe")
    if not isinstance(data, dict):
        raise TrainRecipeError(f"{path}: expected a mapping")
    data = apply_overrides(data, overrides or [])
    recipe = build_config(TrainRecipe, data, str(path), TrainRecipeError)
    problems = recipe_problems(recipe)
    if problems:
        raise TrainRecipeError(f"{path}: " + "; ".join(problems))
    return recipe


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def recipe_problems(recipe: TrainRecipe) -> list[str]:
    """Every value of ``recipe`` outside its domain, as ``key: what it must be (got value)`` (empty when none).
    Cheap and run at load, so a bad value is refused before any model or data is loaded."""
    problems = []
    if not recipe.stages:
        problems.append("stages: at least one stage")
    names = [stage.name for stage in recipe.stages]
    if len(set(names)) != len(names):
        problems.append(f"stages: names must be unique, got {names}")
    for stage in recipe.stages:
        if not stage.data:
            problems.append(f"stages.{stage.name}.data: name at least one hub config")
        if not _positive(stage.epochs):
            problems.append(f"stages.{stage.name}.epochs: must be positive and finite (got {stage.epochs})")
        if stage.learning_rate is not None and not _positive(stage.learning_rate):
            problems.append(f"stages.{stage.name}.learning_rate: must be positive and finite (got {stage.learning_rate})")
        if not stage.name.replace("_", "").isalnum():
            problems.append(f"stages.{stage.name}: names are letters, digits and _ (they become folder names)")
    for key in ("learning_rate", "max_grad_norm"):
        if not _positive(getattr(recipe, key)):
            problems.append(f"{key}: must be positive and finite (got {getattr(recipe, key)})")
    if not (math.isfinite(recipe.weight_decay) and recipe.weight_decay >= 0):
        problems.append(f"weight_decay: must be >= 0 and finite (got {recipe.weight_decay})")
    for key in ("batch_size", "gradient_accumulation", "max_length", "logging_every"):
        if getattr(recipe, key) < 1:
            problems.append(f"{key}: must be at least 1 (got {getattr(recipe, key)})")
    if recipe.max_steps is not None and recipe.max_steps < 1:
        problems.append(f"max_steps: must be at least 1 (got {recipe.max_steps})")
    if recipe.seed < 0:
        problems.append(f"seed: must be >= 0 (got {recipe.seed})")
    if not 0 <= recipe.warmup_ratio < 1:
        problems.append(f"warmup_ratio: must be in [0, 1) (got {recipe.warmup_ratio})")
    if recipe.checkpoint.every < 0 or recipe.checkpoint.keep < 1:
        problems.append("checkpoint: every >= 0 and keep >= 1")
    if recipe.eval.every < 0 or min(recipe.eval.per_dataset, recipe.eval.max_new_tokens, recipe.eval.batch_size) < 1:
        problems.append("eval: every >= 0 (0: never); per_dataset, max_new_tokens and batch_size >= 1")
    if recipe.lora.r < 1 or recipe.lora.alpha < 1 or not 0 <= recipe.lora.dropout < 1:
        problems.append("lora: r >= 1, alpha >= 1, 0 <= dropout < 1")
    if not recipe.lora.target_modules and recipe.method != "full":
        problems.append("lora.target_modules: name at least one module")
    if recipe.merge and recipe.method == "full":
        problems.append("merge: only for lora/qlora (full fine-tuning already saves weights)")
    if not recipe.model.strip():
        problems.append("model: give 'default', a .gguf file, a model folder or a Hub id")
    return problems
