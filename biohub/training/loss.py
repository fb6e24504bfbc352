"""The causal-LM loss computed only where it is needed: logits at the positions that predict a supervised token.

Instruction examples are mostly prompt: in the CPU demo's mixes only 6-12% of the tokens are assistant targets.
The standard forward computes the vocabulary projection (hidden x 49k for SmolLM2) and its fp32 softmax at every
position, then ignores most of them. Here the model is asked for logits only at the positions whose next token is
a target (``logits_to_keep`` with an index tensor, which transformers' causal-LM heads accept; the positions are
the union over the micro-batch's rows), and the token losses are summed and divided by the step's target count
exactly as transformers does with ``num_items_in_batch``. Same loss and gradients, a fraction of the head's compute
and memory.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F

from biohub.training.tokenize import IGNORE_INDEX


def accepts_logits_to_keep(model: Any) -> bool:
    """Whether the causal-LM forward of ``model`` (unwrapped from DDP/FSDP; a peft model or a plain one) takes
    ``logits_to_keep``; models that do not are trained through their own ``labels`` loss."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def supervised_loss(model: Any, batch: dict[str, torch.Tensor], items: torch.Tensor) -> torch.Tensor:
    """Sum of the token losses of ``batch``'s targets divided by ``items`` (the step's target count)."""
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    targets = batch["labels"][:, 1:]  # position t predicts token t + 1
    positions = (targets != IGNORE_INDEX).any(dim=0).nonzero().squeeze(-1)
    logits = model(**inputs, logits_to_keep=positions, use_cache=False).logits  # [rows, len(positions), vocab]
    chosen = targets[:, positions]
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), chosen.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")
    return loss / items
