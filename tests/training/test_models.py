"""Model loading: the default GGUF model offline, saving its weights, automatic dtype/attention, the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from biohub.models import auto_dtype_and_attention, load_model, load_tokenizer, plain_copy, tiny_model


def test_dtype_and_attention_are_chosen_by_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert auto_dtype_and_attention("cpu") == (torch.float32, "sdpa")
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name == "flash_attn" else None)
    assert auto_dtype_and_attention("cuda:0") == (torch.bfloat16, "flash_attention_2")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert auto_dtype_and_attention("cuda") == (torch.bfloat16, "sdpa")


@pytest.mark.slow
def test_default_model_loads_offline_and_its_weights_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer = load_model("default")
    assert model.dtype == torch.float32 and model.config._attn_implementation == "sdpa"
    assert not hasattr(model.config, "quantization_config")
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is aspirin?"}], add_generation_prompt=True, return_tensors="pt"
    )
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape[-1] == len(tokenizer) and torch.isfinite(logits).all()
    model.save_pretrained(tmp_path / "saved")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "saved")
    with torch.no_grad():
        assert torch.allclose(reloaded(ids).logits, logits, atol=1e-5)


def test_plain_copy_drops_the_quantizer_and_keeps_weights() -> None:
    tokenizer = load_tokenizer()
    model = tiny_model(tokenizer)
    model.config.quantization_config = {"quant_method": "gguf"}
    copy = plain_copy(model)
    assert not hasattr(copy.config, "quantization_config")
    for (name, a), (_, b) in zip(model.state_dict().items(), copy.state_dict().items()):
        assert torch.equal(a, b), name


def test_tiny_model_uses_the_tokenizer_vocabulary() -> None:
    tokenizer = load_tokenizer()
    model = tiny_model(tokenizer)
    assert model.config.vocab_size == len(tokenizer) and model.config.num_hidden_layers == 2
    assert sum(p.numel() for p in model.parameters()) < 5_000_000


def _trained_adapter(tiny_model_dir: Path, folder: Path) -> torch.nn.Module:
    """A LoRA adapter on the tiny model with non-zero weights (a fresh one is the identity), saved to ``folder``."""
    from peft import LoraConfig, get_peft_model

    model, _ = load_model(str(tiny_model_dir), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.5)
    peft_model.save_pretrained(folder)
    return peft_model.eval()


def test_an_adapter_loads_on_top_of_its_base_and_merges_to_the_same_logits(tmp_path: Path, tiny_model_dir: Path) -> None:
    from biohub.training.methods import save_stage
    from biohub.training.recipe import TrainRecipe

    trained = _trained_adapter(tiny_model_dir, tmp_path / "adapter")
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        expected = trained(ids).logits
        loaded, _ = load_model(str(tiny_model_dir), dtype=torch.float32, adapter=str(tmp_path / "adapter"))
        assert torch.allclose(loaded.eval()(ids).logits, expected, atol=1e-5)
        base, tokenizer = load_model(str(tiny_model_dir), dtype=torch.float32)
        assert not torch.allclose(base(ids).logits, expected, atol=1e-3)  # the adapter does change the outputs
    recipe = TrainRecipe(name="tiny", stages=(), model=str(tiny_model_dir), merge=True)
    save_stage(trained, tokenizer, tmp_path / "stage", recipe)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "stage" / "merged").eval()
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, expected, atol=1e-4)
