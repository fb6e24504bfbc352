"""Task metrics during training (a training recipe's ``eval: {every, per_dataset, protocol, ...}``): the scorer that
``biohub train`` hands to :func:`biohub.training.run.train` (training does not import eval; the command line joins
them).

The sample is drawn once, when the evaluator is made: ``per_dataset`` examples per row of the suite over the hub's
eval splits, with ``biohub eval --limit``'s seeded, stratified draw (:func:`biohub.eval.run.select`, the recipe's
seed), so every evaluation of a run — and of a resumed run — scores the same examples. Each call scores the model as
it is at that step:

- ``loglik``: the closed-answer rows by option log-likelihood (:mod:`biohub.eval.loglik`); per row ``acc`` and
  ``acc_norm``; nothing generated, the other rows skipped;
- ``generate``: every row, greedy answers of at most ``max_new_tokens`` tokens (each family's budget, capped), parsed
  and scored by the suite's scorers; per row its headline and its parse-failure rate.

The values come back as ``{"eval/<row>/<metric>": value}``; training logs them to ``metrics.jsonl`` and plots them
under the loss. Greedy decoding and log-likelihoods draw no random numbers, so an evaluation leaves the training's
random state as it was, and a resumed run logs the same values as a straight one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biohub.eval.generate import Request, answer_batch
from biohub.eval.loglik import score_entries
from biohub.eval.run import max_new_tokens, score_outputs, select
from biohub.eval.score import EvalError
from biohub.eval.suite import Entry, Suite, resolve
from biohub.models import prompt_ids

__all__ = ["TrainingEval"]


@dataclass
class TrainingEval:
    """A seeded, fixed sample of a suite's eval examples over ``data``, scored on demand (module doc)."""

    data: str
    suite: Suite
    per_dataset: int
    protocol: str = "loglik"
    seed: int = 0
    max_new_tokens: int = 64
    batch_size: int = 8
    entries: list[Entry] = field(init=False)
    rows: dict[str, list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        if self.protocol not in ("loglik", "generate"):
            raise EvalError(f"eval.protocol {self.protocol!r}: expected loglik or generate")
        self.entries = list(resolve(self.suite, self.data))
        self.rows = select(self.data, self.entries, self.per_dataset, self.seed)
        if self.protocol == "generate":  # a headline these examples cannot give fails now, not at the first evaluation
            score_outputs(self.entries, self.rows, {}, self.data, resamples=0)

    def __call__(self, model: Any, tokenizer: Any) -> dict[str, float]:
        """``{"eval/<row>/<metric>": value}`` of the model as it is now."""
        if self.protocol == "loglik":
            run = score_entries(model, tokenizer, self.entries, self.rows, batch_size=self.batch_size, show_progress=False)
            pairs = [(name, metric) for name in run.rows for metric in ("acc", "acc_norm")]
            return {f"eval/{name}/{metric}": float(run.rows[name][metric]) for name, metric in pairs}
        budgets = max_new_tokens()
        requests = {
            row["id"]: Request(row["id"], [dict(m) for m in row["messages"][:-1]], min(budgets[row["task"]], self.max_new_tokens))
            for entry in self.entries
            for row in self.rows[entry.name]
        }  # fmt: skip
        ordered = sorted(requests.values(), key=lambda r: r.id)
        outputs: dict[str, str] = {}
        for start in range(0, len(ordered), self.batch_size):
            batch = ordered[start : start + self.batch_size]
            prompts = [prompt_ids(tokenizer, request.messages) for request in batch]
            for request, (text, _) in zip(batch, answer_batch(model, tokenizer, prompts, batch)):
                outputs[request.id] = text
        results, _, _ = score_outputs(self.entries, self.rows, outputs, self.data, resamples=0)
        values: dict[str, float] = {}
        for result in results:
            values[f"eval/{result.name}/{result.headline}"] = float(result.value)
            values[f"eval/{result.name}/parse_failure_rate"] = result.parse_failures / result.n if result.n else 0.0
        return values
