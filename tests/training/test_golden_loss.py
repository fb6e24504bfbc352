"""A pinned golden loss: three optimizer steps of the tiny config-built model on the synthetic hub, with a fixed seed,
data and recipe, must log exactly these losses and target-token counts (as torchtune pins its recipes' losses).

The equivalence tests of the trainer compare two of its own paths, so a change that shifts both sides at once (labels
that supervise the prompt, a collator that drops the shift, a loss normalised another way) passes them; it does not
pass this one. The values are for CPU float32 with the pinned torch/transformers/peft: a dependency upgrade that moves
them by more than the tolerance is re-pinned only after checking why they moved."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from biohub.training.recipe import load_train_recipe
from biohub.training.run import read_metrics, train

RECIPE = {
    "name": "golden",
    "method": "lora",
    "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
    "learning_rate": 1e-2,
    "scheduler": "constant_with_warmup",
    "warmup_ratio": 0.0,
    "batch_size": 2,
    "gradient_accumulation": 2,
    "max_length": 256,
    "seed": 0,
    "logging_every": 1,
    "max_steps": 3,
    "stages": [{"name": "only", "data": ["mix_stage2"], "epochs": 1}],
}
# (loss, window_supervised_tokens) of steps 1-3: the loss per target token of each step (2 micro-batches of 2 packed
# rows) and the number of target tokens it was taken over (assistant tokens only)
GOLDEN = [(10.796738, 307), (10.780054, 176), (10.676821, 210)]


def test_three_steps_of_the_tiny_model_give_the_pinned_losses(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({**RECIPE, "model": str(tiny_model_dir)}), encoding="utf-8")
    train(load_train_recipe(path), str(tiny_hub), tmp_path / "run", show_progress=False)
    rows = read_metrics(tmp_path / "run")
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert [row["window_supervised_tokens"] for row in rows] == [tokens for _, tokens in GOLDEN]
    assert [row["loss"] for row in rows] == pytest.approx([loss for loss, _ in GOLDEN], abs=1e-4)
