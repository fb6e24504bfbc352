"""The supervised-positions loss equals transformers' own loss (value and gradients), packed or padded, LoRA or not."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model

from biohub.training.loss import accepts_logits_to_keep, supervised_loss, takes_a_logits_mask
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
        reference = get_peft_model(
            reference, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        )
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


def test_logits_are_computed_at_the_targets_only_not_at_the_union_of_their_positions() -> None:
    """Two packed rows whose targets sit at different positions: the head sees one row per target (the mask), where the
    union of positions would give rows x union; both give the same loss."""
    model = tiny_llama()
    assert takes_a_logits_mask(model)
    batch = collate_packed(list(pack(random_examples(6), 64)), 0)
    supervised = batch["labels"][:, 1:] != IGNORE_INDEX
    union = int(supervised.any(dim=0).sum()) * supervised.shape[0]
    assert union > int(supervised.sum())  # the rows' targets do not line up
    seen: list[int] = []
    model.lm_head.register_forward_hook(lambda module, args, output: seen.append(output.reshape(-1, output.shape[-1]).shape[0]))
    items = torch.tensor(int(supervised.sum()))
    by_mask = supervised_loss(model, batch, items)
    by_union = supervised_loss(model, batch, items, by_mask=False)
    assert seen == [int(supervised.sum()), union]
    assert by_mask.item() == pytest.approx(by_union.item(), rel=1e-6)


def test_a_head_without_mask_slicing_gets_positions() -> None:
    """A model class whose module does not slice with transformers' helper (as BioGPT's) is given the union."""

    class OwnHead(torch.nn.Module):
        pass

    assert not takes_a_logits_mask(OwnHead())
    assert takes_a_logits_mask(get_peft_model(tiny_llama(), LoraConfig(r=2, target_modules=["q_proj"])))
