"""The log-likelihood protocol for closed-answer rows (``biohub eval --protocol loglik|both``): every option of a
question is scored by the summed log-probability of its continuation given the prompt, exactly as lm-eval's
``multiple_choice`` task over the exported doc (``biohub export --format lm-eval``, ``--apply_chat_template``) scores
it; nothing is generated or parsed.

Closed-answer rows are the rows of the choice families (:func:`biohub.templates.choice_docs.choice_families`:
``qa_multiple_choice`` with one gold option, ``qa_yesno``, ``re_binary``, ``classification``,
``pair_classification``, ``entailment``); each example becomes the same choice doc as the export's
(:func:`biohub.templates.choice_docs.loglik_doc`), and examples without one (a JSON answer format, several gold
options, a conversation history) are counted per reason, not scored.

What is scored, as lm-eval 0.4 does it:

- context: the chat template over the system prompt (when the row has one) and the user message, with the assistant
  turn opened by the answer keyword (``Answer:`` / ``答案：``; ``continue_final_message``); without a keyword, the
  generation prompt. Continuation of option i: the target delimiter (when the keyword does not end in whitespace)
  plus ``choices[i]``. Trailing whitespace of the context moves to the front of the continuations.
- tokens: the context is encoded once; option i's tokens are those of ``encode(context + continuation_i)`` after the
  context's length (lm-eval's ``_encode_pair``); special tokens are added only when the text does not already
  start with the BOS (or EOS) token.
- ``acc``: the option with the highest summed log-likelihood is the gold one (``numpy.argmax``: the first of equal
  ones); ``acc_norm``: the same after dividing each option's log-likelihood by the length of ``choices[i]`` in
  characters (lm-eval's ``completion_len``; the delimiter is not counted).
- option probabilities: the softmax of the options' log-likelihoods (lm-eval's ``prob_norm``), from which the row's
  calibration figures come (:mod:`biohub.eval.calibration`).

Speed: one forward pass over the context per question, its KV cache reused for the options. The logits at the last
context position give every option's first token; options of more than one token are then run together in one batch
over the cache (their tokens but the last, right-padded, so padding comes after every real token and changes no
attended position). The values equal a full forward over ``context + option`` up to float rounding (the lm-eval
equality test checks it question by question). Contexts are not truncated: a prompt longer than the model's window
fails as the model does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from biohub.errors import BiohubError
from biohub.eval.calibration import brier_score, expected_calibration_error, reliability_diagram
from biohub.eval.score import EntryResult
from biohub.eval.suite import Entry
from biohub.io import write_jsonl
from biohub.models import pad_id
from biohub.templates.choice_docs import choice_families, loglik_doc

METRICS = ("acc", "acc_norm", "ece", "brier")


class LoglikError(BiohubError, ValueError):
    """An option cannot be scored (its continuation adds no token to the context)."""


@dataclass(frozen=True, slots=True)
class ChoiceQuestion:
    """One closed-answer example as text: the context every option continues, each option's continuation, the options
    as the answer writes them (their lengths normalise ``acc_norm``) and the gold option's index."""

    id: str
    context: str
    continuations: tuple[str, ...]
    choices: tuple[str, ...]
    gold: int


@dataclass(frozen=True, slots=True)
class OptionScores:
    """A question's option log-likelihoods and what follows from them (lm-eval's ``acc`` and ``acc_norm``)."""

    id: str
    logliks: tuple[float, ...]
    choices: tuple[str, ...]
    gold: int

    @property
    def pred(self) -> int:
        """The option of highest log-likelihood (the first of equal ones)."""
        return int(np.argmax(self.logliks))

    @property
    def pred_norm(self) -> int:
        """The option of highest log-likelihood per character of ``choices[i]``."""
        return int(np.argmax(np.array(self.logliks) / np.array([float(len(c)) for c in self.choices])))

    @property
    def probabilities(self) -> list[float]:
        """The softmax of the options' log-likelihoods."""
        values = np.array(self.logliks, dtype=float)
        exp = np.exp(values - values.max())
        return [float(p) for p in exp / exp.sum()]

    def line(self, dataset: str, task: str) -> dict[str, Any]:
        """The question's line of ``loglik.jsonl``."""
        return {
            "id": self.id, "dataset": dataset, "task": task, "choices": list(self.choices), "gold_index": self.gold,
            "logliks": list(self.logliks), "probabilities": self.probabilities, "pred": self.pred,
            "pred_norm": self.pred_norm, "acc": float(self.pred == self.gold), "acc_norm": float(self.pred_norm == self.gold),
        }  # fmt: skip


def choice_question(row: dict[str, Any], tokenizer: Any) -> tuple[ChoiceQuestion | None, str]:
    """(question, "") for an example row of a choice family, else (None, the reason it has no choice doc)."""
    doc, delimiter, reason = loglik_doc(row, f"example {row['id']}")
    if doc is None:
        return None, reason
    keyword = doc["keyword"]
    messages = [{"role": "system", "content": doc["system"]}] if doc["system"] else []
    messages.append({"role": "user", "content": doc["prompt"]})
    if keyword:
        messages.append({"role": "assistant", "content": keyword})
    context = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=not keyword, continue_final_message=bool(keyword)
    )
    gap = delimiter if keyword and not keyword[-1].isspace() else ""
    continuations = [gap + choice for choice in doc["choices"]]
    stripped = context.rstrip()
    if len(stripped) < len(context):  # lm-eval moves the context's trailing whitespace into the continuations
        continuations = [context[len(stripped) :] + text for text in continuations]
        context = stripped
    return ChoiceQuestion(row["id"], context, tuple(continuations), tuple(doc["choices"]), doc["gold_index"]), ""


def _encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids as lm-eval's HF backend encodes them: special tokens only when the text lacks the leading BOS."""
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    special = prefix is None or not text.startswith(tokenizer.decode(prefix))
    return list(tokenizer.encode(text, add_special_tokens=special))


def encode_question(tokenizer: Any, question: ChoiceQuestion) -> tuple[list[int], list[list[int]]]:
    """(context ids, each option's continuation ids): the ids of ``context + continuation`` after the context's."""
    context = _encode(tokenizer, question.context)
    options = [_encode(tokenizer, question.context + text)[len(context) :] for text in question.continuations]
    for text, ids in zip(question.continuations, options):
        if not ids:
            raise LoglikError(f"example {question.id}: option {text!r} adds no token to the context")
    return context, options


def option_logliks(model: Any, context: Sequence[int], options: Sequence[Sequence[int]], pad: int) -> list[float]:
    """Each option's summed log-probability given ``context`` (module doc: one pass over the context, its cache
    reused for the options' later tokens in one right-padded batch)."""
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        first = model(input_ids=torch.tensor([list(context)], device=device), use_cache=True, logits_to_keep=1)
        head = torch.log_softmax(first.logits[0, -1].float(), dim=-1)
        values = [float(head[ids[0]]) for ids in options]
        longer = [i for i, ids in enumerate(options) if len(ids) > 1]
        if not longer:
            return values
        cache = first.cache
        cache.batch_repeat_interleave(len(longer))
        width = max(len(options[i]) - 1 for i in longer)
        inputs = [list(options[i][:-1]) + [pad] * (width - len(options[i]) + 1) for i in longer]
        mask = [[1] * len(context) + [1] * (len(options[i]) - 1) + [0] * (width - len(options[i]) + 1) for i in longer]
        logits = model(
            input_ids=torch.tensor(inputs, device=device), attention_mask=torch.tensor(mask, device=device), cache=cache
        ).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        for row, i in enumerate(longer):
            later = options[i][1:]
            values[i] += float(logprobs[row, torch.arange(len(later)), torch.tensor(later, device=device)].sum())
    return values


def score_question(model: Any, tokenizer: Any, question: ChoiceQuestion) -> OptionScores:
    """The question's option log-likelihoods."""
    context, options = encode_question(tokenizer, question)
    logliks = option_logliks(model, context, options, pad_id(tokenizer))
    return OptionScores(question.id, tuple(logliks), question.choices, question.gold)


def loglik_values(scores: Sequence[OptionScores]) -> dict[str, float]:
    """``acc``, ``acc_norm`` (means over the questions), ``ece`` and ``brier`` of a row's questions."""
    probabilities, gold = [s.probabilities for s in scores], [s.gold for s in scores]
    return {
        "acc": sum(s.pred == s.gold for s in scores) / len(scores),
        "acc_norm": sum(s.pred_norm == s.gold for s in scores) / len(scores),
        "ece": expected_calibration_error(probabilities, gold),
        "brier": brier_score(probabilities, gold),
    }


@dataclass
class LoglikRun:
    """The log-likelihood protocol over a suite's rows: per row its values (``acc``, ``acc_norm``, ``ece``,
    ``brier``, ``n``: the questions scored, ``skipped_examples``: the others per reason), or its skip reasons when
    no example of it is a closed-answer question; the scores of every question; the seconds spent scoring."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    scores: dict[str, OptionScores] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def score_entries(
    model: Any, tokenizer: Any, entries: Sequence[Entry], rows: dict[str, list[dict[str, Any]]], *, show_progress: bool = True
) -> LoglikRun:
    """Score every closed-answer example of the rows once (an example shared by two rows is scored once)."""
    from tqdm.auto import tqdm

    run = LoglikRun()
    model.eval()
    started = time.perf_counter()
    total = sum(len(rows[entry.name]) for entry in entries)
    with tqdm(total=total, desc="loglik", unit="ex", disable=not show_progress) as bar:
        for entry in entries:
            scored, skipped = [], Counter[str]()
            for row in rows[entry.name]:
                bar.update(1)
                if row["id"] not in run.scores:
                    question, reason = choice_question(row, tokenizer)
                    if question is None:
                        skipped[reason] += 1
                        continue
                    run.scores[row["id"]] = score_question(model, tokenizer, question)
                    run.lines.append(run.scores[row["id"]].line(entry.dataset, row["task"]))
                scored.append(run.scores[row["id"]])
            if scored:
                counts = {"n": len(scored), "skipped_examples": dict(sorted(skipped.items()))}
                run.rows[entry.name] = loglik_values(scored) | counts
            else:
                run.skipped_rows[entry.name] = dict(sorted(skipped.items()))
    run.seconds = time.perf_counter() - started
    return run


def loglik_results(entries: Sequence[Entry], run: LoglikRun) -> list[EntryResult]:
    """The rows of ``--protocol loglik``: each row with a closed-answer question, headline ``acc`` (whatever the
    suite's headline), its questions as ``n``, nothing missing or unparsed; rows without one are left out (counted in
    :func:`loglik_summary`)."""
    results = []
    for entry in entries:
        found = run.rows.get(entry.name)
        if found is None:
            continue
        values = {name: found[name] for name in METRICS}
        results.append(
            EntryResult(
                entry.name, entry.dataset, entry.split, entry.group, list(entry.tasks), "acc", found["acc"], found["n"], 0, 0,
                values, entry.reference, "loglik", dict(found),
            )
        )  # fmt: skip
    return results


def with_loglik(results: Sequence[EntryResult], run: LoglikRun) -> list[EntryResult]:
    """The rows of ``--protocol both``: the generate rows as they are (their suite headline), each closed-answer row
    with its log-likelihood figures and ``gap`` = generate headline - loglik ``acc``."""
    merged = []
    for result in results:
        found = run.rows.get(result.name)
        loglik = None if found is None else found | {"gap": result.value - found["acc"]}
        merged.append(replace(result, protocol="both", loglik=loglik))
    return merged


def loglik_summary(run: LoglikRun) -> dict[str, Any]:
    """``results.json``'s ``loglik``: the choice families, the questions scored, the rows skipped (no closed-answer
    question; per row, its examples per reason) and their count, the scoring seconds and questions per second."""
    return {
        "families": list(choice_families()),
        "questions": len(run.scores),
        "rows_scored": len(run.rows),
        "rows_skipped": len(run.skipped_rows),
        "skipped": run.skipped_rows,
        "seconds": run.seconds,
        "questions_per_s": len(run.scores) / run.seconds if run.seconds else None,
    }


def write_loglik(out: Path, run: LoglikRun, title: str) -> None:
    """``loglik.jsonl`` (one line per question: options, log-likelihoods, probabilities, predictions) and
    ``reliability.png`` (every closed-answer question of the run pooled) into ``out``."""
    write_jsonl(out / "loglik.jsonl", run.lines)
    scores = list(run.scores.values())
    reliability_diagram([s.probabilities for s in scores], [s.gold for s in scores], out / "reliability.png", title)
