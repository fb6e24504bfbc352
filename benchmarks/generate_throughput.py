"""Generation throughput: length-sorted batched greedy generation vs one example at a time, in one run.

The same prompts (a seeded sample of the eval examples of a suite in a hub folder) are generated twice with
biohub's generator (``biohub.eval.generate.generate``): batch size 1, then ``--batch-size`` (left-padded, sorted by
prompt length). Printed: generated tokens/s for each, the speed-up, and whether the outputs are identical
(greedy decoding must not depend on batching). Target (issue 6): >= 3x on CPU, >= 10x on a GPU.

    python benchmarks/generate_throughput.py --data build/bench/hub [--model default|PATH] [--examples 64] [--batch-size 16]

``--engines`` (issue 24) instead generates the same prompts, one batch size, four ways, and prints answers/s for each:
the base model; base + a LoRA adapter run unmerged (peft layers at every step); the same adapter merged into the
weights (``merge_and_unload``, what ``biohub eval --adapter`` does by default); and ``--backend openai`` against a
local OpenAI-compatible server on 127.0.0.1 serving the base model (``tests/serving.py``: biohub's own greedy
generation behind Starlette + uvicorn, one request at a time; the client is the ``openai`` SDK, ``--concurrency``
requests in flight), so the last row is the HTTP and serialisation cost over in-process generation with batch 1. The
adapter is random (r 16, alpha 32, every LLaMA projection, as ``recipes/two_stage_demo.yaml`` trains; peft's
``init_lora_weights=False``), so its answers differ from the base's; merged and unmerged answers are compared.

    PYTHONPATH=. python benchmarks/generate_throughput.py --engines --data build/bench/hub [--model default|tiny]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import torch

from biohub.eval.generate import Request, generate, read_done
from biohub.eval.run import max_new_tokens, select
from biohub.eval.suite import load_suite, resolve
from biohub.models import default_device, load_model, load_tokenizer, tiny_model

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "build" / "demo" / "hub"))
    parser.add_argument("--suite", default="taiyi_style")
    parser.add_argument("--model", default="default", help="default | tiny (config-built test model) | a model folder or Hub id")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=None, help="cap every budget (default: the per-kind budgets)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", action="store_true", help="base / adapter unmerged / merged / openai (module doc)")
    parser.add_argument("--concurrency", type=int, default=1, help="--engines: requests in flight to the local server")
    args = parser.parse_args()

    rows = select(args.data, resolve(load_suite(args.suite), args.data), None, args.seed)
    pool = list({r["id"]: r for entry_rows in rows.values() for r in entry_rows}.values())
    sample = random.Random(args.seed).sample(pool, min(args.examples, len(pool)))
    budget = max_new_tokens()
    requests = [Request(r["id"], r["messages"][:-1], min(budget[r["task"]], args.max_new_tokens or 10**6)) for r in sample]
    device = default_device()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model_spec = args.model
        if args.model == "tiny":  # the test model: 2 LLaMA layers of width 64 with SmolLM2's tokenizer, random weights
            model_spec = str(Path(tmp) / "tiny")
            tokenizer = load_tokenizer("default")
            tiny_model(tokenizer).save_pretrained(model_spec)
            tokenizer.save_pretrained(model_spec)
        if args.engines:
            return engines(model_spec, requests, Path(tmp), args, device)
        model, tokenizer = load_model(model_spec, device=device)
        for label, size in (("one at a time", 1), (f"batched x{args.batch_size}", args.batch_size)):
            out = Path(tmp) / f"{size}.jsonl"
            timing = generate(model, tokenizer, requests, out, batch_size=size, show_progress=True)
            results[label] = timing | {
                "tokens_per_s": timing["new_tokens"] / timing["seconds"],
                "outputs": {k: v["output"] for k, v in read_done(out).items()},
            }
    single, batched = results.values()
    same = sum(single["outputs"][k] == batched["outputs"][k] for k in single["outputs"])
    device_name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"model {args.model}, {len(requests)} prompts of suite {args.suite} from {args.data}, greedy, {device_name}")
    print(f"{'mode':18} {'new tokens':>10} {'seconds':>8} {'tokens/s':>9}")
    for label, r in results.items():
        print(f"{label:18} {r['new_tokens']:>10,} {r['seconds']:>8.1f} {r['tokens_per_s']:>9.1f}")
    speedup = batched["tokens_per_s"] / single["tokens_per_s"]
    print(f"speed-up: {speedup:.2f}x (target >= 3x on CPU, >= 10x on GPU); identical outputs: {same}/{len(requests)}")
    print(
        json.dumps(
            {label: {k: v for k, v in r.items() if k != "outputs"} for label, r in results.items()}
            | {"speedup": speedup, "identical": same}
        )
    )
    return 0


def engines(model_spec: str, requests: list[Request], tmp: Path, args: argparse.Namespace, device: str) -> int:
    """The ``--engines`` comparison (module doc); prints a table and a JSON line."""
    from peft import LoraConfig, get_peft_model

    from biohub.eval.generate import generate_remote
    from biohub.eval.run import Server
    from biohub.training.recipe import LLAMA_PROJECTIONS
    from tests.serving import ServerState, serving

    torch.manual_seed(args.seed)
    base, tokenizer = load_model(model_spec, device=device)
    adapter = tmp / "adapter"
    config = LoraConfig(r=16, lora_alpha=32, target_modules=list(LLAMA_PROJECTIONS), init_lora_weights=False)
    get_peft_model(load_model(model_spec, device=device)[0], config).save_pretrained(adapter)
    results: dict[str, dict[str, object]] = {}

    def run(label: str, model: object) -> None:
        out = tmp / f"{label}.jsonl"
        timing = generate(model, tokenizer, requests, out, batch_size=args.batch_size, show_progress=True)
        results[label] = timing | {"outputs": {k: v["output"] for k, v in read_done(out).items()}}

    run("base", base)
    run("adapter unmerged", load_model(model_spec, device=device, adapter=str(adapter))[0])
    run("adapter merged", load_model(model_spec, device=device, adapter=str(adapter), merge=True)[0])
    state = ServerState("served")
    with serving(base, tokenizer, state) as url:
        client = Server(url, concurrency=args.concurrency).client("served")
        out = tmp / "openai.jsonl"
        timing = generate_remote(client, requests, out, show_progress=True)
        results[f"openai (local server, {args.concurrency} in flight)"] = timing | {
            "outputs": {k: v["output"] for k, v in read_done(out).items()}
        }
    threads = f"CPU ({torch.get_num_threads()} threads)" if device == "cpu" else torch.cuda.get_device_name()
    print(f"model {args.model}, {len(requests)} prompts of suite {args.suite}, greedy, batch {args.batch_size}, {threads}")
    print(f"{'engine':36} {'answers':>7} {'new tokens':>10} {'seconds':>8} {'answers/s':>9} {'x base':>7}")
    speed = {label: len(requests) / float(r["seconds"]) for label, r in results.items()}  # type: ignore[arg-type]
    for label, r in results.items():
        print(f"{label:36} {len(requests):>7} {r['new_tokens']:>10,} {r['seconds']:>8.1f} {speed[label]:>9.3f} "
              f"{speed[label] / speed['base']:>7.2f}")
    merged, unmerged = results["adapter merged"]["outputs"], results["adapter unmerged"]["outputs"]
    remote, local = list(results.values())[-1]["outputs"], results["base"]["outputs"]
    same_merge = sum(merged[k] == unmerged[k] for k in merged)  # type: ignore[index]
    same_remote = sum(remote[k] == local[k] for k in local)  # type: ignore[index]
    print(f"identical answers: merged vs unmerged {same_merge}/{len(requests)}; openai vs base {same_remote}/{len(requests)} "
          f"(base batched x{args.batch_size}, the server one at a time)")
    summary = {
        label: {k: v for k, v in r.items() if k != "outputs"} | {"answers_per_s": speed[label]} for label, r in results.items()
    }
    print(json.dumps(summary | {"identical_merge": same_merge, "identical_openai": same_remote}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
