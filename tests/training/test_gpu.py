"""The CUDA paths of training (tiny config-built model): bf16 with the best attention, LoRA in bf16, QLoRA's 4-bit base
(bitsandbytes) and flash-attention 2 against SDPA. Skipped without CUDA (and without bitsandbytes / flash-attn for
their tests); on a GPU machine ``pytest -m gpu`` runs them. On CPU the same choices are checked with a faked CUDA
(tests/training/test_models.py, test_train.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from biohub.models import load_model
from biohub.training.loop import StepInfo
from biohub.training.packing import collate_padded
from biohub.training.recipe import load_train_recipe
from biohub.training.run import read_metrics, train
from tests.training.test_packing import random_examples

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _recipe(folder: Path, model: Path, method: str) -> Path:
    recipe = {
        "name": f"gpu-{method}",
        "model": str(model),
        "method": method,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "learning_rate": 1e-3,
        "batch_size": 2,
        "max_length": 256,
        "logging_every": 1,
        "max_steps": 2,
        "stages": [{"name": "only", "data": ["mix_stage2"], "epochs": 1}],
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def _train(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, method: str) -> tuple[list[dict], list[torch.nn.Module]]:
    """Two steps of ``method`` on CUDA: the metrics rows and the (wrapped) model the step hook saw."""
    seen: list[torch.nn.Module] = []

    def hook(info: StepInfo) -> None:
        seen.append(info.model)

    recipe = load_train_recipe(_recipe(tmp_path, tiny_model_dir, method))
    train(recipe, str(tiny_hub), tmp_path / "run", show_progress=False, on_step=hook)
    assert (tmp_path / "run" / "only" / "adapter_model.safetensors").is_file()
    return read_metrics(tmp_path / "run"), seen


def test_cuda_loads_bf16_with_the_best_attention(tiny_model_dir: Path) -> None:
    import importlib.util

    model, _ = load_model(str(tiny_model_dir), device="cuda")
    wanted = "flash_attention_2" if importlib.util.find_spec("flash_attn") is not None else "sdpa"
    assert model.dtype == torch.bfloat16 and model.device.type == "cuda" and model.config._attn_implementation == wanted
    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3, 4]], device="cuda")).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits).all()


def test_lora_trains_in_bf16_on_cuda(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    rows, seen = _train(tmp_path, tiny_hub, tiny_model_dir, "lora")
    assert [r["step"] for r in rows] == [1, 2] and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    base = next(p for name, p in seen[-1].named_parameters() if "lora_" not in name)
    assert base.device.type == "cuda" and base.dtype == torch.bfloat16


def test_qlora_trains_a_4bit_base_on_cuda(tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path) -> None:
    pytest.importorskip("bitsandbytes", reason="QLoRA needs bitsandbytes (pip install biohub[gpu])")
    rows, seen = _train(tmp_path, tiny_hub, tiny_model_dir, "qlora")
    assert [r["step"] for r in rows] == [1, 2] and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    kinds = {type(module).__name__ for module in seen[-1].modules()}
    assert "Linear4bit" in kinds, sorted(kinds)


def test_flash_attention_2_gives_the_sdpa_logits(tiny_model_dir: Path) -> None:
    pytest.importorskip("flash_attn", reason="flash-attention 2 needs flash-attn (pip install biohub[gpu])")
    batch = {k: v.to("cuda") for k, v in collate_padded(random_examples(4), pad_id=0).items()}
    del batch["labels"]
    logits = {}
    for attention in ("flash_attention_2", "sdpa"):
        model, _ = load_model(str(tiny_model_dir), device="cuda", attention=attention)
        assert model.config._attn_implementation == attention
        with torch.no_grad():
            logits[attention] = model(**batch).logits.float()
    real = batch["attention_mask"].bool()  # right padding: the padded positions' logits are not compared
    torch.testing.assert_close(logits["flash_attention_2"][real], logits["sdpa"][real], rtol=2e-2, atol=2e-2)
