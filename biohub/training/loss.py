"""The causal-LM loss computed only where it is needed: logits at the positions that predict a supervised token.

Instruction examples are mostly prompt: in the CPU demo's mixes only 6-12% of the tokens are assistant targets.
The standard forward computes the vocabulary projection (hidden x 49k for SmolLM2) and its fp32 softmax at every
position, then ignores most of them. Here the model is asked for logits only at the (row, position) pairs whose next
token is a target: ``logits_to_keep`` as a boolean (rows, positions) mask, which the causal-LM heads of transformers
versions that slice with ``slice_logits_to_keep`` take, answering with one flat [targets, vocab] block. Other heads
(older versions; BioGPT) take one list of positions for all rows, so there the positions are the union over the rows:
in the demo recipe's micro-batches (2 packed rows of up to 1,024 tokens) of the real corpora's mixes, 338 logit rows
on average and 1,286 at most for 190 and 806 targets, each logit row 49,152 floats, held about three times over by
the softmax and its gradient. The token losses are summed and divided by the step's target count exactly as
transformers does with ``num_items_in_batch``. Same loss and gradients, a fraction of the head's compute and memory.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import torch
import torch.nn.functional as F

from biohub.training.tokenize import IGNORE_INDEX


def accepts_logits_to_keep(model: Any) -> bool:
    """Whether the causal-LM forward of ``model`` (unwrapped from DDP/FSDP; a peft model or a plain one) takes
    ``logits_to_keep``; models that do not are trained through their own ``labels`` loss."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def takes_a_logits_mask(model: Any) -> bool:
    """Whether the causal-LM head of ``model`` (unwrapped as in :func:`accepts_logits_to_keep`) takes ``logits_to_keep``
    as a boolean (rows, positions) mask: its modelling module slices with transformers' ``slice_logits_to_keep``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return hasattr(sys.modules.get(type(base).__module__), "slice_logits_to_keep")


def supervised_loss(
    model: Any, batch: dict[str, torch.Tensor], items: torch.Tensor, *, by_mask: bool | None = None
) -> torch.Tensor:
    """Sum of the token losses of ``batch``'s targets divided by ``items`` (the step's target count). ``by_mask``:
    logits at exactly the targets (True) or at the union of their positions (False); None asks
    :func:`takes_a_logits_mask` (the loop asks once, on the unwrapped model)."""
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    targets = batch["labels"][:, 1:]  # position t predicts token t + 1
    supervised = targets != IGNORE_INDEX
    if by_mask if by_mask is not None else takes_a_logits_mask(model):
        keep = F.pad(supervised, (0, 1))  # the last position predicts nothing
        logits = model(**inputs, logits_to_keep=keep, use_cache=False).logits  # [targets, vocab], row by row
        chosen = targets[supervised]
    else:
        positions = supervised.any(dim=0).nonzero().squeeze(-1)
        logits = model(**inputs, logits_to_keep=positions, use_cache=False).logits  # [rows, len(positions), vocab]
        chosen = targets[:, positions].reshape(-1)
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), chosen, ignore_index=IGNORE_INDEX, reduction="sum")
    return loss / items
