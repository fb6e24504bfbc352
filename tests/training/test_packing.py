"""Packing: best-fit decreasing bins, and a packed batch computing the same loss as the examples one by one."""

from __future__ import annotations

import random

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from biohub.training.packing import best_fit_decreasing, block_causal_mask, collate_packed, collate_padded, pack
from biohub.training.tokenize import IGNORE_INDEX, Tokenized


def test_best_fit_decreasing_fills_the_fullest_bin_first() -> None:
    assert best_fit_decreasing([6, 5, 4, 3, 2, 2], 8) == [[0, 4], [1, 3], [2, 5]]
    assert best_fit_decreasing([8, 8], 8) == [[0], [1]]
    bins = best_fit_decreasing([random.Random(0).randint(1, 50) for _ in range(200)], 64)
    assert sorted(i for b in bins for i in b) == list(range(200))
    with pytest.raises(ValueError, match="longer than the row length 8"):
        best_fit_decreasing([9], 8)


def test_positions_restart_and_the_mask_is_block_diagonal() -> None:
    rows = pack([Tokenized([1, 2, 3], [-100, 2, 3]), Tokenized([4, 5], [4, 5])], 8)
    (row,) = rows
    assert row.position_ids == [0, 1, 2, 0, 1] and row.segments == [1, 1, 1, 2, 2]
    assert row.labels == [-100, 2, 3, -100, 5]  # an example's first token is never predicted from the previous one
    mask = block_causal_mask(torch.tensor([row.segments + [0]]))[0, 0] == 0
    assert mask[4].tolist() == [False, False, False, True, True, False]
    assert mask[5].tolist() == [False] * 5 + [True]  # padding attends only to itself


def tiny_llama(attention: str = "sdpa") -> LlamaForCausalLM:
    """A 2-layer LLaMA with a 128-token vocabulary, seeded (shared by the packing and loss tests)."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128,
    )
    config._attn_implementation = attention
    return LlamaForCausalLM(config).eval()


def random_examples(count: int, seed: int = 1) -> list[Tokenized]:
    """Examples of 4-40 tokens whose targets start at a random position (at least one prompt and one target token)."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        length = rng.randint(4, 40)
        ids = [rng.randrange(1, 128) for _ in range(length)]
        start = rng.randint(1, length - 2)
        examples.append(Tokenized(ids, [IGNORE_INDEX] * start + ids[start:]))
    return examples


def _loss_sum(model: LlamaForCausalLM, batch: dict[str, torch.Tensor]) -> tuple[float, int]:
    labels = batch.pop("labels")
    logits = model(**batch).logits[:, :-1]
    targets = labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return loss.item(), int((targets != IGNORE_INDEX).sum())


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_loss_equals_unpacked_loss(attention: str) -> None:
    model = tiny_llama(attention)
    examples = random_examples(9)
    with torch.no_grad():
        singles = [_loss_sum(model, collate_padded([e], pad_id=0)) for e in examples]
        rows = pack(examples, 64)
        packed = _loss_sum(model, collate_packed(rows, pad_id=0))
        padded = _loss_sum(model, collate_padded(examples, pad_id=0))
    total = sum(loss for loss, _ in singles) / sum(n for _, n in singles)
    assert len(rows) < len(examples)
    assert abs(packed[0] / packed[1] - total) < 1e-4 and packed[1] == sum(n for _, n in singles)
    assert abs(padded[0] / padded[1] - total) < 1e-4
