"""Evaluation against lm-evaluation-harness (``benchmarks/peers.py``): the same questions, model and protocol.

The eval rows of the chosen datasets are exported as lm-eval tasks (``biohub export --format lm-eval``: a
``generate_until`` task ``biohub_<dataset>`` and a ``multiple_choice`` task ``biohub_<dataset>_loglik``). lm-eval's
``--limit N`` takes the first N docs of a task; biohub scores exactly those examples (by id), so both tools answer
the same questions:

- **loglik**: biohub's option log-likelihood scorer (``biohub eval --protocol loglik``:
  :func:`biohub.eval.loglik.score_entries`) against lm-eval's HF backend on the ``_loglik`` task with
  ``apply_chat_template``. Accuracies must be equal, question by question.
- **generate**: biohub's batched greedy generation, then parsing and scoring (``biohub eval``) against lm-eval's HF
  backend on the ``generate_until`` task (whose metrics are biohub's own scorer, so the accuracy is defined the same).

Both with the model saved as one float32 folder, the same batch size, on CPU. Seconds count the scoring call only
(lm-eval's ``simple_evaluate`` with the model already loaded; biohub's scorer with the model already loaded): building
prompts, running the model, parsing and scoring are inside, loading the model is not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def export_tasks(hub: str, datasets: list[str], out: Path) -> dict[str, dict[str, str]]:
    """Export the datasets' eval rows as lm-eval tasks; per dataset its task names and split."""
    from biohub.hub.export import export

    summary = export(Path(hub), "lm-eval", out, [f"{name}_instructions" for name in datasets])
    found = {}
    for name in datasets:
        task = f"biohub_{name}"
        if f"{task}_loglik" not in summary["loglik"]["tasks"]:
            raise ValueError(f"{name}: no log-likelihood task was exported (not a closed-answer dataset)")
        found[name] = {
            "generate": task,
            "loglik": f"{task}_loglik",
            "split": summary["loglik"]["tasks"][f"{task}_loglik"]["split"],
        }
    return found


def first_ids(out: Path, task: str, limit: int) -> list[str]:
    """The ids of the first ``limit`` docs of an exported task (lm-eval's ``--limit`` takes the first docs)."""
    lines = (out / "data" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()[:limit]
    return [json.loads(line)["id"] for line in lines]


def _rows(hub: str, dataset: str, split: str, ids: list[str]) -> tuple[list[Any], dict[str, list[dict[str, Any]]]]:
    """The ``all`` suite's rows of ``dataset``'s ``split``, holding exactly the examples ``ids``."""
    from biohub.eval.run import select
    from biohub.eval.suite import load_suite, resolve

    entries = [e for e in resolve(load_suite("all"), hub) if e.config == f"{dataset}_instructions" and e.split == split]
    wanted = set(ids)
    rows = {name: [row for row in found if row["id"] in wanted] for name, found in select(hub, entries, None, 0).items()}
    entries = [entry for entry in entries if rows[entry.name]]
    if sum(len(rows[entry.name]) for entry in entries) != len(ids):
        raise ValueError(f"{dataset} {split}: {len(ids)} exported docs but the suite's rows hold a different count")
    return entries, {entry.name: rows[entry.name] for entry in entries}


def biohub_loglik_child(model_dir: str, hub: str, dataset: str, split: str, ids: list[str], batch_size: int) -> dict[str, Any]:
    """biohub's log-likelihood protocol over the examples ``ids``: seconds, accuracy and every question's hit."""
    from biohub.eval.loglik import score_entries
    from biohub.models import load_model

    entries, rows = _rows(hub, dataset, split, ids)
    model, tokenizer = load_model(model_dir, device="cpu")
    started = time.perf_counter()
    run = score_entries(model, tokenizer, entries, rows, batch_size=batch_size, show_progress=False)
    seconds = time.perf_counter() - started
    hits = {key: float(score.pred == score.gold) for key, score in run.scores.items()}
    return {"seconds": seconds, "n": len(hits), "accuracy": sum(hits.values()) / len(hits), "hits": hits}


def biohub_generate_child(model_dir: str, hub: str, dataset: str, split: str, ids: list[str], batch_size: int) -> dict[str, Any]:
    """biohub's generate protocol (batched greedy generation, parsing, scoring) over the examples ``ids``."""
    import tempfile

    from biohub.eval.generate import Request, generate, read_done
    from biohub.eval.run import max_new_tokens, score_outputs
    from biohub.models import load_model

    entries, rows = _rows(hub, dataset, split, ids)
    model, tokenizer = load_model(model_dir, device="cpu")
    budget = max_new_tokens()
    requests = [Request(row["id"], row["messages"][:-1], budget[row["task"]]) for found in rows.values() for row in found]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate(model, tokenizer, requests, Path(tmp) / "raw.jsonl", batch_size=batch_size, show_progress=False)
        outputs = {key: row["output"] for key, row in read_done(Path(tmp) / "raw.jsonl").items()}
        results, _, _ = score_outputs(entries, rows, outputs, hub, resamples=0)
        seconds = time.perf_counter() - started
    n = sum(result.n for result in results)
    accuracy = sum(result.value * result.n for result in results) / n
    return {"seconds": seconds, "n": n, "accuracy": accuracy}


def lm_eval_child(model_dir: str, tasks_dir: str, task: str, limit: int, batch_size: int, loglik: bool) -> dict[str, Any]:
    """lm-eval's HF backend on an exported task (``--limit``, ``--apply_chat_template``): seconds and accuracy (and,
    for the log-likelihood task, every question's hit by doc id)."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    model = HFLM(pretrained=model_dir, device="cpu", batch_size=batch_size, dtype="float32")
    manager = TaskManager(include_path=tasks_dir, include_defaults=False)
    started = time.perf_counter()
    results = lm_eval.simple_evaluate(
        model=model, tasks=[task], task_manager=manager, limit=limit, log_samples=loglik, bootstrap_iters=0,
        apply_chat_template=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    values = results["results"][task]
    found: dict[str, Any] = {"seconds": seconds, "n": limit, "accuracy": values["acc,none" if loglik else "headline,none"]}
    if loglik:
        found["hits"] = {sample["doc"]["id"]: float(sample["acc"]) for sample in results["samples"][task]}
        found["n"] = len(found["hits"])
    return found
