"""The LLM judge of generation rows (``biohub judge RUN_DIR --judge openai:MODEL@URL [--judge ...]``), as BioInstruct
scored its generations with GPT-4 and MedHELM with a jury of models.

What is judged: every example of the run's *generation rows* — the rows whose task families are scored as free text
(``eval.scorer: text`` in the family file: open QA, summaries, dialogue, instructions) — from the run's
``generations.jsonl``: the prompt's question (its last user turn, the system prompt left out), the reference answer
(the gold text) and the model's answer. Criteria, scale, prompts and their ``version`` are data
(``biohub/eval/data/judge.yaml``): coherence, completeness, correctness and naturalness, each a whole number from 1
to 5; every judge is asked once per example, greedily (temperature 0), through :class:`biohub.chat_client.ChatClient`.

- **pointwise** (default): the judge grades the answer on each criterion. A reply is read leniently — per criterion
  the first ``<criterion>: <n>`` (any case, ``*`` or ``**`` around the name, ``:`` or ``：``, ``n`` within the scale,
  ``/5`` after it allowed); a reply without every criterion is a parse failure, counted per judge and left out.
  Per example, each criterion's score is the mean over the judges that gave one; ``overall`` is the mean of the
  criteria. Per row: the mean of each criterion and of ``overall`` over its examples, n (examples with a score),
  a 95% percentile-bootstrap interval of ``overall`` (examples resampled, ``--resamples``, seeded per row) and, with
  two judges or more, their agreement: Krippendorff's alpha (ordinal, over the scale's values; the ``krippendorff``
  package) per criterion, over the examples (judges as coders; a missing grade is missing data).
- **pairwise** (``--against OTHER_RUN``, the same suite and examples): the judge sees the two answers as A and B in
  an order drawn per example and judge from the seed (a seeded hash, so half the examples show this run first),
  and says per criterion which is better (``A``, ``B`` or ``tie``). Per row and criterion: this run's win rate,
  (wins + ties / 2) / n, position-bias being averaged out by the random order; agreement as above (nominal, over
  win / tie / loss).

Every judgment is appended to ``judgments.jsonl`` in the run folder as it arrives, keyed by the SHA-256 of its request
(judge, prompt), so a rerun sends only what is missing. The figures join ``results.json`` (``judge`` per generation
row, ``judging`` for the run: version, mode, judges, criteria, seed) and the run's report shows them beside the row's
ROUGE headline (``biohub report`` does too, for every run that has them).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from biohub.chat_client import ChatClient, ChatClientError, parse_server_spec
from biohub.errors import BiohubError, MissingFileError
from biohub.eval.resample import percentile_interval, row_generator
from biohub.io import append_jsonl, read_jsonl_rows, write_json
from biohub.templates.library import families
from biohub.text import seeded_fraction
from biohub.typed import read_yaml

__all__ = [
    "JUDGE_KEY_VARIABLES", "Criterion", "JudgeError", "JudgeSpec", "generation_rows", "judge_run", "load_judge_spec",
    "make_judges", "pairwise_prompt", "parse_preferences", "parse_scores", "pointwise_prompt",
]  # fmt: skip

JUDGE_KEY_VARIABLES = ("BIOHUB_JUDGE_KEY", "BIOHUB_EVAL_KEY", "OPENAI_API_KEY")
JUDGE_MAX_TOKENS = 128  # one short line per criterion


class JudgeError(BiohubError, ValueError):
    """A judge spec, a run folder or a judging request biohub cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion: its name (as the reply writes it) and the question the judge answers."""

    name: str
    question: str


@dataclass(frozen=True, slots=True)
class JudgeSpec:
    """``judge.yaml``: version, scale, criteria, system prompt, pointwise and pairwise prompt templates."""

    version: int
    low: int
    high: int
    criteria: tuple[Criterion, ...]
    system: str
    pointwise: str
    pairwise: str


def load_judge_spec(path: Path | None = None) -> JudgeSpec:
    """The judge spec at ``path`` (default: the shipped ``biohub/eval/data/judge.yaml``), checked."""
    path = path or Path(str(resources.files("biohub.eval") / "data" / "judge.yaml"))
    raw = read_yaml(path, JudgeError, "judge spec")
    try:
        spec = JudgeSpec(
            int(raw["version"]), int(raw["scale"]["min"]), int(raw["scale"]["max"]),
            tuple(Criterion(str(c["name"]), str(c["question"])) for c in raw["criteria"]),
            str(raw["system"]), str(raw["pointwise"]), str(raw["pairwise"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise JudgeError(f"{path}: not a judge spec (version, scale.min/max, criteria[name, question], system, "
                         f"pointwise, pairwise): {exc!r}") from None
    names = [c.name for c in spec.criteria]
    if not names or len(set(names)) < len(names) or not all(re.fullmatch(r"[a-z_]+", n) for n in names):
        raise JudgeError(f"{path}: criteria must be distinct lower-case names, not {names}")
    if not 0 <= spec.low < spec.high <= 9:
        raise JudgeError(f"{path}: scale must be single digits with min < max, not {spec.low}..{spec.high}")
    for mode, text, fields in (("pointwise", spec.pointwise, ("question", "reference", "answer")),
                               ("pairwise", spec.pairwise, ("question", "reference", "first", "second"))):
        missing = [f for f in (*fields, "criteria", "reply_format") if "{" + f + "}" not in text]
        if missing:
            raise JudgeError(f"{path}: the {mode} prompt lacks {', '.join('{' + m + '}' for m in missing)}")
    return spec


# --------------------------------------------------------------------------------------------- prompts and replies
def _criteria_lines(spec: JudgeSpec) -> str:
    return "\n".join(f"- {c.name}: {c.question}" for c in spec.criteria)


def pointwise_prompt(spec: JudgeSpec, question: str, reference: str, answer: str) -> list[dict[str, str]]:
    """The conversation asking one judge to grade ``answer``."""
    reply = "\n".join(f"{c.name}: <{spec.low}-{spec.high}>" for c in spec.criteria)
    user = spec.pointwise.format(
        question=question, reference=reference, answer=answer, criteria=_criteria_lines(spec), reply_format=reply,
        min=spec.low, max=spec.high,
    )  # fmt: skip
    return [{"role": "system", "content": spec.system}, {"role": "user", "content": user}]


def pairwise_prompt(spec: JudgeSpec, question: str, reference: str, first: str, second: str) -> list[dict[str, str]]:
    """The conversation asking one judge which of two answers (shown as A = ``first``, B = ``second``) is better."""
    reply = "\n".join(f"{c.name}: <A|B|tie>" for c in spec.criteria)
    user = spec.pairwise.format(
        question=question, reference=reference, first=first, second=second, criteria=_criteria_lines(spec),
        reply_format=reply,
    )  # fmt: skip
    return [{"role": "system", "content": spec.system}, {"role": "user", "content": user}]


def _value_after(name: str, text: str, pattern: str) -> str | None:
    """The first value matching ``pattern`` after ``<name>:`` on a line of ``text`` (lenient, module doc)."""
    line = re.compile(rf"^[\s>*_#-]*\**{re.escape(name)}\**\s*[:：]\s*\**\s*({pattern})\b", re.IGNORECASE | re.MULTILINE)
    found = line.search(text)
    return None if found is None else found.group(1)


def parse_scores(spec: JudgeSpec, text: str) -> dict[str, int] | None:
    """``{criterion: grade}`` of a pointwise reply, or None when some criterion has no grade within the scale."""
    grades = {}
    for criterion in spec.criteria:
        value = _value_after(criterion.name, text, r"\d+")
        if value is None or not spec.low <= int(value) <= spec.high:
            return None
        grades[criterion.name] = int(value)
    return grades


def parse_preferences(spec: JudgeSpec, text: str) -> dict[str, str] | None:
    """``{criterion: "A" | "B" | "tie"}`` of a pairwise reply, or None when some criterion has none."""
    found = {}
    for criterion in spec.criteria:
        value = _value_after(criterion.name, text, r"A|B|tie")
        if value is None:
            return None
        found[criterion.name] = value.upper() if value.lower() != "tie" else "tie"
    return found


# --------------------------------------------------------------------------------------------- the run's examples
def generation_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a results.json whose task families are scored as free text (``eval.scorer: text``)."""
    known = families()
    return [
        entry for entry in document["entries"]
        if entry["tasks"] and all(t in known and known[t].eval.scorer == "text" for t in entry["tasks"])
    ]  # fmt: skip


def _question(prompt: list[dict[str, str]]) -> str:
    """The question a judge sees: the prompt's last user turn."""
    users = [m["content"] for m in prompt if m.get("role") == "user"]
    return users[-1] if users else ""


def _reference(gold: Any) -> str:
    """The gold answer as text (a text family's gold is its string, or ``{"value": text}``)."""
    if isinstance(gold, dict):
        gold = gold.get("value", gold)
    return gold if isinstance(gold, str) else json.dumps(gold, ensure_ascii=False)


def _row_examples(run: Path, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per generation row, its examples of ``generations.jsonl`` (by the row names written with each example; for
    a run written before they were, by dataset and task)."""
    path = run / "generations.jsonl"
    if not path.is_file():
        raise MissingFileError(f"{run}: no generations.jsonl (judge a folder written by `biohub eval` or `biohub score`)")
    examples = read_jsonl_rows(path)
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found[row["name"]] = [
            e for e in examples
            if (row["name"] in e["rows"] if "rows" in e else e["dataset"] == row["dataset"] and e["task"] in row["tasks"])
        ]  # fmt: skip
    return found


# --------------------------------------------------------------------------------------------- judging
def make_judges(specs: Sequence[str], *, concurrency: int = 4, max_requests: int | None = None) -> list[ChatClient]:
    """A client per ``openai:MODEL@URL`` judge spec (key from ``BIOHUB_JUDGE_KEY``, ``BIOHUB_EVAL_KEY`` or
    ``OPENAI_API_KEY``); the same judge twice is refused."""
    judges = []
    for spec in specs:
        kind, _, rest = spec.partition(":")
        if kind != "openai":
            raise JudgeError(f"--judge {spec!r}: expected openai:MODEL@http(s)://HOST/v1")
        try:
            model, base_url = parse_server_spec(rest, "--judge")
        except ChatClientError as exc:
            raise JudgeError(str(exc)) from None
        judges.append(ChatClient(model, base_url, JUDGE_KEY_VARIABLES, concurrency=concurrency, max_requests=max_requests))
    names = [judge.name for judge in judges]
    if not judges or len(set(names)) < len(names):
        raise JudgeError(f"give one --judge or more, each once (got {names})")
    return judges


def _key(judge: ChatClient, messages: list[dict[str, str]]) -> str:
    text = json.dumps({"judge": judge.name, "messages": messages}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ask(judge: ChatClient, requests: dict[str, list[dict[str, str]]], log: Path, extra: dict[str, dict[str, Any]]) -> None:
    """Send the requests not yet answered in ``log`` to ``judge``; append each reply (with ``extra[key]``) to ``log``."""
    done = {row["request_sha256"] for row in read_jsonl_rows(log)}
    todo = [key for key in requests if key not in done]
    options = {"max_tokens": JUDGE_MAX_TOKENS, "temperature": 0.0}
    for index, answer in judge.chat_many([requests[key] for key in todo], options):
        key = todo[index]
        reply = {"request_sha256": key, "judge": judge.name, "reply": answer.text, "served_model": answer.model}
        append_jsonl(log, [extra[key] | reply])


def _alpha(matrix: np.ndarray, level: Literal["nominal", "ordinal"], domain: list[Any]) -> float | None:
    """Krippendorff's alpha of a (judges, examples) matrix (NaN: missing); None with one judge or too little data."""
    import krippendorff

    if matrix.shape[0] < 2 or np.sum(np.sum(~np.isnan(matrix), axis=0) >= 2) < 2:
        return None
    try:
        value = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level, value_domain=domain))
    except ValueError:  # a single value observed: alpha is undefined
        return None
    return None if np.isnan(value) else value


def judge_run(
    run: Path,
    judges: Sequence[ChatClient],
    *,
    against: Path | None = None,
    spec: JudgeSpec | None = None,
    seed: int = 0,
    resamples: int = 1000,
    limit: int | None = None,
) -> dict[str, Any]:
    """Judge the generation rows of the run folder ``run`` (module doc), pointwise, or pairwise ``against`` another
    run of the same examples; ``limit``: the first N examples of each row (None: all). Writes ``judgments.jsonl``,
    adds the figures to ``results.json`` and rewrites the run's report; returns the updated results document."""
    from biohub.eval.report import write_report

    spec = spec or load_judge_spec()
    results_path = run / "results.json"
    if not results_path.is_file():
        raise MissingFileError(f"{run}: no results.json (run `biohub eval` or `biohub score` first)")
    document = json.loads(results_path.read_text(encoding="utf-8"))
    rows = generation_rows(document)
    if not rows:
        raise JudgeError(f"{run}: no generation row to judge (rows scored as free text: open QA, summaries, dialogue)")
    examples = {name: found[:limit] for name, found in _row_examples(run, rows).items()}
    others: dict[str, dict[str, Any]] = {}
    if against is not None:
        if not (against / "results.json").is_file():
            raise MissingFileError(f"{against}: no results.json (--against takes a folder of `biohub eval` or `biohub score`)")
        other_rows = generation_rows(json.loads((against / "results.json").read_text(encoding="utf-8")))
        other_examples = _row_examples(against, other_rows)
        others = {e["id"]: e for found in other_examples.values() for e in found}
        wanted = {e["id"] for found in examples.values() for e in found}
        if not wanted <= set(others):
            raise JudgeError(f"{run} and {against} were not scored on the same examples ({len(wanted - set(others))} of "
                             f"{len(wanted)} missing from {against}); pair runs of the same suite, data, --limit and seed")
    log = run / ("judgments.jsonl" if against is None else f"judgments.vs-{against.name}.jsonl")
    asked: dict[tuple[str, str], str] = {}  # (judge, example id) -> this judging's request hash
    for judge in judges:
        requests: dict[str, list[dict[str, str]]] = {}
        extra: dict[str, dict[str, Any]] = {}
        for found in examples.values():
            for example in found:
                question, reference, answer = _question(example["prompt"]), _reference(example["gold"]), example["output"] or ""
                if against is None:
                    messages, meta = pointwise_prompt(spec, question, reference, answer), {}
                else:
                    flipped = seeded_fraction(seed, judge.name, example["id"]) < 0.5
                    other = others[example["id"]]["output"] or ""
                    first, second = (other, answer) if flipped else (answer, other)
                    messages = pairwise_prompt(spec, question, reference, first, second)
                    meta = {"this_run": "B" if flipped else "A"}
                key = _key(judge, messages)
                requests[key], asked[judge.name, example["id"]] = messages, key
                extra[key] = {"id": example["id"], "version": spec.version, "mode": "pairwise" if against else "pointwise"} | meta
        _ask(judge, requests, log, extra)
    replies = read_jsonl_rows(log)
    for row in rows:
        row["judge" if against is None else "judge_pairwise"] = _row_figures(
            spec, [judge.name for judge in judges], examples[row["name"]], replies, asked, against is not None, seed,
            resamples, row["name"],
        )  # fmt: skip
    document["judging" if against is None else "judging_pairwise"] = {
        "version": spec.version, "mode": "pointwise" if against is None else "pairwise",
        "against": None if against is None else str(against), "judges": [judge.name for judge in judges],
        "criteria": [c.name for c in spec.criteria], "scale": [spec.low, spec.high], "seed": seed, "resamples": resamples,
        "limit": limit, "requests": sum(judge.requests_made for judge in judges),
    }  # fmt: skip
    by_name = {row["name"]: row for row in rows}
    document["entries"] = [by_name.get(entry["name"], entry) for entry in document["entries"]]
    write_json(results_path, document)
    write_report([run], run, title=f"{document.get('name', run.name)}: {document.get('suite', '')}")
    return dict(document)


def _row_figures(
    spec: JudgeSpec, judge_names: list[str], examples: list[dict[str, Any]], replies: list[dict[str, Any]],
    asked: dict[tuple[str, str], str], pairwise: bool, seed: int, resamples: int, name: str,
) -> dict[str, Any]:  # fmt: skip
    """One row's judge figures (module doc) from the replies to this judging's requests (``asked``: the request hash
    of each judge and example; a reply to other messages — another baseline, answers or prompts — is not used)."""
    ids = [e["id"] for e in examples]
    latest = {(r["judge"], r["id"]): r for r in replies if asked.get((r["judge"], r["id"])) == r["request_sha256"]}
    names = [c.name for c in spec.criteria]
    grid = np.full((len(judge_names), len(ids), len(names)), np.nan)  # judge x example x criterion
    failures = dict.fromkeys(judge_names, 0)
    for j, judge in enumerate(judge_names):
        for i, example in enumerate(ids):
            reply = latest.get((judge, example))
            if reply is None:
                continue
            if pairwise:
                found = parse_preferences(spec, reply["reply"])
                if found is not None:  # this run's outcome: 1 win, 0.5 tie, 0 loss
                    grid[j, i] = [1.0 if v == reply["this_run"] else 0.5 if v == "tie" else 0.0 for v in found.values()]
            else:
                grades = parse_scores(spec, reply["reply"])
                if grades is not None:
                    grid[j, i] = [grades[c] for c in names]
            if np.isnan(grid[j, i]).all():
                failures[judge] += 1
    with np.errstate(all="ignore"):
        per_example = np.nanmean(grid, axis=0)  # example x criterion, mean over the judges that answered
    scored = ~np.isnan(per_example).all(axis=1)
    values = per_example[scored]
    overall = values.mean(axis=1) if len(values) else np.array([])
    figures: dict[str, Any] = {
        "n": int(scored.sum()), "examples": len(ids), "parse_failures": failures,
        "scores": {c: (float(values[:, k].mean()) if len(values) else None) for k, c in enumerate(names)},
        "overall": float(overall.mean()) if len(overall) else None,
    }  # fmt: skip
    if resamples and len(overall) > 1:
        rng = row_generator(seed, f"judge|{name}")
        draws = overall[rng.integers(0, len(overall), size=(resamples, len(overall)))].mean(axis=1)
        figures["interval"] = list(percentile_interval(draws))
    else:
        figures["interval"] = None
    level: Literal["nominal", "ordinal"] = "nominal" if pairwise else "ordinal"
    domain: list[Any] = [0.0, 0.5, 1.0] if pairwise else list(range(spec.low, spec.high + 1))
    figures["agreement"] = {c: _alpha(grid[:, :, k], level, domain) for k, c in enumerate(names)}
    figures["agreement_measure"] = f"Krippendorff's alpha ({level})"
    return figures
