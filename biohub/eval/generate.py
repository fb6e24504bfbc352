"""Greedy generation for ``biohub eval``, by one of two backends:

- ``hf`` (:func:`generate`): transformers in-process; prompts sorted by length, left-padded batches, per-example token
  budgets, EOS stops;
- ``openai`` (:func:`generate_remote`): an OpenAI-compatible chat-completions server through
  :class:`biohub.chat_client.ChatClient` (temperature 0, each example's token budget as ``max_tokens``).

Outputs are appended to a JSONL file one line per example as soon as it is done (``hf``: its batch), so a crash loses
at most what was in flight; on restart the examples already in the file are skipped (a torn last line is ignored):
``hf`` by example id (the settings stamp of ``biohub eval`` guards the rest), ``openai`` by the request's hash
(:func:`request_key`: the conversation and its budget), so a finished request is never sent again and a changed one
is.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from biohub.chat_client import ChatClient
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
    model.eval()
    new_tokens = 0
    started = time.perf_counter()
    bar = tqdm(total=len(todo), desc="generate", unit="ex", disable=not show_progress)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        rows = []
        for request, (output, count) in zip(batch, answer_batch(model, tokenizer, [encoded[r.id] for r in batch], batch)):
            new_tokens += count
            rows.append({"id": request.id, "output": output, "new_tokens": count})
        append_jsonl(out, rows)
        bar.update(len(batch))
    bar.close()
    seconds = time.perf_counter() - started
    return {"generated": len(todo), "reused": len(requests) - len(todo), "new_tokens": new_tokens, "seconds": seconds}


def answer_batch(
    model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], requests: Sequence[Request]
) -> list[tuple[str, int]]:
    """Greedy answers to one batch of prompt ids (left-padded together), each cut at its first end-of-sequence or
    end-of-turn token and at its request's budget: (text without special tokens, new tokens) per prompt."""
    pad, ends = pad_id(tokenizer), eos_ids(getattr(model, "generation_config", None), tokenizer)
    input_ids, attention = left_padded(prompts, pad, next(model.parameters()).device)
    with torch.inference_mode():
        generated = model.generate(
            input_ids=input_ids, attention_mask=attention, max_new_tokens=max(r.max_new_tokens for r in requests),
            do_sample=False, num_beams=1, eos_token_id=ends, pad_token_id=pad, temperature=None, top_p=None,
            top_k=None,
        )  # fmt: skip
    answers = []
    for row, request in zip(generated[:, input_ids.shape[1] :].tolist(), requests):
        tokens = _until_eos(row, ends)[: request.max_new_tokens]
        answers.append((tokenizer.decode(tokens, skip_special_tokens=True), len(tokens)))
    return answers


def request_key(request: Request) -> str:
    """The SHA-256 of a request's conversation and token budget (what ``--backend openai`` resumes by)."""
    what = {"messages": request.messages, "max_new_tokens": request.max_new_tokens}
    text = json.dumps(what, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generate_remote(client: ChatClient, requests: Sequence[Request], out: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Answer every request whose :func:`request_key` is not yet in ``out`` through ``client`` (greedy: temperature
    0), appending each answer as it arrives; returns counts and timing as :func:`generate` does, and the requests
    sent (retries included) and tokens the server reported. A failure (after retries) or a spent budget is raised
    once the requests in flight are done; the answers written so far are kept for the next run."""
    done = {row.get("prompt_sha256") for row in read_done(out).values()}
    keys = {request.id: request_key(request) for request in requests}
    todo = [request for request in requests if keys[request.id] not in done]
    options = [{"max_tokens": request.max_new_tokens, "temperature": 0.0} for request in todo]
    new_tokens = 0
    started = time.perf_counter()
    with tqdm(total=len(todo), desc=f"generate ({client.name})", unit="ex", disable=not show_progress) as bar:
        for index, answer in client.chat_many([request.messages for request in todo], options):
            request = todo[index]
            new_tokens += answer.completion_tokens or 0
            row = {
                "id": request.id, "output": answer.text, "new_tokens": answer.completion_tokens,
                "prompt_sha256": keys[request.id], "served_model": answer.model, "finish_reason": answer.finish_reason,
            }  # fmt: skip
            append_jsonl(out, [row])
            bar.update(1)
    seconds = time.perf_counter() - started
    return {
        "generated": len(todo), "reused": len(requests) - len(todo), "new_tokens": new_tokens, "seconds": seconds,
        "requests": client.requests_made, "tokens_reported": client.tokens_used,
    }  # fmt: skip


def eos_ids(generation_config: Any, tokenizer: Any) -> list[int]:
    """The tokens an answer ends at: the end-of-sequence tokens of the model's generation config and of the tokenizer,
    and ChatML's end of turn (``<|im_end|>``) where the vocabulary has it (the chat-template fallback's)."""
    ids = set()
    for source in (generation_config, tokenizer):
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
