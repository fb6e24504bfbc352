"""biohub against the tools its users would pick instead: TRL and a plain HF Trainer, lm-evaluation-harness, datasets.

Every measurement runs in a fresh spawned child process of this one (``benchmarks/child.py``: peaks never mix, no
warm state carries over), and each comparison alternates its tools over ``--rounds`` rounds (the order rotates every
round), reporting medians and the ratio biohub / peer. Four parts (``--only`` picks some):

1. ``train``: biohub's trainer against TRL's ``SFTTrainer`` (bfd packing, padding-free, assistant-only loss) and a
   plain transformers ``Trainer`` with padding: the default model, the same LoRA, examples, row length and tokens per
   optimizer step, all in float32 (``benchmarks/peers_train.py``); and TRL in its own default precision (bf16
   autocast), for what a user gets out of the box (``--bf16-rounds``, 1 by default: a side column, not a comparison
   the goal rests on, so it does not spend the time budget's minutes on three rounds). Useful and supervised
   tokens/s over steps 2..N, peak RSS; checks that TRL prepares exactly biohub's examples (ids and supervised
   positions) and that the losses agree at step 1.
   Goal (issue 26): biohub >= 1.0x TRL's useful tokens/s at no more memory (float32 against float32).
2. ``eval``: biohub's ``loglik`` and ``generate`` protocols against lm-eval's HF backend on the exported tasks of the
   same questions (``--limit``, lm-eval's first docs; ``benchmarks/peers_eval.py``): seconds per question and
   accuracy; the loglik accuracies must be equal question by question. Goal: biohub loglik >= 1.0x lm-eval's
   questions/s.
3. ``convert``: ``biohub convert`` of a CoNLL and a JSON corpus against ``Dataset.from_generator`` over a minimal
   parse written to parquet (``benchmarks/peers_convert.py``): records/s and the ratio.
4. ``scale``: ``biohub build recipes/taiyi_style.yaml --cap N`` for each ``--caps`` (seconds, training examples
   written, peak RSS, a fitted line) and training tokens/s at each ``--lengths`` (``benchmarks/peers_scale.py``); a PNG of both.

The examples for training and evaluation come from a build of ``recipes/taiyi_style.yaml`` at ``--data-cap`` (the
scale part's build at that cap when it runs, kept). Results: the printed tables, ``--out``/peers.json, and the PNG.

    python benchmarks/peers.py --mirror ../shared/corpora [--rounds 3] [--only train,eval,convert,scale]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import peers_convert
import peers_eval
import peers_scale
import peers_train
import psutil
from child import in_child

# biohub (torch, datasets) is imported inside the functions: every spawned child imports this module again, and a
# conversion child then starts in about a second instead of several

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("train", "eval", "convert", "scale")
TOOLS = {"train": ("biohub", "TRL", "HF Trainer (padded)", "TRL (bf16)"), "convert": ("biohub", "datasets")}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def rotated(items: tuple[str, ...], round_index: int) -> list[str]:
    """The tools in the order of this round (rotated by one every round: each goes first in turn)."""
    shift = round_index % len(items)
    return list(items[shift:] + items[:shift])


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def versions() -> dict[str, str]:
    found = {}
    for name in ("biohub", "torch", "transformers", "peft", "datasets", "trl", "lm_eval", "accelerate"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> str:
    import torch

    memory = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, {memory:.0f} GiB"


def train_part(args: argparse.Namespace, hub: str, model_dir: Path, work: Path) -> dict[str, Any]:
    from biohub.hub.chat_template import TRAINING_CHAT_TEMPLATE
    from biohub.models import load_tokenizer
    from biohub.training.recipe import LLAMA_PROJECTIONS
    from biohub.training.tokenize import tokenize_conversation

    rows = peers_train.sample_rows(hub, "mix_stage2", args.train_examples, args.seed)
    sample_hub, messages = peers_train.write_sample(rows, work, "sample")
    template = work / "chat_template.jinja"
    template.write_text(TRAINING_CHAT_TEMPLATE, encoding="utf-8")
    tokenizer = load_tokenizer(str(model_dir))
    mean_length = statistics.mean(len(tokenize_conversation(tokenizer, row["messages"]).input_ids) for row in rows)
    setup = peers_train.TrainSetup(
        model_dir=str(model_dir), hub=str(sample_hub), config="sample", messages=str(messages), template=str(template),
        max_length=args.max_length, rows=1, accumulation=2, steps=args.train_steps, targets=list(LLAMA_PROJECTIONS),
        padded_batch=max(1, round(args.max_length / mean_length)), seed=args.seed,
    )  # fmt: skip
    settings = asdict(setup)
    children = {
        "biohub": peers_train.biohub_child, "TRL": peers_train.trl_child, "HF Trainer (padded)": peers_train.padded_child,
        "TRL (bf16)": peers_train.trl_child,
    }  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in children}
    digests: dict[str, int] = {}
    for index in range(args.rounds):
        for tool in rotated(TOOLS["train"], index):
            if tool == "TRL (bf16)" and index >= args.bf16_rounds:
                continue
            extra: dict[str, Any] = {"digests": True} if tool == "TRL" and not digests else {}
            if tool == "TRL (bf16)":
                extra["bf16"] = True
            result = in_child(children[tool], setup=settings, **extra)
            digests = result.pop("digests", digests)
            runs[tool].append(result)
            log(f"train round {index + 1} {tool}: {result['tokens_per_s']:.0f} tokens/s, peak {result['peak_rss_mib']:,} MiB")
    mine = peers_train.biohub_digests(str(messages), tokenizer)
    same_examples = dict(mine) == digests
    one = peers_train.one_step_rows(rows, tokenizer, setup)  # the loss check: step 1 holds the same examples in both
    one_hub, one_messages = peers_train.write_sample(one, work, "one_step")
    check = settings | {"hub": str(one_hub), "config": "one_step", "messages": str(one_messages), "steps": 1}
    step1 = {"biohub": in_child(peers_train.biohub_child, setup=check), "TRL": in_child(peers_train.trl_child, setup=check)}
    log(
        f"step-1 check on {len(one)} examples: loss biohub {step1['biohub']['loss_step1']:.6f}, "
        f"TRL {step1['TRL']['loss_step1']:.6f}"
    )
    runs = {tool: found for tool, found in runs.items() if found}  # TRL (bf16) may be left out (--bf16-rounds 0)
    first = {tool: found[0] for tool, found in runs.items()}  # round 1 of each tool
    summary = {
        tool: {
            "tokens_per_s": median_of(found, "tokens_per_s"),
            "supervised_per_s": median_of(found, "supervised_per_s"),
            "peak_rss_mib": median_of(found, "peak_rss_mib"),
            "loss_step1": found[0]["loss_step1"],
            "tokens": found[0]["tokens"],
            "supervised": found[0]["supervised"],
            "rounds": len(found),
        }  # fmt: skip
        for tool, found in runs.items()
    }
    ratio = summary["biohub"]["tokens_per_s"] / summary["TRL"]["tokens_per_s"]
    losses = (first["biohub"]["losses"], first["TRL"]["losses"])
    return {
        "setup": settings | {"examples": len(rows), "mean_example_tokens": round(mean_length, 1)}, "runs": runs,
        "summary": summary, "ratio_vs_trl": ratio,
        "ratio_vs_padded": summary["biohub"]["tokens_per_s"] / summary["HF Trainer (padded)"]["tokens_per_s"],
        "ratio_vs_trl_bf16": summary["biohub"]["tokens_per_s"] / summary["TRL (bf16)"]["tokens_per_s"]
        if "TRL (bf16)" in summary
        else None,
        "same_examples": same_examples, "examples_compared": sum(mine.values()),
        "same_run_tokens": first["biohub"]["tokens"] == first["TRL"]["tokens"]
        and first["biohub"]["supervised"] == first["TRL"]["supervised"],
        "run_losses": {"biohub": losses[0], "TRL": losses[1]},
        "step1_check": {
            "examples": len(one),
            "same_tokens": (step1["biohub"]["tokens"], step1["biohub"]["supervised"])
            == (step1["TRL"]["tokens"], step1["TRL"]["supervised"]),
            "tokens": step1["biohub"]["tokens"],
            "supervised": step1["biohub"]["supervised"],
            "loss_biohub": step1["biohub"]["loss_step1"],
            "loss_trl": step1["TRL"]["loss_step1"],
            "abs_diff": abs(step1["biohub"]["loss_step1"] - step1["TRL"]["loss_step1"]),
        },
        "padding_fraction": statistics.median(run["padding_fraction"] for run in runs["HF Trainer (padded)"]),
    }  # fmt: skip


def eval_part(args: argparse.Namespace, hub: str, model_dir: Path, work: Path) -> dict[str, Any]:
    tasks_dir = work / "lm_eval_tasks"
    exported = peers_eval.export_tasks(hub, args.eval_datasets, tasks_dir)
    found: dict[str, Any] = {}
    for dataset, task in exported.items():
        for protocol in ("loglik", "generate"):
            ids = peers_eval.first_ids(tasks_dir, task[protocol], args.limit)
            mine = peers_eval.biohub_loglik_child if protocol == "loglik" else peers_eval.biohub_generate_child
            runs: dict[str, list[dict[str, Any]]] = {"biohub": [], "lm-eval": []}
            for index in range(args.rounds):
                for tool in rotated(("biohub", "lm-eval"), index):
                    if tool == "biohub":
                        result = in_child(mine, model_dir=str(model_dir), hub=hub, dataset=dataset, split=task["split"],
                                          ids=ids, batch_size=args.batch_size)  # fmt: skip
                    else:
                        result = in_child(peers_eval.lm_eval_child, model_dir=str(model_dir), tasks_dir=str(tasks_dir),
                                          task=task[protocol], limit=args.limit, batch_size=args.batch_size,
                                          loglik=protocol == "loglik")  # fmt: skip
                    runs[tool].append(result)
                    log(f"eval {dataset} {protocol} round {index + 1} {tool}: {result['seconds']:.1f} s for {result['n']} "
                        f"questions, accuracy {result['accuracy']:.3f}")  # fmt: skip
            row: dict[str, Any] = {"runs": runs}
            for tool, results in runs.items():
                row[tool] = {
                    "seconds": median_of(results, "seconds"), "n": results[0]["n"], "accuracy": results[0]["accuracy"],
                    "questions_per_s": results[0]["n"] / median_of(results, "seconds"),
                }  # fmt: skip
            row["ratio"] = row["biohub"]["questions_per_s"] / row["lm-eval"]["questions_per_s"]
            if protocol == "loglik":
                a, b = runs["biohub"][0]["hits"], runs["lm-eval"][0]["hits"]
                row["same_questions"] = set(a) == set(b)
                row["disagreements"] = sum(a[key] != b.get(key) for key in a)
                for results in runs.values():
                    for result in results:
                        result.pop("hits")
            found[f"{dataset} {protocol}"] = row
    return found


def convert_part(args: argparse.Namespace) -> dict[str, Any]:
    found: dict[str, Any] = {}
    children = {"biohub": peers_convert.biohub_child, "datasets": peers_convert.baseline_child}
    for name in args.convert_datasets:
        runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in children}
        for index in range(args.rounds):
            for tool in rotated(TOOLS["convert"], index):
                result = in_child(children[tool], mirror=str(args.mirror), name=name)
                runs[tool].append(result)
                log(f"convert {name} round {index + 1} {tool}: {result['records']:,} records in {result['seconds']:.2f} s")
        if runs["biohub"][0]["records"] != runs["datasets"][0]["records"]:
            raise RuntimeError(
                f"{name}: biohub read {runs['biohub'][0]['records']} records, the baseline {runs['datasets'][0]['records']}"
            )
        row: dict[str, Any] = {"runs": runs, "format": runs["datasets"][0]["format"], "records": runs["biohub"][0]["records"]}
        for tool, results in runs.items():
            seconds = median_of(results, "seconds")
            row[tool] = {
                "seconds": seconds,
                "records_per_s": row["records"] / seconds,
                "peak_rss_mib": median_of(results, "peak_rss_mib"),
            }
        row["ratio"] = row["biohub"]["records_per_s"] / row["datasets"]["records_per_s"]
        row["rejected"] = runs["biohub"][0]["rejected"]
        found[name] = row
    return found


def scale_builds(args: argparse.Namespace, keep: Path) -> list[dict[str, Any]]:
    points = []
    for cap in args.caps:
        kept = str(keep) if cap == args.data_cap else None
        result = in_child(peers_scale.build_child, recipe=str(args.recipe), mirror=str(args.mirror), cap=cap, keep=kept)
        points.append(result | {"cap": cap})
        log(
            f"build --cap {cap}: {result['examples']:,} training examples ({result['rows']:,} rows) in "
            f"{result['seconds']:.1f} s, tree peak {result['tree_peak_mib']:,} MiB"
        )
    return points


def scale_training(args: argparse.Namespace, hub: str, model_dir: Path, work: Path) -> dict[int, dict[str, Any]]:
    from biohub.training.recipe import LLAMA_PROJECTIONS

    rows = peers_train.sample_rows(hub, "mix_stage2", args.train_examples, args.seed)
    sample_hub, messages = peers_train.write_sample(rows, work, "lengths")
    found = {}
    for length in args.lengths:
        setup = peers_train.TrainSetup(
            model_dir=str(model_dir), hub=str(sample_hub), config="lengths", messages=str(messages), template="",
            max_length=length, rows=1, accumulation=1, steps=args.train_steps, targets=list(LLAMA_PROJECTIONS),
            padded_batch=1, seed=args.seed,
        )  # fmt: skip
        result = in_child(peers_train.biohub_child, setup=asdict(setup))
        found[length] = result
        log(f"train at max_length {length}: {result['tokens_per_s']:.0f} tokens/s, peak {result['peak_rss_mib']:,} MiB")
    return found


def report(results: dict[str, Any]) -> None:
    print(f"\nmachine: {results['machine']}; versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()))
    print(f"rounds: {results['rounds']} (medians)")
    if "train" in results:
        train = results["train"]
        setup, check = train["setup"], train["step1_check"]
        print(
            f"\nTraining: default model, LoRA r {setup['lora_r']} alpha {setup['lora_alpha']} on {len(setup['targets'])} "
            f"projections, max_length {setup['max_length']}, {setup['rows']} row x {setup['accumulation']} micro-batches "
            f"per step (padded: {setup['padded_batch']} examples x {setup['accumulation']}), {setup['steps']} steps "
            f"(2..{setup['steps']} timed), {setup['examples']} examples"
        )
        print(f"{'tool':22}{'useful tok/s':>13}{'superv. tok/s':>14}{'peak RSS MiB':>13}{'loss step 1':>12}{'rounds':>7}")
        for tool, row in train["summary"].items():
            print(
                f"{tool:22}{row['tokens_per_s']:>13,.0f}{row['supervised_per_s']:>14,.1f}{row['peak_rss_mib']:>13,.0f}{row['loss_step1']:>12.5f}{row['rounds']:>7}"
            )
        print(
            f"biohub / TRL useful tokens/s: {train['ratio_vs_trl']:.2f}x (goal >= 1.0x at no more memory); biohub / padded "
            f"Trainer {train['ratio_vs_padded']:.2f}x (its padding {train['padding_fraction']:.1%}); TRL prepares biohub's "
            f"examples exactly: {train['same_examples']} ({train['examples_compared']} compared); step 1 on the same "
            f"{check['examples']} examples: same tokens {check['same_tokens']} ({check['tokens']:,}, {check['supervised']:,} "
            f"supervised), loss biohub {check['loss_biohub']:.6f} vs TRL {check['loss_trl']:.6f} "
            f"(|diff| {check['abs_diff']:.1e}); "
            f"the timed runs dealt the same tokens: {train['same_run_tokens']}"
        )
    if "eval" in results:
        print(f"\nEvaluation (same questions, batch size {results['batch_size']}):")
        print(
            f"{'dataset protocol':24}{'n':>5}{'biohub s/q':>11}{'lm-eval s/q':>12}{'biohub q/s':>11}{'lm-eval q/s':>12}"
            f"{'ratio':>7}{'biohub acc':>11}{'lm-eval acc':>12}"
        )
        for name, row in results["eval"].items():
            mine, theirs = row["biohub"], row["lm-eval"]
            print(
                f"{name:24}{mine['n']:>5}{1 / mine['questions_per_s']:>11.3f}{1 / theirs['questions_per_s']:>12.3f}"
                f"{mine['questions_per_s']:>11.2f}{theirs['questions_per_s']:>12.2f}{row['ratio']:>6.2f}x"
                f"{mine['accuracy']:>11.3f}{theirs['accuracy']:>12.3f}"
                + (f"  questions judged differently: {row['disagreements']}" if "disagreements" in row else "")
            )
    if "convert" in results:
        print("\nConversion (one process):")
        print(f"{'dataset':12}{'format':11}{'records':>9}{'biohub rec/s':>13}{'datasets rec/s':>15}{'ratio':>7}{'rejected':>9}")
        for name, row in results["convert"].items():
            print(
                f"{name:12}{row['format']:11}{row['records']:>9,}{row['biohub']['records_per_s']:>13,.0f}"
                f"{row['datasets']['records_per_s']:>15,.0f}{row['ratio']:>6.2f}x{row['rejected']:>9}"
            )
    if "scale" in results:
        scale = results["scale"]
        fit = scale["fit"]
        print(f"\nBuild cost against work ({scale['recipe']}):")
        print(f"{'cap':>6}{'train examples':>15}{'mixed':>8}{'rows in all':>12}{'seconds':>9}{'tree peak MiB':>14}")
        for point in scale["build"]:
            print(
                f"{point['cap']:>6,}{point['examples']:>15,}{point['mixed']:>8,}{point['rows']:>12,}{point['seconds']:>9.1f}"
                f"{point['tree_peak_mib']:>14,}"
            )
        marginal = ", ".join(f"{value:.2f}" for value in fit["marginal_s_per_1000"])
        print(
            f"fit: {fit['seconds_per_1000']:.2f} s per 1,000 training examples + {fit['intercept_s']:.1f} s fixed, "
            f"R^2 {fit['r2']:.4f}; marginal s per 1,000 between caps: {marginal}; growth: {fit['growth']}"
        )
        print(f"{'max_length':>10}{'tokens/s':>10}{'peak RSS MiB':>13}")
        for length, row in scale["training"].items():
            print(f"{length:>10}{row['tokens_per_s']:>10,.0f}{row['peak_rss_mib']:>13,}")
        print(f"plot: {scale['plot']}")
    ratios = []
    if "train" in results:
        ratios.append(("train: biohub / TRL useful tokens/s", results["train"]["ratio_vs_trl"], "goal >= 1.0"))
        ratios.append(("train: biohub / padded Trainer tokens/s", results["train"]["ratio_vs_padded"], ""))
        if results["train"]["ratio_vs_trl_bf16"] is not None:
            rounds = results["train"]["summary"]["TRL (bf16)"]["rounds"]
            ratios.append(
                ("train: biohub / TRL bf16 autocast tokens/s", results["train"]["ratio_vs_trl_bf16"],
                 f"(not like for like; {rounds} round{'s' if rounds > 1 else ''})")
            )  # fmt: skip
    for name, row in results.get("eval", {}).items():
        ratios.append((f"eval {name}: biohub / lm-eval q/s", row["ratio"], "goal >= 1.0" if name.endswith("loglik") else ""))
    for name, row in results.get("convert", {}).items():
        ratios.append((f"convert {name}: biohub / datasets rec/s", row["ratio"], ""))
    print("\nRatios (biohub / peer, medians):")
    for name, value, goal in ratios:
        print(f"  {name:52}{value:>6.2f}x  {goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "taiyi_style.yaml")
    parser.add_argument("--model", type=Path, help="a transformers model folder instead of the default model (smoke tests)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-cap", type=int, default=200, help="the build whose examples train and eval use")
    parser.add_argument("--train-examples", type=int, default=256, help="seeded sample of mix_stage2 (packed by each tool)")
    parser.add_argument("--train-steps", type=int, default=3, help="optimizer steps per run (step 1 not timed)")
    parser.add_argument(
        "--bf16-rounds", type=int, default=1, help="rounds of the TRL (bf16) column (not like for like; 0: leave it out)"
    )
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--limit", type=int, default=100, help="questions per dataset (lm-eval's first docs)")
    parser.add_argument("--batch-size", type=int, default=16, help="of both evaluation tools")
    parser.add_argument("--eval-datasets", default="medqa_usmle", help="comma-separated closed-answer datasets")
    parser.add_argument("--convert-datasets", default="bc2gm,chip_ctc", help="comma-separated: CoNLL or CBLUE JSON corpora")
    parser.add_argument("--caps", default="50,200,1000,5000")
    parser.add_argument("--lengths", default="512,1024,2048")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "peers", help="folder of peers.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "benchmarks" / "figures" / "peers_scale.png")
    args = parser.parse_args()
    parts = [part for part in args.only.split(",") if part]
    if unknown := sorted(set(parts) - set(PARTS)):
        parser.error(f"--only: unknown {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    if args.rounds < 1 or args.train_steps < 2 or not 0 <= args.bf16_rounds <= args.rounds:
        parser.error("--rounds must be >= 1, --train-steps >= 2 (step 1 is not timed), --bf16-rounds 0..--rounds")
    args.eval_datasets = args.eval_datasets.split(",")
    args.convert_datasets = args.convert_datasets.split(",")
    args.caps = [int(value) for value in args.caps.split(",")]
    args.lengths = [int(value) for value in args.lengths.split(",")]
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "versions": versions(), "rounds": args.rounds, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hub = work / "hub"
        if "scale" in parts:
            builds = scale_builds(args, hub)
        if {"train", "eval", "scale"} & set(parts):
            if not hub.exists():
                in_child(
                    peers_scale.build_child, recipe=str(args.recipe), mirror=str(args.mirror), cap=args.data_cap, keep=str(hub)
                )
            model_dir = args.model or work / "model"
            if args.model is None:
                in_child(peers_train.save_default_model_child, folder=str(model_dir))
        if "train" in parts:
            results["train"] = train_part(args, str(hub), model_dir, work)
        if "eval" in parts:
            results["eval"] = eval_part(args, str(hub), model_dir, work)
        if "convert" in parts:
            results["convert"] = convert_part(args)
        if "scale" in parts:
            training = scale_training(args, str(hub), model_dir, work)
            fit = peers_scale.linear_fit([p["examples"] for p in builds], [p["seconds"] for p in builds])
            peers_scale.plot(builds, fit, training, args.plot)
            results["scale"] = {"recipe": str(args.recipe.relative_to(ROOT) if args.recipe.is_relative_to(ROOT) else args.recipe),
                                "build": builds, "fit": fit, "training": training, "plot": str(args.plot)}  # fmt: skip
    results["seconds"] = time.perf_counter() - started
    from biohub.io import write_text

    write_text(args.out / "peers.json", json.dumps(results, indent=1, default=str) + "\n")  # atomic
    report(results)
    print(f"\nwall time {results['seconds'] / 60:.1f} min; results: {args.out / 'peers.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
