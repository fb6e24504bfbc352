"""Batched greedy generation: prompts sorted by length, left-padded batches, per-example token budgets, EOS stops.

Outputs are appended to a JSONL file one line per example as soon as its batch is done, so a crash loses at most
the batch in flight; on restart the examples already in the file are skipped (a torn last line is ignored).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from biohub.io import append_jsonl, read_jsonl_rows
from biohub.models import left_padded, pad_id, prompt_ids


@dataclass(frozen=True, slots=True)
class Request:
    """One example to answer: its id (the key of its output line), the prompt conversation and its token budget."""

    id: str
    messages: list[dict[str, str]]  # the conversation up to (not including) the answer
    max_new_tokens: int


def read_done(path: Path) -> dict[str, dict[str, Any]]:
    """Rows already generated, by id (a torn last line from a crash is ignored)."""
    return {row["id"]: row for row in read_jsonl_rows(path)}


def generate(
    model: Any,
    tokenizer: Any,
    requests: Sequence[Request],
    out: Path,
    *,
    batch_size: int = 16,
    show_progress: bool = True,
    max_prompt_tokens: int | None = None,
) -> dict[str, Any]:
    """Generate every request not yet in ``out``; returns counts and timing (new tokens, seconds)."""
    done = read_done(out)
    todo = [r for r in requests if r.id not in done]
    encoded = {r.id: prompt_ids(tokenizer, r.messages) for r in todo}
    if max_prompt_tokens is not None:
        encoded = {key: ids[-max_prompt_tokens:] for key, ids in encoded.items()}
    todo.sort(key=lambda r: (-len(encoded[r.id]), r.id))
    pad = pad_id(tokenizer)
    eos_ids = _eos_ids(model, tokenizer)
    device = next(model.parameters()).device
    model.eval()
    new_tokens = 0
    started = time.perf_counter()
    bar = tqdm(total=len(todo), desc="generate", unit="ex", disable=not show_progress)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        input_ids, attention = left_padded([encoded[r.id] for r in batch], pad, device)
        with torch.inference_mode():
            generated = model.generate(
                input_ids=input_ids, attention_mask=attention, max_new_tokens=max(r.max_new_tokens for r in batch),
                do_sample=False, num_beams=1, eos_token_id=eos_ids, pad_token_id=pad, temperature=None, top_p=None,
                top_k=None,
            )  # fmt: skip
        rows = []
        for row, request in zip(generated[:, input_ids.shape[1] :].tolist(), batch):
            tokens = _until_eos(row, eos_ids)[: request.max_new_tokens]
            new_tokens += len(tokens)
            output = tokenizer.decode(tokens, skip_special_tokens=True)
            rows.append({"id": request.id, "output": output, "new_tokens": len(tokens)})
        append_jsonl(out, rows)
        bar.update(len(batch))
    bar.close()
    seconds = time.perf_counter() - started
    return {"generated": len(todo), "reused": len(requests) - len(todo), "new_tokens": new_tokens, "seconds": seconds}


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = set()
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(v for v in value if isinstance(v, int))
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
    if end_of_turn is not None:
        ids.add(end_of_turn)
    return sorted(ids)


def _until_eos(tokens: list[int], eos_ids: Sequence[int]) -> list[int]:
    for index, token in enumerate(tokens):
        if token in eos_ids:
            return tokens[:index]
    return tokens
