"""Training data: hub configs -> tokenized examples -> rows (packed or single) -> per-rank batches per step.

``--data`` is a folder written by ``biohub build`` (read from its parquet files) or a Hub dataset id (read with
``datasets.load_dataset``, offline from the local cache when ``HF_HUB_OFFLINE=1``). The order of batches is a
pure function of (seed, epoch, step): each epoch shuffles the rows with its own seeded generator and deals
consecutive global batches to the ranks, so a resumed run knows exactly where it was, and two ranks never see
the same rows in a step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from biohub.errors import BiohubError
from biohub.io import read_hub_split
from biohub.training.packing import PackedRow, pack
from biohub.training.tokenize import Tokenized, tokenize_conversation

Row = PackedRow | Tokenized


class TrainDataError(BiohubError, ValueError):
    """The training data cannot be used (missing config, no examples); the message says which and why."""


@dataclass(frozen=True, slots=True)
class StageData:
    """What one stage trains on: its rows (packed or single examples) and the counts the run summary reports."""

    rows: list[Row]
    examples: int  # tokenized examples used
    too_long: list[str]  # ids of examples longer than max_length (left out, listed in the run summary)
    tokens: int  # non-pad tokens over all rows
    supervised: int  # target tokens over all rows


def load_conversations(data: str, configs: Sequence[str]) -> list[tuple[str, list[dict[str, str]]]]:
    """(id, messages) of the ``train`` split of each config, in order."""
    conversations = []
    for config in configs:
        try:
            rows = read_hub_split(data, config, "train")
        except ValueError as exc:  # unknown config / split
            raise TrainDataError(f"{data}: cannot load config {config!r}, split 'train': {exc}") from None
        except FileNotFoundError as exc:
            raise TrainDataError(f"{data}: not a biohub hub folder or reachable Hub dataset: {exc}") from None
        for row in rows.select_columns(["id", "messages"]):
            conversations.append((row["id"], [{"role": m["role"], "content": m["content"]} for m in row["messages"]]))
    return conversations


def prepare_stage(
    data: str, configs: Sequence[str], tokenizer: object, *, max_length: int, packing: bool, show_progress: bool = True
) -> StageData:
    """Tokenize every example of ``configs`` (loss on assistant tokens only) and build the rows of the stage."""
    conversations = load_conversations(data, configs)
    if not conversations:
        raise TrainDataError(f"{data}: configs {', '.join(configs)} have no training examples")
    examples: list[Tokenized] = []
    too_long: list[str] = []
    for example_id, messages in tqdm(conversations, desc="tokenize", unit="ex", disable=not show_progress):
        tokenized = tokenize_conversation(tokenizer, messages)
        if len(tokenized.input_ids) > max_length:
            too_long.append(example_id)
        elif tokenized.supervised:
            examples.append(tokenized)
        else:
            raise TrainDataError(f"{data}: example {example_id} has no assistant tokens to learn from")
    if not examples:
        raise TrainDataError(f"{data}: every example of {', '.join(configs)} is longer than max_length {max_length}")
    rows: list[Row] = list(pack(examples, max_length)) if packing else list(examples)
    tokens = sum(len(e.input_ids) for e in examples)
    supervised = sum(e.supervised for e in examples)
    return StageData(rows, len(examples), too_long, tokens, supervised)


def epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The row order of ``epoch`` (a seeded permutation, independent of every other random state)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(count, generator=generator).tolist()


@dataclass(frozen=True, slots=True)
class Schedule:
    """How a stage's rows are dealt: ``steps_per_epoch`` optimizer steps, each of ``accumulation`` micro-batches of
    ``batch_size`` rows on each of ``world`` ranks. The last step of an epoch wraps around to the epoch's first
    rows so that every rank gets the same number of micro-batches (needed by DDP)."""

    rows: int
    batch_size: int
    accumulation: int
    world: int
    seed: int

    @property
    def rows_per_step(self) -> int:
        """Rows consumed by one optimizer step over all ranks (batch size x accumulation x world size)."""
        return self.batch_size * self.accumulation * self.world

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps that see every row once (at least one; the last step wraps around to the first rows)."""
        return max(1, -(-self.rows // self.rows_per_step))

    def micro_batches(self, step: int, rank: int) -> list[list[int]]:
        """Row indexes of each micro-batch of global optimizer step ``step`` (0-based) on ``rank``."""
        epoch, within = divmod(step, self.steps_per_epoch)
        order = epoch_order(self.rows, self.seed, epoch)
        start = within * self.rows_per_step
        batches = []
        for micro in range(self.accumulation):
            offset = start + (micro * self.world + rank) * self.batch_size
            batches.append([order[(offset + i) % self.rows] for i in range(self.batch_size)])
        return batches
