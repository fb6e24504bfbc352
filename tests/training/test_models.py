"""Model loading: the default GGUF model offline, saving its weights, automatic dtype/attention, the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from biohub.templates.length import load_tokenizer
from biohub.training.models import auto_dtype_and_attention, load_model, plain_copy, tiny_model


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
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "What is aspirin?"}], add_generation_prompt=True, return_tensors="pt")
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
