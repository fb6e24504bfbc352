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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biohub.errors import BiohubError
from biohub.templates.library import stage1_families
from biohub.typed import from_mapping, read_yaml


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
class Instructions:
    """The recipe's ``instructions`` section: the answer formats to draw from, whether NER is also decomposed into
    one example per entity type, and the token limit of an example (0: none)."""

    formats: tuple[str, ...] = ("lines",)
    decompose: bool = False
    max_length: int = 1024


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
    measures lengths, and the instructions, mixing and decontamination settings."""

    name: str
    datasets: dict[str, DatasetPlan]
    description: str = ""
    seed: int = 0
    tokenizer: str = "default"
    instructions: Instructions = field(default_factory=Instructions)
    mixing: Mixing = field(default_factory=Mixing)
    decontamination: Decontamination = field(default_factory=Decontamination)

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain data (recorded in ``build_info.json`` and on the card)."""
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        """A hash of the recipe's content (not of its file's formatting)."""
        import json

        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def load_recipe(path: Path) -> Recipe:
    """Load and validate a recipe file (``load_yaml``: safe, no duplicate keys)."""
    data = read_yaml(path, RecipeError, "recipe")
    if isinstance(data, dict) and isinstance(data.get("datasets"), dict):  # ``name:`` alone = a plan of defaults
        data["datasets"] = {name: {} if plan is None else plan for name, plan in data["datasets"].items()}
    try:
        recipe: Recipe = from_mapping(Recipe, data, str(path))
    except TypeError as exc:
        raise RecipeError(str(exc)) from None
    if not recipe.datasets:
        raise RecipeError(f"{path}.datasets: expected a non-empty mapping of dataset -> plan")
    for name, plan in recipe.datasets.items():
        if not plan.train and not plan.eval and plan.holdout is None:
            raise RecipeError(f"{path}.datasets.{name}: names no train, eval or holdout split")
        if plan.holdout and not 0 < plan.holdout.eval_fraction < 1:
            raise RecipeError(f"{path}.datasets.{name}.holdout.eval_fraction: must be between 0 and 1")
        if plan.cap is not None and plan.cap < 1:
            raise RecipeError(f"{path}.datasets.{name}.cap: must be positive")
    if recipe.mixing.temperature <= 0:
        raise RecipeError(f"{path}.mixing.temperature: must be positive")
    return recipe


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
