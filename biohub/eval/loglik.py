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

Speed: one forward pass over the context per question — questions batched (16 by default, sorted by context length,
left-padded, position ids counted from each context's first token), since a batched forward is about twice as fast
per token as one question at a time on the 2-core CPU — and each context's KV cache reused for its options. The
logits at the last context position give every option's first token; options of more than one token then run
together in one batch over their question's cache (their tokens but the last, right-padded, so padding comes after
every real token and changes no attended position). The values equal a full forward over ``context + option`` up
to float rounding (about 1e-5 here; the lm-eval equality test checks acc and acc_norm question by question).
Contexts are not truncated: a prompt longer than the model's window fails as the model does.

Over ``--backend openai`` the same contexts and options are tokenized here (``--tokenizer``, else the served model's
name) and sent as token ids to the server's ``/completions`` endpoint with ``echo`` and ``logprobs`` (one request per
question, its options as a list of prompts), as lm-eval's ``local-completions`` model does; an option's value is the
sum of the echoed log-probabilities at its positions. Servers that do not echo prompt log-probabilities (hosted chat
APIs) are refused with a message saying so. Over ``--backend vllm`` the same token ids go to vLLM's offline engine as
prompts with ``prompt_logprobs`` (:func:`biohub.eval.vllm_backend.prompt_logprobs_vllm`, given here as a
:data:`PromptScorer`), all of a run's in one call, and are summed the same way.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from biohub.chat_client import ChatClient
from biohub.errors import BiohubError
from biohub.eval.calibration import brier_score, expected_calibration_error, reliability_diagram
from biohub.eval.score import EntryResult
from biohub.eval.suite import Entry
from biohub.io import write_jsonl
from biohub.models import left_padded, pad_id
from biohub.templates.choice_docs import choice_families, loglik_doc

METRICS = ("acc", "acc_norm", "ece", "brier")

PromptScorer = Callable[[Sequence[Sequence[int]]], list[list[float | None]]]
"""Token-id prompts -> each prompt's per-position log-probabilities of its own tokens (None where there is none: the
first position); an engine's prompt log-probabilities (``--backend vllm``)."""


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
        from scipy.special import softmax

        return [float(p) for p in softmax(np.array(self.logliks, dtype=float))]

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


def batch_logliks(
    model: Any, contexts: Sequence[Sequence[int]], options: Sequence[Sequence[Sequence[int]]], pad: int
) -> list[list[float]]:
    """Each option's summed log-probability given its question's context, for a batch of questions (module doc): one
    left-padded forward pass over the contexts (position ids counted from each context's first token, so padding
    changes nothing but rounding); the cache of each question with options of several tokens is reused for them."""
    import torch

    device = next(model.parameters()).device
    ids, mask = left_padded(contexts, pad, device)
    with torch.inference_mode():
        first = model(
            input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0), use_cache=True, logits_to_keep=1
        )
        head = torch.log_softmax(first.logits[:, -1].float(), dim=-1)
        values = [[float(head[q, ids_[0]]) for ids_ in question] for q, question in enumerate(options)]
        for q, question in enumerate(options):
            longer = [i for i, ids_ in enumerate(question) if len(ids_) > 1]
            if longer:
                later = _later_tokens(model, first.cache, q, mask[q], len(contexts[q]), [question[i] for i in longer], pad)
                for i, value in zip(longer, later):
                    values[q][i] += value
    return values


def _later_tokens(
    model: Any, cache: Any, row: int, row_mask: Any, length: int, options: Sequence[Sequence[int]], pad: int
) -> list[float]:
    """The summed log-probabilities of the options' tokens after their first, over question ``row``'s cached context
    (``length`` tokens, ``row_mask`` its padded attention mask): the options run together, right-padded."""
    import torch
    from transformers import DynamicCache

    device = row_mask.device
    rows = torch.tensor([row] * len(options), device=device)
    selected = DynamicCache()
    for index, layer in enumerate(cache.layers):
        selected.update(layer.keys[rows], layer.values[rows], index)
    width = max(len(ids) for ids in options) - 1
    inputs = torch.tensor([list(ids[:-1]) + [pad] * (width + 1 - len(ids)) for ids in options], device=device)
    own = torch.tensor([[1] * (len(ids) - 1) + [0] * (width + 1 - len(ids)) for ids in options], device=device)
    mask = torch.cat([row_mask.expand(len(options), -1), own], dim=1)
    positions = (length + torch.arange(width, device=device)).expand(len(options), -1)
    logits = model(input_ids=inputs, attention_mask=mask, position_ids=positions, cache=selected).logits
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    found = []
    for r, ids in enumerate(options):
        steps = torch.arange(len(ids) - 1, device=device)
        found.append(float(logprobs[r, steps, torch.tensor(list(ids[1:]), device=device)].sum()))
    return found


def option_logliks(model: Any, context: Sequence[int], options: Sequence[Sequence[int]], pad: int) -> list[float]:
    """Each option's summed log-probability given ``context`` (one question: :func:`batch_logliks` of one)."""
    return batch_logliks(model, [context], [options], pad)[0]


def score_questions(
    model: Any, tokenizer: Any, questions: Sequence[ChoiceQuestion], batch_size: int, *, show_progress: bool = False
) -> list[OptionScores]:
    """The questions' option log-likelihoods, in batches of ``batch_size`` questions of similar context lengths (all
    the questions sorted by context length, longest first, as generation sorts its prompts)."""
    encoded = [encode_question(tokenizer, question) for question in questions]
    order = sorted(range(len(questions)), key=lambda i: (-len(encoded[i][0]), questions[i].id))
    found: dict[int, OptionScores] = {}
    for start in _progress(range(0, len(order), batch_size), len(order), batch_size, show_progress):
        batch = order[start : start + batch_size]
        logliks = batch_logliks(model, [encoded[i][0] for i in batch], [encoded[i][1] for i in batch], pad_id(tokenizer))
        for i, values in zip(batch, logliks):
            found[i] = OptionScores(questions[i].id, tuple(values), questions[i].choices, questions[i].gold)
    return [found[i] for i in range(len(questions))]


def remote_logliks(
    context: Sequence[int], options: Sequence[Sequence[int]], logprobs: Sequence[Sequence[float | None]]
) -> list[float]:
    """Each option's summed log-probability from the prompt log-probabilities of ``context + option`` (a server's
    echoed ones, :meth:`biohub.chat_client.ChatClient.prompt_logprobs`, or an engine's): the values at the option's
    positions."""
    values = []
    for ids, found in zip(options, logprobs):
        picked = found[len(context) : len(context) + len(ids)]
        if len(picked) != len(ids) or any(value is None for value in picked):
            raise LoglikError(f"the backend returned {len(found)} prompt log-probabilities for {len(context) + len(ids)} tokens")
        values.append(float(sum(value for value in picked if value is not None)))
    return values


def score_questions_remote(
    client: ChatClient, tokenizer: Any, questions: Sequence[ChoiceQuestion], *, show_progress: bool = False
) -> list[OptionScores]:
    """The questions' option log-likelihoods from an OpenAI-compatible server (``--backend openai``): per question
    one ``/completions`` request holding ``context + option`` token ids (tokenized here, as lm-eval's
    ``local-completions`` does) for every option, ``client.concurrency`` questions in flight."""
    encoded = [encode_question(tokenizer, question) for question in questions]
    calls = [functools.partial(client.prompt_logprobs, [list(c) + list(o) for o in opts]) for c, opts in encoded]
    found: dict[int, OptionScores] = {}
    with _bar(len(questions), show_progress) as bar:
        for index, logprobs in client.run_many(calls):
            context, options = encoded[index]
            values = remote_logliks(context, options, logprobs)
            question = questions[index]
            found[index] = OptionScores(question.id, tuple(values), question.choices, question.gold)
            bar.update(1)
    return [found[i] for i in range(len(questions))]


def score_questions_prompts(
    scorer: PromptScorer, tokenizer: Any, questions: Sequence[ChoiceQuestion]
) -> list[OptionScores]:
    """The questions' option log-likelihoods from an engine's prompt log-probabilities: every ``context + option``
    token sequence of every question (tokenized here) in one ``scorer`` call, summed at the option's positions."""
    encoded = [encode_question(tokenizer, question) for question in questions]
    logprobs = scorer([list(context) + list(option) for context, options in encoded for option in options])
    found, at = [], 0
    for question, (context, options) in zip(questions, encoded):
        values = remote_logliks(context, options, logprobs[at : at + len(options)])
        at += len(options)
        found.append(OptionScores(question.id, tuple(values), question.choices, question.gold))
    return found


def _bar(total: int, show: bool) -> Any:
    """A progress bar counting questions."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="loglik", unit="q", disable=not show)


def score_question(model: Any, tokenizer: Any, question: ChoiceQuestion) -> OptionScores:
    """One question's option log-likelihoods."""
    return score_questions(model, tokenizer, [question], 1)[0]


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
    model: Any,
    tokenizer: Any,
    entries: Sequence[Entry],
    rows: dict[str, list[dict[str, Any]]],
    *,
    batch_size: int = 16,
    show_progress: bool = True,
    client: ChatClient | None = None,
    scorer: PromptScorer | None = None,
) -> LoglikRun:
    """Score every closed-answer example of the rows once (an example shared by two rows is scored once), in batches
    of ``batch_size`` questions; with ``client`` (``model`` unused), by the server's prompt log-probabilities; with
    ``scorer`` (``model`` unused), by an engine's."""
    run = LoglikRun()
    if client is None and scorer is None:
        model.eval()
    started = time.perf_counter()
    questions: dict[str, ChoiceQuestion] = {}
    where: dict[str, tuple[str, str]] = {}
    skipped: dict[str, Counter[str]] = {entry.name: Counter() for entry in entries}
    for entry in entries:
        for row in rows[entry.name]:
            question, reason = choice_question(row, tokenizer)
            if question is None:
                skipped[entry.name][reason] += 1
            elif row["id"] not in questions:
                questions[row["id"]], where[row["id"]] = question, (entry.dataset, row["task"])
    if client is not None:
        scored = score_questions_remote(client, tokenizer, list(questions.values()), show_progress=show_progress)
    elif scorer is not None:
        scored = score_questions_prompts(scorer, tokenizer, list(questions.values()))
    else:
        scored = score_questions(model, tokenizer, list(questions.values()), batch_size, show_progress=show_progress)
    for scores in scored:
        run.scores[scores.id] = scores
        run.lines.append(scores.line(*where[scores.id]))
    for entry in entries:
        scored = [run.scores[row["id"]] for row in rows[entry.name] if row["id"] in run.scores]
        counts = dict(sorted(skipped[entry.name].items()))
        if scored:
            run.rows[entry.name] = loglik_values(scored) | {"n": len(scored), "skipped_examples": counts}
        else:
            run.skipped_rows[entry.name] = counts
    run.seconds = time.perf_counter() - started
    return run


def _progress(starts: range, total: int, batch_size: int, show: bool) -> Iterator[int]:
    """The batch starts, with a progress bar counting questions."""
    with _bar(total, show) as bar:
        for start in starts:
            yield start
            bar.update(min(batch_size, total - start))


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
                values, entry.reference, protocol="loglik", loglik=dict(found),
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
