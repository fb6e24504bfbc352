"""Build recipes (YAML data): which datasets and splits, caps, mixing, stages, eval sets, decontamination.

Keys are the keyword names of the dataclasses below; unknown keys and wrongly typed values are errors::

    name: taiyi_style
    description: ...
    seed: 0
    tokenizer: default                 # for the length policy and statistics
    instructions: {formats: [lines], decompose: true, max_length: 1024}   # training examples
    mixing: {temperature: 1.0}
    decontamination: {ngram: 13, ngram_zh: 20, threshold: 0.5, min_contained: 3, min_contained_zh: 4}
    datasets:
      ncbi_disease: {train: [train], eval: [test], cap: 10000}
      cmeee: {holdout: {split: validation, eval_fraction: 0.5}, cap: 10000}
      medqa_usmle: {eval: [test]}

Stage tags: ``stage1`` mixes the extraction, classification and pair families; ``stage2`` mixes every family
(adding QA, dialogue and Alpaca-style instructions), as in Taiyi's two-stage recipe. A family's stage is its
file's ``hub.stage`` (``templates/data/families/``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biohub.errors import BiohubError
from biohub.templates.answers import FORMATS
from biohub.templates.instruct import InstructOptions
from biohub.templates.library import families, stage1_families
from biohub.templates.registry import unknown_name
from biohub.typed import build_config, from_mapping, read_yaml


class RecipeError(BiohubError, ValueError):
    """A recipe is malformed; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class Holdout:
    """Split ``split`` by document: ``eval_fraction`` of its documents become eval rows (keeping the split's
    name), the rest training rows — for corpora whose only labelled set is a dev set (CMeEE, CMeIE)."""

    split: str
    eval_fraction: float


@dataclass(frozen=True, slots=True)
class DatasetPlan:
    """``train``/``eval``: split names; ``cap``: most training examples (seeded sample; None = all);
    ``families``: restrict to these task families (empty = all the dataset yields)."""

    train: tuple[str, ...] = ()
    eval: tuple[str, ...] = ()
    cap: int | None = None
    holdout: Holdout | None = None
    families: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mixing:
    """Sampling weight of dataset i is proportional to n_i ** (1 / temperature): 1 keeps the capped sizes,
    larger values flatten the mix towards uniform. ``stage1``: the families of the first stage (default: the
    families whose file says ``hub: {stage: 1}``)."""

    temperature: float = 1.0
    stage1: tuple[str, ...] = field(default_factory=stage1_families)


@dataclass(frozen=True, slots=True)
class Decontamination:
    """``ngram``: word n-gram size for English; ``ngram_zh``: character n-gram size for Chinese; a train record is
    contaminated when its normalised text equals an eval record's, when at least ``threshold`` of the n-grams of
    the shorter of the two texts occur in the other, or when the shorter text has too few words (characters) to hold
    one n-gram and occurs whole inside the other — if it has at least ``min_contained`` words (``min_contained_zh``
    characters): a shorter text is a single term, which many texts contain without sharing the record."""

    ngram: int = 13
    ngram_zh: int = 20
    threshold: float = 0.5
    min_contained: int = 3
    min_contained_zh: int = 4


@dataclass(frozen=True, slots=True)
class Recipe:
    """A build recipe as loaded from its YAML file: the datasets with their plans, the seed, the tokenizer that
    measures lengths, and the instructions, mixing and decontamination settings. ``instructions`` (the answer
    formats to draw from, whether NER is also decomposed into one example per entity type, the token limit of an
    example, 0: none) are the options of ``biohub instruct``, with the recipe's seed."""

    name: str
    datasets: dict[str, DatasetPlan]
    description: str = ""
    seed: int = 0
    tokenizer: str = "default"
    instructions: InstructOptions = field(default_factory=InstructOptions)
    mixing: Mixing = field(default_factory=Mixing)
    decontamination: Decontamination = field(default_factory=Decontamination)

    def __post_init__(self) -> None:
        # ``instructions`` are the options ``biohub instruct`` takes; their seed is always the recipe's own
        object.__setattr__(self, "instructions", dataclasses.replace(self.instructions, seed=self.seed))

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain data (recorded in ``build_info.json`` and on the card); the seed appears once, at the
        top, as in the recipe file."""
        data = dataclasses.asdict(self)
        del data["instructions"]["seed"]
        return data

    def sha256(self) -> str:
        """A hash of the recipe's content (not of its file's formatting)."""
        import json

        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def load_recipe(path: Path) -> Recipe:
    """Load and validate a recipe file (``load_yaml``: safe, no duplicate keys)."""
    data = read_yaml(path, RecipeError, "recipe")
    if isinstance(data, dict) and isinstance(data.get("datasets"), dict):  # ``name:`` alone = a plan of defaults
        data["datasets"] = {name: {} if plan is None else plan for name, plan in data["datasets"].items()}
    recipe = build_config(Recipe, data, str(path), RecipeError, {"instructions": _instruct_options})
    problems = recipe_problems(recipe)
    if problems:
        raise RecipeError(f"{path}: " + "; ".join(problems))
    return recipe


def _instruct_options(section: Any, where: str) -> InstructOptions:
    """The recipe's ``instructions`` section as ``biohub instruct``'s options; the seed is the recipe's own ``seed``."""
    keys = [name for name in InstructOptions.__dataclass_fields__ if name != "seed"]
    unknown = sorted(set(section) - set(keys)) if isinstance(section, dict) else []
    if unknown:
        allowed = f"{', '.join(keys)} (the seed is the recipe's top-level `seed`)"
        raise TypeError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {allowed}")
    options: InstructOptions = from_mapping(InstructOptions, section, where)
    return options
def _unknown(what: str, names: Iterable[str], known: Iterable[str], where: str) -> list[str]:
    known = tuple(known)
    return [str(unknown_name(what, name, known, where)) for name in names if name not in known]


def recipe_problems(recipe: Recipe) -> list[str]:
    """Every value of ``recipe`` outside its domain, as ``key: what it must be`` (empty when none). Cheap and run at
    load, so a bad value is refused before any corpus is read."""
    problems = []
    if not recipe.datasets:
        problems.append("datasets: expected a non-empty mapping of dataset -> plan")
    known_families = tuple(families())
    for name, plan in recipe.datasets.items():
        where = f"datasets.{name}"
        if not plan.train and not plan.eval and plan.holdout is None:
            problems.append(f"{where}: names no train, eval or holdout split")
        if plan.holdout and not 0 < plan.holdout.eval_fraction < 1:
            problems.append(f"{where}.holdout.eval_fraction: must be between 0 and 1 (got {plan.holdout.eval_fraction})")
        if plan.cap is not None and plan.cap < 1:
            problems.append(f"{where}.cap: must be positive (got {plan.cap})")
        problems += _unknown("task family", plan.families, known_families, f"{where}.families")
    settings = recipe.instructions
    if not settings.formats:
        problems.append("instructions.formats: name at least one answer format")
    problems += _unknown("answer format", settings.formats, FORMATS, "instructions.formats")
    if settings.max_length < 0:
        problems.append(f"instructions.max_length: must be at least 1, or 0 for no limit (got {settings.max_length})")
    if not (math.isfinite(recipe.mixing.temperature) and recipe.mixing.temperature > 0):
        problems.append(f"mixing.temperature: must be positive and finite (got {recipe.mixing.temperature})")
    problems += _unknown("task family", recipe.mixing.stage1, known_families, "mixing.stage1")
    if recipe.seed < 0:
        problems.append(f"seed: must be >= 0 (got {recipe.seed})")
    return problems + decontamination_problems(recipe.decontamination)


def decontamination_problems(settings: Decontamination) -> list[str]:
    """Decontamination settings outside their domain: an n-gram of 0 or a threshold above 1 would turn it off."""
    problems = []
    for key in ("ngram", "ngram_zh", "min_contained", "min_contained_zh"):
        if getattr(settings, key) < 1:
            problems.append(f"decontamination.{key}: must be at least 1 (got {getattr(settings, key)})")
    if not 0 < settings.threshold <= 1:
        problems.append(f"decontamination.threshold: must be a fraction in (0, 1] (got {settings.threshold})")
    return problems


def with_cap(recipe: Recipe, cap: int) -> Recipe:
    """``recipe`` with every dataset's training examples capped at ``cap`` (a dataset's own lower cap is kept):
    the same datasets, splits and eval sets at a smaller training budget (e.g. a CPU-sized run)."""
    if cap < 1:
        raise RecipeError(f"cap: must be positive, got {cap}")
    plans = {
        name: dataclasses.replace(plan, cap=cap if plan.cap is None else min(plan.cap, cap))
        for name, plan in recipe.datasets.items()
    }
    note = f"Built with `--cap {cap}`: at most {cap:,} training examples per corpus."
    return dataclasses.replace(recipe, datasets=plans, description=f"{recipe.description.rstrip()} {note}".strip())
