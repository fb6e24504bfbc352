"""The supervised-positions loss equals transformers' own loss (value and gradients), packed or padded, LoRA or not."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model

from biohub.training.loss import accepts_logits_to_keep, supervised_loss
from biohub.training.packing import collate_packed, collate_padded, pack
from biohub.training.tokenize import IGNORE_INDEX, Tokenized
from tests.training.test_packing import random_examples, tiny_llama


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad and p.grad is not None}


@pytest.mark.parametrize("layout", ["packed", "padded"])
@pytest.mark.parametrize("lora", [False, True])
def test_supervised_loss_matches_the_full_loss(layout: str, lora: bool) -> None:
    reference = tiny_llama()
    if lora:
        reference = get_peft_model(reference, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    sparse = copy.deepcopy(reference)
    assert accepts_logits_to_keep(reference) and accepts_logits_to_keep(sparse)
    examples = random_examples(6)
    batch = collate_packed(list(pack(examples, 64)), 0) if layout == "packed" else collate_padded(examples, 0)
    assert batch["labels"].shape[0] >= 2  # positions are the union over several rows
    items = torch.tensor(int((batch["labels"][:, 1:] != IGNORE_INDEX).sum()))
    full = reference(**batch, num_items_in_batch=items, use_cache=False).loss
    full.backward()
    ours = supervised_loss(sparse, batch, items)
    ours.backward()
    assert ours.item() == pytest.approx(full.item(), rel=1e-6)
    expected, got = _grads(reference), _grads(sparse)
    assert expected.keys() == got.keys() and expected
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_a_micro_batch_without_targets_contributes_zero() -> None:
    model = tiny_llama()
    batch = collate_padded([Tokenized([5, 6, 7], [IGNORE_INDEX] * 3)], 0)
    loss = supervised_loss(model, batch, torch.tensor(4))
    loss.backward()
    assert loss.item() == 0.0
