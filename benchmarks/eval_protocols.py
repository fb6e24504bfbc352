"""Generate vs log-likelihood on closed-answer rows: questions per second of each protocol, in one run, one model.

The rows PubMedQA, MedQA-USMLE and KUAKE-QIC-dev of the ``taiyi_style`` suite (the same seeded ``--limit`` sample
``biohub eval`` draws) are scored twice with the model loaded once: ``generate`` (biohub's batched greedy generation
with each family's token budget, then parsing and scoring, as ``biohub eval``) and ``loglik`` (every option scored by
log-likelihood, :mod:`biohub.eval.loglik`, as ``biohub eval --protocol loglik``). Printed: per protocol the questions,
seconds and questions/s; the ratio (goal of issue 22: loglik >= 5x faster per question on the 2-core CPU); per row
the generate headline (accuracy), the loglik ``acc`` / ``acc_norm`` and the gap; the 1-minute load average before and
after each phase (on a shared machine other work slows either). Seconds count scoring only (model loading excluded),
generation's parse-and-score step included.

``--data`` is a hub folder holding the three eval splits (pubmedqa test, medqa_usmle test, kuake_qic validation):
``biohub build recipes/taiyi_style_cpu.yaml --mirror ../shared/corpora --out build/taiyi_style_cpu``, or a recipe
keeping only those three corpora of it (eval sets stay whole, so the sample is the same). The demo hub (``make
demo``) works too, but holds only a few examples per row.

    python benchmarks/eval_protocols.py --data build/taiyi_style_cpu [--model default] [--limit 100] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from biohub.eval.generate import Request, generate, read_done
from biohub.eval.loglik import score_entries
from biohub.eval.run import max_new_tokens, score_outputs, select
from biohub.eval.suite import load_suite, resolve
from biohub.models import default_device, load_model

ROWS = ("PubMedQA", "MedQA-USMLE", "KUAKE-QIC-dev")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a hub folder with the eval splits of pubmedqa, medqa_usmle, kuake_qic")
    parser.add_argument("--model", default="default")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=16, help="of both protocols")
    args = parser.parse_args()

    entries = [entry for entry in resolve(load_suite("taiyi_style"), args.data) if entry.name in ROWS]
    rows = select(args.data, entries, args.limit, args.seed)
    questions = sum(len(found) for found in rows.values())
    device = default_device()
    model, tokenizer = load_model(args.model, device=device)
    load = {"start": os.getloadavg()[0]}  # other work on a shared machine slows either phase
    budget = max_new_tokens()
    requests = [Request(row["id"], row["messages"][:-1], budget[row["task"]]) for found in rows.values() for row in found]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate(model, tokenizer, requests, Path(tmp) / "raw.jsonl", batch_size=args.batch_size, show_progress=True)
        outputs = {key: row["output"] for key, row in read_done(Path(tmp) / "raw.jsonl").items()}
        generated, _, _ = score_outputs(entries, rows, outputs, args.data, resamples=0)  # parse and score, no intervals
        generate_seconds = time.perf_counter() - started
    load["after generate"] = os.getloadavg()[0]
    run = score_entries(model, tokenizer, entries, rows, batch_size=args.batch_size, show_progress=True)
    load["after loglik"] = os.getloadavg()[0]
    speeds = {"generate": questions / generate_seconds, "loglik": questions / run.seconds}
    ratio = speeds["loglik"] / speeds["generate"]
    device_name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"model {args.model}, {questions} questions (--limit {args.limit}, seed {args.seed}) from {args.data}, {device_name}")
    print(f"{'protocol':10} {'questions':>9} {'seconds':>8} {'questions/s':>11}")
    for name, seconds in (("generate", generate_seconds), ("loglik", run.seconds)):
        print(f"{name:10} {questions:>9} {seconds:>8.1f} {speeds[name]:>11.2f}")
    print(f"loglik / generate: {ratio:.2f}x the questions per second (goal >= 5x on the 2-core CPU)")
    print("1-minute load average: " + ", ".join(f"{when} {value:.2f}" for when, value in load.items()))
    print(f"{'row':15} {'n':>4} {'generate':>9} {'loglik acc':>10} {'acc_norm':>8} {'gap':>6}")
    per_row = {}
    for result in generated:
        found = run.rows[result.name]
        per_row[result.name] = {"n": result.n, "generate": result.value, "acc": found["acc"], "acc_norm": found["acc_norm"]}
        print(
            f"{result.name:15} {result.n:>4} {100 * result.value:>9.1f} {100 * found['acc']:>10.1f} "
            f"{100 * found['acc_norm']:>8.1f} {100 * (result.value - found['acc']):>+6.1f}"
        )
    seconds = {"generate": generate_seconds, "loglik": run.seconds}
    summary = {"questions": questions, "seconds": seconds, "questions_per_s": speeds, "ratio": ratio, "load": load}
    print(json.dumps(summary | {"rows": per_row}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
