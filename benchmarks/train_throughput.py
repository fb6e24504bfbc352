"""Training throughput and memory: packed rows vs padding, and the memory fixes, each mode in a fresh child process.

A seeded sample of ``--examples`` examples of a hub config (default ``mix_stage2``, so its length distribution; 0 = the
whole config) is trained through biohub's own loop (``biohub.training.run.train``), once per mode, each mode in its
own spawned child process so that peaks do not mix. Printed per mode: useful (non-pad) tokens/s, supervised tokens/s,
fraction of padding positions, optimizer steps, loop seconds and peak memory (CUDA max allocated on a GPU, the
child's max RSS on CPU).

Throughput modes (the default; a config-built model, one epoch): packed (best-fit decreasing into ``--max-length``
rows), padded to the longest example of each batch, and packed with the vocabulary projection at every position
(``logits=all``); then the packed/padded ratio (targets, issue 5: packed >= 1.5x padded useful tokens/s, packed
padding <= 5%) and the supervised-logits/all-logits ratio.

Memory modes (``--recipe``, e.g. ``recipes/two_stage_demo.yaml``: that recipe's exact model, method, batch shape,
packing and checkpointing, one stage on the sample, ``--max-steps`` optimizer steps): ``recipe`` as written, and the
same with one memory fix undone each: ``no-checkpointing`` (``gradient_checkpointing=false``), ``sliding-malloc``
(``return_freed_memory=false``: glibc's own sliding mmap threshold, see biohub/training/memory.py) and ``union-logits``
(logits at the union of the rows' target positions instead of at the targets), and ``none`` (all three undone).

With ``--mfu`` on a GPU the model is a 0.5B-parameter Qwen2.5-0.5B-shaped LLaMA built from a config, fully fine-tuned,
and model FLOPs utilisation is reported against 989 TFLOP/s (H100 bf16 dense): 6 * parameters * tokens + attention.

    python benchmarks/train_throughput.py --data build/bench/hub [--examples 256] [--model small|tiny|default|PATH]
    python benchmarks/train_throughput.py --data HUB --recipe recipes/two_stage_demo.yaml --examples 0 --max-steps 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from biohub.io import read_hub_split, write_json, write_parquet, write_text
from biohub.models import load_tokenizer
from biohub.templates.example import EXAMPLE_FEATURES
from biohub.training.data import Schedule, prepare_stage
from biohub.training.recipe import TrainRecipe, load_train_recipe
from biohub.typed import load_yaml

ROOT = Path(__file__).resolve().parents[1]
H100_BF16_DENSE = 989e12
SHAPES = {  # name: (layers, hidden, heads, kv heads, intermediate)
    "tiny": (2, 64, 4, 2, 128),
    "small": (6, 384, 6, 2, 1024),
    "0.5b": (24, 896, 14, 2, 4864),  # Qwen2.5-0.5B's shape
}


def config_model(shape: str, folder: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer("default")
    layers, hidden, heads, kv, intermediate = SHAPES[shape]
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=4096, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def sample_hub(data: str, config: str, count: int, seed: int, folder: Path) -> Path:
    rows = read_hub_split(data, config, "train")
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(count, len(rows)))) if count else list(range(len(rows)))
    write_parquet(folder / "data" / "sample" / "train-00000-of-00001.parquet", [rows[i] for i in picked], EXAMPLE_FEATURES)
    write_text(
        folder / "README.md",
        "---\nconfigs:\n- config_name: sample\n  data_files:\n  - split: train\n    path: data/sample/train-*.parquet\n---\n",
    )
    # the completion record `biohub build` writes last (biohub train refuses a hub folder without one)
    write_json(folder / "build_info.json", {"configs": {"sample": {"train": len(picked)}}, "recipe_sha256": "0" * 64})
    return folder


def positions(recipe: TrainRecipe, hub: Path, tokenizer: Any) -> dict[str, int]:
    """Positions computed (tokens + padding) over one epoch in the batches the loop will form."""
    stage = prepare_stage(
        str(hub), ["sample"], tokenizer, max_length=recipe.max_length, packing=recipe.packing, show_progress=False
    )
    schedule = Schedule(len(stage.rows), recipe.batch_size, recipe.gradient_accumulation, 1, recipe.seed)
    total = 0
    for step in range(schedule.steps_per_epoch):
        for batch in schedule.micro_batches(step, 0):
            total += len(batch) * max(len(stage.rows[i].input_ids) for i in batch)
    return {"positions": total, "rows": len(stage.rows), "examples": stage.examples}


def child(recipe_path: str, overrides: list[str], undo: tuple[str, ...], hub: str, out: str, queue: Any) -> None:
    from biohub.training import loop, run

    if "union-logits" in undo:
        loop.takes_a_logits_mask = lambda model: False  # type: ignore[attr-defined]
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    cpu_after_step: list[float] = []  # this process' user + system CPU seconds after each optimizer step

    def cpu_clock(info: Any) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_after_step.append(usage.ru_utime + usage.ru_stime)

    recipe = load_train_recipe(Path(recipe_path), overrides)
    summary = run.train(recipe, hub, Path(out), show_progress=True, on_step=cpu_clock)["stages"]["only"]
    summary["peak_bytes"] = (
        torch.cuda.max_memory_allocated()
        if torch.cuda.is_available()
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    # CPU seconds per step after the first (warm-up) step: on a shared machine steadier than wall time
    later = len(cpu_after_step) - 1
    summary["cpu_s_per_step"] = (cpu_after_step[-1] - cpu_after_step[0]) / later if later else None
    queue.put(summary)


def modes_for(args: argparse.Namespace) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    """Mode name: (recipe overrides, fixes undone)."""
    if args.recipe:
        return {
            "recipe": ([], ()),
            "no-checkpointing": (["gradient_checkpointing=false"], ()),
            "sliding-malloc": (["return_freed_memory=false"], ()),
            "union-logits": ([], ("union-logits",)),
            "none": (["gradient_checkpointing=false", "return_freed_memory=false"], ("union-logits",)),
        }
    return {
        "packed": (["packing=true", f"batch_size={args.packed_batch}"], ()),
        "padded": (["packing=false", f"batch_size={args.padded_batch}"], ()),
        "packed+all": (["packing=true", f"batch_size={args.packed_batch}", "logits=all"], ()),  # the head at every position
    }


def write_recipe(args: argparse.Namespace, model: str, path: Path) -> None:
    """The benchmark's recipe: ``--recipe`` with one stage on the sample, or the throughput comparison's own."""
    stage = [{"name": "only", "data": ["sample"], "epochs": 1}]
    if args.recipe:
        data = load_yaml(Path(args.recipe).read_text(encoding="utf-8"), args.recipe)
        data |= {"stages": stage, "checkpoint": {"every": 0, "keep": 1}, "max_steps": args.max_steps}
    else:
        data = {"name": "throughput", "model": model, "method": args.method, "max_length": args.max_length,
                "warmup_ratio": 0.0, "learning_rate": 1e-4, "logging_every": 10, "checkpoint": {"every": 0, "keep": 1},
                "seed": args.seed, "stages": stage, "max_steps": args.max_steps}  # fmt: skip
    path.write_text(json.dumps(data), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "build" / "demo" / "hub"), help="hub folder or Hub id")
    parser.add_argument("--config", default="mix_stage2")
    parser.add_argument("--examples", type=int, default=256, help="seeded sample size; 0 = every example of --config")
    parser.add_argument("--model", default="small", help="tiny | small | 0.5b (config-built) | default | a folder")
    parser.add_argument("--method", default="full", choices=["full", "lora"])
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--packed-batch", type=int, default=2, help="packed rows per step")
    parser.add_argument("--padded-batch", type=int, default=8, help="examples per step when padding")
    parser.add_argument("--recipe", help="memory modes on this training recipe's configuration (its model, batch, checkpointing)")
    parser.add_argument("--max-steps", type=int, default=None, help="optimizer steps per mode (default: one epoch)")
    parser.add_argument("--modes", help="comma-separated subset of the modes to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mfu", action="store_true", help="report model FLOPs utilisation (GPU)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = str(config_model(args.model, work / "model")) if args.model in SHAPES and not args.recipe else args.model
        hub = sample_hub(args.data, args.config, args.examples, args.seed, work / "hub")
        recipe_path = work / "recipe.yaml"
        write_recipe(args, model, recipe_path)
        model = load_train_recipe(recipe_path).model
        shown = model if args.recipe else args.model
        tokenizer = load_tokenizer(model if Path(model).is_dir() else "default")
        results = {}
        context = multiprocessing.get_context("spawn")
        modes = modes_for(args)
        chosen = args.modes.split(",") if args.modes else list(modes)
        if unknown := sorted(set(chosen) - set(modes)):
            parser.error(f"--modes: unknown {', '.join(unknown)}; these runs have {', '.join(modes)}")
        for mode in chosen:
            overrides, undo = modes[mode]
            counted = positions(load_train_recipe(recipe_path, overrides), hub, tokenizer) if not args.max_steps else None
            queue = context.Queue()
            process = context.Process(target=child, args=(str(recipe_path), overrides, undo, str(hub), str(work / mode), queue))
            process.start()
            summary = queue.get()
            process.join()
            seconds = summary["seconds"]
            results[mode] = {
                "examples": summary["examples"],
                "rows": summary["rows"],
                "steps": summary["steps"],
                "seconds": round(seconds, 2),
                "tokens_per_s": round(summary["tokens"] / seconds, 1),
                "supervised_tokens_per_s": round(summary["supervised"] / seconds, 1),
                "padding_fraction": round(1 - summary["tokens"] / counted["positions"], 4) if counted else None,  # over an epoch
                "peak_mib": round(summary["peak_bytes"] / 2**20),
                "cpu_s_per_step": None if summary["cpu_s_per_step"] is None else round(summary["cpu_s_per_step"], 1),
                "tokens": summary["tokens"],
                "parameters": summary["parameters"],
            }
            if args.mfu:
                parameters = summary["parameters"]
                layers, hidden = SHAPES.get(args.model, (0, 0, 0, 0, 0))[:2]
                flops = 6 * parameters * summary["tokens"] + 12 * layers * hidden * args.max_length * summary["tokens"]
                results[mode]["mfu"] = round(flops / seconds / H100_BF16_DENSE, 4)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    first = next(iter(results.values()))
    what = f"recipe {args.recipe}" if args.recipe else f"{args.method}"
    sample = f"{args.examples or 'all'} examples of {args.config} from {args.data}"
    print(f"model {shown} ({first['parameters']:,} parameters, {what}), {sample}, {device}")
    header = (
        f"{'mode':16} {'tokens/s':>10} {'superv. tok/s':>14} {'padding':>8} {'steps':>6} {'seconds':>8} "
        f"{'CPU s/step':>10} {'peak MiB':>9}"
    )
    print(header + ("   MFU" if args.mfu else ""))
    for mode, r in results.items():
        mfu = f" {r['mfu']:6.1%}" if args.mfu else ""
        padding = "-" if r["padding_fraction"] is None else f"{r['padding_fraction']:.1%}"
        cpu = "-" if r["cpu_s_per_step"] is None else f"{r['cpu_s_per_step']:.1f}"
        print(
            f"{mode:16} {r['tokens_per_s']:>10,.0f} {r['supervised_tokens_per_s']:>14,.0f} {padding:>8} {r['steps']:>6} "
            f"{r['seconds']:>8.1f} {cpu:>10} {r['peak_mib']:>9,}{mfu}"
        )
    if {"packed", "padded"} <= results.keys() and not args.max_steps:
        ratio = results["packed"]["tokens_per_s"] / results["padded"]["tokens_per_s"]
        print(
            f"packed / padded useful tokens/s: {ratio:.2f}x (target >= 1.5x); "
            f"packed padding {results['packed']['padding_fraction']:.1%} (target <= 5%)"
        )
    if {"packed", "packed+all"} <= results.keys():
        head = results["packed"]["tokens_per_s"] / results["packed+all"]["tokens_per_s"]
        print(
            f"logits at supervised positions / at every position (both packed): {head:.2f}x tokens/s, "
            f"peak {results['packed']['peak_mib']:,} vs {results['packed+all']['peak_mib']:,} MiB"
        )
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
