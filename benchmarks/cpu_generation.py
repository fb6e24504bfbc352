"""What pays for greedy generation on this CPU (issue 24): the same prompts generated with biohub's batched greedy
generation under settings a user could change, in one run, one model, answers compared with the baseline's.

Settings measured (each on the same seeded sample of eval prompts of a suite in a hub folder):

- ``baseline``: transformers' dynamic KV cache, eager PyTorch, ``torch.get_num_threads()`` threads (every core);
- ``static cache``: ``cache_implementation="static"`` (a pre-allocated cache of fixed shape);
- ``static cache + torch.compile``: the same, the model's forward compiled (``torch.compile``, default mode); the
  first batch pays the compilation, reported apart;
- ``threads = 1``: ``torch.set_num_threads(1)`` (what two processes on a 2-core machine would each get);
- ``batch 1``: one prompt at a time (the default batch is 8).

Printed: per setting the answers, new tokens, seconds, answers/s, tokens/s and the ratio to the baseline, and how
many answers equal the baseline's (greedy decoding should not depend on these settings; float rounding may).

    PYTHONPATH=. python benchmarks/cpu_generation.py --data build/bench/hub [--model default] [--examples 16]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from biohub.eval.generate import Request, _eos_ids, _until_eos
from biohub.eval.run import max_new_tokens, select
from biohub.eval.suite import load_suite, resolve
from biohub.models import left_padded, load_model, pad_id, prompt_ids


def run(
    model: Any, tokenizer: Any, requests: list[Request], batch: int, **generate_options: Any
) -> tuple[dict[str, str], int, float]:
    """Answers, new tokens and seconds of greedy generation over ``requests`` sorted by prompt length."""
    encoded = {r.id: prompt_ids(tokenizer, r.messages) for r in requests}
    ordered = sorted(requests, key=lambda r: (-len(encoded[r.id]), r.id))
    pad, eos = pad_id(tokenizer), _eos_ids(model, tokenizer)
    answers, tokens = {}, 0
    started = time.perf_counter()
    for start in range(0, len(ordered), batch):
        chunk = ordered[start : start + batch]
        ids, mask = left_padded([encoded[r.id] for r in chunk], pad, "cpu")
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=max(r.max_new_tokens for r in chunk), do_sample=False,
                eos_token_id=eos, pad_token_id=pad, temperature=None, top_p=None, top_k=None, **generate_options,
            )  # fmt: skip
        for row, request in zip(out[:, ids.shape[1] :].tolist(), chunk):
            kept = _until_eos(row, eos)[: request.max_new_tokens]
            tokens += len(kept)
            answers[request.id] = tokenizer.decode(kept, skip_special_tokens=True)
    return answers, tokens, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--suite", default="taiyi_style")
    parser.add_argument("--model", default="default")
    parser.add_argument("--examples", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = select(args.data, resolve(load_suite(args.suite), args.data), None, args.seed)
    pool = list({r["id"]: r for entry_rows in rows.values() for r in entry_rows}.values())
    sample = random.Random(args.seed).sample(pool, min(args.examples, len(pool)))
    budget = max_new_tokens()
    requests = [Request(r["id"], r["messages"][:-1], min(budget[r["task"]], args.max_new_tokens)) for r in sample]
    model, tokenizer = load_model(args.model, device="cpu")
    model.eval()
    threads = torch.get_num_threads()
    results: dict[str, dict[str, Any]] = {}

    def measure(label: str, setup: Callable[[], None] = lambda: None, batch: int | None = None, **options: Any) -> None:
        setup()
        answers, tokens, seconds = run(model, tokenizer, requests, batch or args.batch_size, **options)
        results[label] = {"answers": answers, "new_tokens": tokens, "seconds": seconds}

    measure("baseline")
    measure("static cache", cache_implementation="static")
    compiled_forward = model.forward
    model.forward = torch.compile(compiled_forward)
    warm = time.perf_counter()
    run(model, tokenizer, requests[: args.batch_size], args.batch_size, cache_implementation="static")
    compile_seconds = time.perf_counter() - warm
    measure("static cache + torch.compile", cache_implementation="static")
    model.forward = compiled_forward
    measure(f"threads = 1 (of {threads})", setup=lambda: torch.set_num_threads(1))
    torch.set_num_threads(threads)
    measure("batch 1", batch=1)

    base = results["baseline"]
    print(f"model {args.model}, {len(requests)} prompts of {args.suite}, <= {args.max_new_tokens} new tokens, "
          f"batch {args.batch_size}")
    columns = ("new tokens", "seconds", "answers/s", "tokens/s", "x baseline", "same answers")
    print(f"{'setting':30} " + " ".join(f"{c:>10}" for c in columns))
    summary = {}
    for label, r in results.items():
        same = sum(r["answers"][k] == base["answers"][k] for k in base["answers"])
        speed = len(requests) / r["seconds"]
        summary[label] = {"new_tokens": r["new_tokens"], "seconds": r["seconds"], "answers_per_s": speed, "same": same}
        cells = (f"{r['new_tokens']:,}", f"{r['seconds']:.1f}", f"{speed:.3f}", f"{r['new_tokens'] / r['seconds']:.1f}",
                 f"{base['seconds'] / r['seconds']:.2f}", f"{same}/{len(requests)}")  # fmt: skip
        print(f"{label:30} " + " ".join(f"{c:>10}" for c in cells))
    print(f"torch.compile warm-up (first batch, compilation included): {compile_seconds:.1f} s")
    print(json.dumps(summary | {"compile_warmup_s": compile_seconds, "threads": threads}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
