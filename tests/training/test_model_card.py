"""The stage folder's README.md, written through huggingface_hub's ModelCard/ModelCardData."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from huggingface_hub import ModelCard

from biohub.training.methods import write_model_card

SUMMARY = {"configs": ["mix_stage1"], "examples": 10, "too_long": 0, "steps": 2, "epochs": 1.0, "learning_rate": 1e-4,
           "tokens": 100, "supervised": 40, "final_loss": 1.5}


@pytest.mark.parametrize(("method", "library"), [("lora", "peft"), ("full", "transformers")])
def test_the_model_card_front_matter(tmp_path: Path, method: str, library: str) -> None:
    recipe = SimpleNamespace(method=method, model="default", name="demo", sha256=lambda: "0" * 64, max_length=512,
                             lora=SimpleNamespace(r=2, alpha=4, dropout=0.0), scheduler="cosine", warmup_ratio=0.1)
    write_model_card(tmp_path, recipe, "stage1", "hub", SUMMARY, None)  # type: ignore[arg-type]
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert text.startswith(f"---\nlibrary_name: {library}\ntags:\n- biohub\n- biomedical\n- sft\n---\n\n# demo — stage1\n\n")
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.library_name == library and card.data.tags == ["biohub", "biomedical", "sft"]
