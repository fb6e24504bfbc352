"""Scoring time with and without bootstrap intervals, on rows of about ``--per-row`` examples.

Every row of a suite (default ``all``) of a hub folder (default: the demo build, written to ``--data`` when missing)
is filled up to ``--per-row`` examples by repeating its examples under new ids; two answers in three are the gold
answer, the third "no idea" (so the intervals have width). The rows are scored with ``--resamples 0`` and with
``--resamples R`` (``biohub.eval.run.score_outputs``); printed: both times, the increase, and the interval time per
strategy (counts / mean / recompute) and the five slowest rows.

    python benchmarks/eval_intervals.py [--data build/demo/hub] [--suite all] [--per-row 100] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from biohub.eval.resample import percentile_interval, replicates, row_generator, row_sample
from biohub.eval.run import bio_tokens, score_outputs, select
from biohub.eval.score import compute, judge
from biohub.eval.suite import load_suite, resolve

ROOT = Path(__file__).resolve().parents[1]


def demo_hub(folder: Path) -> Path:
    if not (folder / "build_info.json").is_file():
        from biohub.hub.build import build
        from biohub.hub.recipe import load_recipe

        recipe = load_recipe(ROOT / "recipes" / "demo.yaml")
        build(recipe, ROOT / "examples" / "mirror", folder, verify=False, progress=False, workers=1)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "build" / "demo" / "hub"))
    parser.add_argument("--suite", default="all")
    parser.add_argument("--per-row", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    data = str(demo_hub(Path(args.data)))
    entries = resolve(load_suite(args.suite), data)
    rows = select(data, entries, None, 0)
    filled = {}
    for name, examples in rows.items():
        repeats = -(-args.per_row // len(examples))
        copies = [example | {"id": f"{example['id']}#{k}"} for k in range(repeats) for example in examples]
        filled[name] = copies[: args.per_row]
    outputs = {
        row["id"]: "no idea" if k % 3 == 0 else row["messages"][-1]["content"]
        for examples in filled.values()
        for k, row in enumerate(examples)
    }
    start = time.perf_counter()
    score_outputs(entries, filled, outputs, data, resamples=0)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    score_outputs(entries, filled, outputs, data, resamples=args.resamples)
    with_intervals = time.perf_counter() - start
    print(f"{len(entries)} rows, {sum(map(len, filled.values()))} examples; scoring: {plain:.1f} s without intervals, "
          f"{with_intervals:.1f} s with {args.resamples} resamples (+{with_intervals - plain:.1f} s)")
    by_strategy: dict[str, list[float]] = defaultdict(list)
    timings = []
    tokens = bio_tokens(data, entries)
    for entry in entries:
        judged = [judge(row, outputs[row["id"]]) for row in filled[entry.name]]
        values = compute(entry, judged, tokens.get(entry.name))
        start = time.perf_counter()
        sample = row_sample(entry, judged, tokens.get(entry.name), values)
        percentile_interval(replicates(sample, args.resamples, row_generator(0, entry.name)))
        spent = time.perf_counter() - start
        by_strategy[sample.strategy].append(spent)
        timings.append((spent, entry.name, entry.headline, sample.strategy))
    for strategy, spent in sorted(by_strategy.items()):
        print(f"  {strategy}: {len(spent)} rows, {sum(spent):.2f} s in all, {np.median(spent) * 1000:.0f} ms median per row")
    for spent, name, headline, strategy in sorted(timings, reverse=True)[:5]:
        print(f"  slowest: {name} ({headline}, {strategy}) {spent:.2f} s")
    print(json.dumps({"plain_s": round(plain, 2), "intervals_s": round(with_intervals, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
