"""The generate -> parse -> filter -> categorise loop, resumable, and its outputs.

Each round sends ``batch`` requests (languages alternate as in the seeds), each showing ``k`` examples drawn with a
seeded RNG (seeds plus, as in Self-Instruct, some already accepted generations). Every generation is parsed and
filtered; accepted tasks join the pool (and the similarity index) at once, so later candidates are compared with
them too. Progress is appended to ``DIR/state/accepted.jsonl`` / ``rejected.jsonl`` after every round; ``resume``
reloads them and continues until ``target`` tasks are accepted or the request budget is spent.

Outputs: ``DIR/instructions.json`` (Alpaca JSON array: id, instruction, input, output, category, language — read by
``biohub convert --format alpaca``), ``DIR/ledger.json`` (requests, parsed, every filter's count and up to 3
examples of what it removed, category counts and shares), ``DIR/README.md`` (a card-style summary with BioInstruct's
shares beside ours) and ``DIR/categories.png``.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from biohub.errors import OutputExistsError
from biohub.io import InputError, append_jsonl, atomic_path, read_jsonl_rows, write_json, write_text
from biohub.outputs import SELFINSTRUCT, claim
from biohub.selfinstruct.generators import BudgetExhausted, Generator
from biohub.selfinstruct.similarity import SimilarityIndex, tokens
from biohub.selfinstruct.tasks import (
    CATEGORIES,
    Task,
    _yaml,
    build_prompt,
    categorize,
    check,
    draw_examples,
    parse_generation,
    reference_shares,
)

REASONS = ("malformed", "length", "keyword", "output_equals_input", "similar")


@dataclass(frozen=True, slots=True)
class Options:
    """The settings of one self-instruct run: how many tasks to accept, the seed, in-context examples per request,
    requests per round, a request cap, whether the generator also names each task's category, and the dataset name."""

    target: int
    seed: int = 0
    k: int = 3
    batch: int = 8
    max_requests: int | None = None
    categorize_with_generator: bool = False
    name: str = "selfinstruct"  # dataset name of the catalog entry and build recipe written beside the data
    allow_empty: bool = False  # write the outputs even when no task was accepted (else an InputError)


def selfinstruct(
    seeds: list[Task],
    generator: Generator,
    out: Path,
    options: Options,
    *,
    resume: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Grow ``seeds`` into ``options.target`` accepted tasks; returns the ledger."""
    state = out / "state"
    claim(out, SELFINSTRUCT, reuse=True)  # a file, a link loop, another's non-empty folder: refused, left untouched
    if not resume and out.exists() and any(out.iterdir()):
        raise OutputExistsError(f"{out}: exists and is not empty; give a new folder or --resume")
    accepted_rows = read_jsonl_rows(state / "accepted.jsonl") if resume else []
    rejected_rows = read_jsonl_rows(state / "rejected.jsonl") if resume else []
    requests = len(accepted_rows) + len(rejected_rows)  # every request left one row, accepted or rejected
    threshold = float(_yaml("filters.yaml")["similarity_threshold"])
    indexes = {language: SimilarityIndex(threshold) for language in ("en", "zh")}
    for seed_task in seeds:
        indexes[seed_task.language].add(tokens(seed_task.instruction, seed_task.language))
    pool: list[Task] = []
    for row in accepted_rows:
        accepted_task = Task(**row["task"])
        pool.append(accepted_task)
        indexes[accepted_task.language].add(tokens(accepted_task.instruction, accepted_task.language))
    languages = sorted({s.language for s in seeds})
    initial = min(len(pool), options.target)
    bar = tqdm(total=options.target, initial=initial, desc="accepted", unit="task", disable=not show_progress)
    exhausted = False
    stopped = ""  # why the generator stopped answering, for the error of a run that accepted nothing
    while len(pool) < options.target and not exhausted:
        room = options.batch if options.max_requests is None else min(options.batch, options.max_requests - requests)
        if room <= 0:
            break
        rng = random.Random(f"{options.seed}:{requests}")  # per round, so a resumed run draws what a straight one does
        plan = [languages[(requests + i) % len(languages)] for i in range(room)]
        prompts = [build_prompt(draw_examples(rng, seeds, pool, options.k, language), language) for language in plan]
        try:
            texts = generator.complete(prompts)
        except BudgetExhausted as exc:
            stopped = f"; {exc}"
            break
        new_accepted, new_rejected = [], []
        for number, (language, text) in enumerate(zip(plan, texts)):
            request_id = requests + number
            task = parse_generation(text, language)
            if task is None:
                new_rejected.append({"request": request_id, "reason": "malformed", "text": text[:2000]})
                continue
            reason, details = check(task, indexes[language])
            if reason is not None:
                found = {"instruction": task.instruction, "input": task.input, "output": task.output}
                new_rejected.append({"request": request_id, "reason": reason, "details": details, "task": found})
                continue
            if len(pool) >= options.target:
                new_rejected.append({"request": request_id, "reason": "over_target", "task": {"instruction": task.instruction}})
                continue
            task.id = f"gen-{request_id:06d}"
            task.category = _ask_category(generator, task) if options.categorize_with_generator else categorize(task)
            indexes[language].add(tokens(task.instruction, language))
            new_accepted.append({"request": request_id, "task": asdict(task)})
            pool.append(task)
            bar.update(1)
        requests += len(plan)
        append_jsonl(state / "accepted.jsonl", new_accepted)
        append_jsonl(state / "rejected.jsonl", new_rejected)
        rejected_rows += new_rejected
        exhausted = options.max_requests is not None and requests >= options.max_requests
    bar.close()
    if not pool and not options.allow_empty:
        removed = Counter(str(row["reason"]) for row in rejected_rows)
        why = ", ".join(f"{reason} {n:,}" for reason, n in removed.most_common()) or "none"
        raise InputError(
            f"{out}: no task accepted ({requests:,} request(s) answered, removed: {why}{stopped}); is the generator "
            "reachable, with its key set? Nothing written but state/ (for --resume); pass --allow-empty to write an "
            "empty dataset anyway"
        )
    return write_outputs(out, seeds, pool, rejected_rows, requests, generator.name, options)


def _ask_category(generator: Generator, task: Task) -> str:
    prompt = _yaml("prompts.yaml")[task.language]["categorize"].format(instruction=task.instruction, input=task.input or "-")
    answer = generator.complete([prompt])[0].strip().lower()
    return next((c for c in CATEGORIES if answer.startswith(c)), categorize(task))


def write_outputs(
    out: Path,
    seeds: list[Task],
    pool: list[Task],
    rejected: list[dict[str, Any]],
    requests: int,
    generator: str,
    options: Options,
) -> dict[str, Any]:
    """Write ``instructions.json`` (Alpaca), ``ledger.json``, a catalog entry and build recipe, the category chart and
    ``README.md`` for the accepted ``pool``; returns the ledger (counts per filter and category, up to three examples of
    what each filter removed)."""
    reasons = Counter(row["reason"] for row in rejected)
    examples: dict[str, list[Any]] = {}
    for row in rejected:
        bucket = examples.setdefault(row["reason"], [])
        if len(bucket) < 3:
            bucket.append(row.get("task") or row.get("text"))
    categories = Counter(task.category for task in pool)
    shares = {c: categories[c] / len(pool) if pool else 0.0 for c in CATEGORIES}
    ledger = {
        "generator": generator,
        "seed": options.seed,
        "k": options.k,
        "target": options.target,
        "requests": requests,
        "accepted": len(pool),
        "rejected": {reason: reasons.get(reason, 0) for reason in (*REASONS, "over_target")},
        "rejected_examples": examples,
        "categories": {c: categories[c] for c in CATEGORIES},
        "category_shares": shares,
        "reference_shares": reference_shares(),
        "seeds": len(seeds),
        "languages": dict(Counter(task.language for task in pool)),
    }
    write_json(out / "instructions.json", [task.to_alpaca() for task in pool])
    write_json(out / "ledger.json", ledger)
    _plot(out / "categories.png", shares, reference_shares())
    write_text(out / "README.md", _card(ledger))
    _catalog_files(out, options.name, pool, generator, options.seed)  # last: what `biohub build` reads appears complete
    return ledger


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _catalog_files(out: Path, name: str, pool: list[Task], generator: str, seed: int) -> None:
    """``catalog/<name>.yaml`` (a catalog entry for instructions.json, with ``out`` as the mirror) and ``recipe.yaml``
    (a build recipe of that one dataset): ``biohub build OUT/recipe.yaml --mirror OUT --catalog OUT/catalog``."""
    languages = sorted({task.language for task in pool}) or ["en"]
    entry = {
        "name": name,
        "display_name": f"Generated biomedical instructions ({generator})",
        "languages": languages,
        "tasks": ["instruction"],
        "schema": "instruction",
        "license": {
            "name": "generated; check the generator's terms of use",
            "non_commercial": False,
            "url": "",
            "note": f"made by biohub selfinstruct with {generator}, seed {seed}; unverified model output",
        },
        "homepage": "",
        "citation": "",
        "metric": {"name": "none", "note": "no reference answers to score against (model-generated)"},
        "source": {
            "format": "alpaca",
            "options": {},
            "splits": {"train": [{"path": "instructions.json", "sha256": _sha256(out / "instructions.json")}]},
        },
        "expected": {"train": {"records": len(pool), "labeled": len(pool)}},
        "notes": "Written by `biohub selfinstruct`; ledger.json lists every filtered generation.",
    }
    recipe = {
        "name": f"{name}_build",
        "description": f"The generated instructions of {out.name} as a hub dataset.",
        "seed": seed,
        "datasets": {name: {"train": ["train"]}},
    }
    write_text(out / "catalog" / f"{name}.yaml", yaml.safe_dump(entry, allow_unicode=True, sort_keys=False))
    write_text(out / "recipe.yaml", yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False))


def _plot(path: Path, shares: dict[str, float], reference: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    positions = np.arange(len(CATEGORIES))
    figure, axis = plt.subplots(figsize=(5.5, 3.2))
    axis.bar(positions - 0.2, [100 * shares[c] for c in CATEGORIES], 0.4, label="generated")
    axis.bar(positions + 0.2, [100 * reference[c] for c in CATEGORIES], 0.4, label="BioInstruct")
    axis.set_xticks(positions, CATEGORIES)
    axis.set_ylabel("% of tasks")
    axis.legend()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)


def _card(ledger: dict[str, Any]) -> str:
    lines = [
        "# Generated biomedical instructions",
        "",
        (
            f"{ledger['accepted']:,} tasks accepted from {ledger['requests']:,} requests to `{ledger['generator']}` "
            f"({ledger['seeds']} seed tasks, {ledger['k']} examples per request, seed {ledger['seed']}). "
            "Read them with `biohub convert --format alpaca --input instructions.json --name NAME --out OUT`."
        ),
        "",
        "| category | generated | share | BioInstruct |",
        "| --- | ---: | ---: | ---: |",
    ]
    for c in CATEGORIES:
        share, reference = ledger["category_shares"][c], ledger["reference_shares"][c]
        lines.append(f"| {c} | {ledger['categories'][c]:,} | {100 * share:.1f}% | {100 * reference:.1f}% |")
    lines += ["", "| filter | removed |", "| --- | ---: |"]
    lines += [f"| {reason} | {count:,} |" for reason, count in ledger["rejected"].items()]
    lines += ["", "Examples of what each filter removed are in `ledger.json`.", ""]
    return "\n".join(lines)
