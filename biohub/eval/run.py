"""``biohub eval`` and ``biohub score``: select a suite's examples, generate (or take given outputs), score, write.

Outputs under ``out``: ``generations.jsonl`` (per example: id, dataset, task, prompt, output, parsed, gold, parse_ok,
strict_ok, error, rows: the suite rows it is scored in), ``results.json`` (per row: metric values, headline and its
bootstrap interval, n, parse failures, missing outputs, the headline and parse failures under strict parsing, the
parsed-only headline of accuracy rows; the averages over rows with their intervals; run metadata: model, adapter,
their weights' sha256, suite, data, limit, seed, resamples, versions, git hash), ``samples.jsonl`` (per row what the
bootstrap resamples), ``report.md``, ``report.html`` and ``report.png`` (the one-run report); under ``--protocol
loglik|both`` also ``loglik.jsonl`` and ``reliability.png`` (:mod:`biohub.eval.loglik`). The raw outputs are kept in
``raw_outputs.jsonl`` (appended as generated). A restart with the same settings, recorded in
``generation_settings.json``, reuses them only when the model and adapter weights have the same content (sha256 of
their files, :func:`biohub.models.weights_digest`): outputs of other weights at the same paths are set aside as
``raw_outputs.<key>.jsonl`` and generated again; other settings are refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from biohub.chat_client import ChatClient, ChatClientError
from biohub.errors import MissingFileError
from biohub.eval.generate import Request, generate, generate_remote, read_done
from biohub.eval.loglik import (
    LoglikRun,
    choice_question,
    encode_question,
    loglik_results,
    loglik_summary,
    score_entries,
    with_loglik,
    write_loglik,
)
from biohub.eval.report import write_report
from biohub.eval.resample import RESAMPLES as RESAMPLES  # biohub eval's default number of resamples, also biohub report's
from biohub.eval.resample import RowSample, averages, percentile_interval, replicates, row_generator, row_sample, sample_line
from biohub.eval.sampling import sample_indices
from biohub.eval.score import EntryResult, Judged, TokensLookup, compute, compute_strict, judge, parsed_only
from biohub.eval.score import EvalError as EvalError
from biohub.eval.suite import Entry, Suite, resolve
from biohub.eval.vllm_backend import (
    VllmOptions,
    generate_vllm,
    lora_rank_limit,
    prompt_logprobs_vllm,
    require_vllm,
    visible_gpus,
)
from biohub.io import InputError, pretrained_source, read_hub_split, write_json, write_jsonl
from biohub.outputs import EVAL, claim, require_hub
from biohub.templates.library import families

PROTOCOLS = ("generate", "loglik", "both")
BACKENDS = ("hf", "openai", "vllm")  # transformers in-process; an OpenAI-compatible server; vLLM's offline engine
EVAL_KEY_VARIABLES = ("BIOHUB_EVAL_KEY", "OPENAI_API_KEY")  # where --backend openai reads its key


@dataclass(frozen=True, slots=True)
class Server:
    """Where ``--backend openai`` sends its requests and how (:class:`biohub.chat_client.ChatClient`): the server's
    base URL, requests in flight, retries per request, the budget (requests, tokens; None: no limit) and the tokenizer
    of the log-likelihood protocol (a folder or Hub id; the served model's name when None)."""

    base_url: str
    concurrency: int = 4
    retries: int = 5
    max_requests: int | None = None
    max_tokens_total: int | None = None
    tokenizer: str | None = None  # the log-likelihood protocol's tokenizer (None: the served model's name)

    def client(self, model: str) -> ChatClient:
        """The client of ``model`` on this server (key from ``BIOHUB_EVAL_KEY`` or ``OPENAI_API_KEY``)."""
        return ChatClient(
            model, self.base_url, EVAL_KEY_VARIABLES, concurrency=self.concurrency, retries=self.retries,
            max_requests=self.max_requests, max_tokens_total=self.max_tokens_total,
        )  # fmt: skip


def check_backend(backend: str, server: Server | None, adapter: str | None) -> None:
    """Refuse a backend biohub does not have or cannot start here (``vllm`` without vLLM), or ``openai`` without a
    server or with an adapter."""
    if backend not in BACKENDS:
        raise EvalError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend != "openai" and server is not None:
        raise EvalError(f"--base-url is for --backend openai, not {backend}")
    if backend == "vllm":
        require_vllm()
    if backend != "openai":
        return
    if server is None or not server.base_url.startswith(("http://", "https://")):
        raise EvalError("--backend openai needs --base-url http(s)://HOST/v1 (the server's OpenAI-compatible API)")
    if adapter:
        raise EvalError(
            "--backend openai: the server applies adapters; serve the adapter under a name (vLLM: --lora-modules "
            "NAME=PATH) and give that name as --model"
        )


def check_resamples(resamples: int) -> None:
    """Refuse a negative number of bootstrap resamples (0: no intervals)."""
    if resamples < 0:
        raise EvalError(f"--resamples must be 0 (no intervals) or a positive number of resamples, not {resamples}")


def max_new_tokens() -> dict[str, int]:
    """The greedy generation budget (new tokens) of each task family (``eval.max_new_tokens`` of its file)."""
    return {name: family.eval.max_new_tokens for name, family in families().items()}


def select(data: str, entries: Sequence[Entry], limit: int | None, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Example rows of each entry (a seeded sample of ``limit`` per entry, stratified by gold label where the examples
    carry one: :mod:`biohub.eval.sampling`; the same for every model)."""
    chosen: dict[str, list[dict[str, Any]]] = {}
    splits: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in entries:
        key = (entry.config, entry.split)
        if key not in splits:
            splits[key] = read_hub_split(data, entry.config, entry.split).to_list()
        rows = [row for row in splits[key] if row["task"] in entry.tasks and entry.language in (None, row["language"])]
        if limit is not None and len(rows) > limit:
            language = f":{entry.language}" if entry.language else ""  # rows of every language: the sample of before
            rng = random.Random(f"{seed}:{entry.dataset}:{entry.split}:{','.join(entry.tasks)}{language}")
            rows = [rows[i] for i in sample_indices(rows, limit, rng)]
        if not rows:
            raise EvalError(
                f"{data}: {entry.config}/{entry.split} has no examples of task(s) {', '.join(entry.tasks)}"
                + (f" in language {entry.language}" if entry.language else "") + f" (row {entry.name})"
            )
        chosen[entry.name] = rows
    return chosen


def bio_tokens(data: str, entries: Sequence[Entry]) -> dict[str, TokensLookup]:
    """For NER rows of token-based (CoNLL/BIO) corpora: source id -> (tokens, gold IOB2 tags) from the unified config."""
    tables: dict[tuple[str, str], dict[str, tuple[list[str], list[str]]]] = {}
    lookups: dict[str, TokensLookup] = {}
    for entry in entries:
        if not any(families()[t].kind == "spans_by_type" for t in entry.tasks):
            continue
        key = (entry.dataset, entry.split)
        if key not in tables:
            tables[key] = _token_table(data, *key)
        if tables[key]:
            lookups[entry.name] = tables[key].get
    return lookups


def _token_table(data: str, dataset: str, split: str) -> dict[str, tuple[list[str], list[str]]]:
    """Source id -> (tokens, gold tags) when the corpus' records carry tokens (CoNLL); empty otherwise."""
    try:
        records = read_hub_split(data, f"{dataset}_unified", split)
    except (ValueError, FileNotFoundError):
        return {}
    if not len(records) or "tokens" not in json.loads(records[0]["meta"]):
        return {}
    table = {}
    for record in records.to_list():
        tokens = json.loads(record["meta"])["tokens"]
        table[record["id"]] = (tokens, _gold_tags(tokens, record))
    return table


def _gold_tags(tokens: list[str], record: dict[str, Any]) -> list[str]:
    """IOB2 tags from the record's entity offsets (the passage text is the tokens joined by single spaces)."""
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    tags = ["O"] * len(tokens)
    entities = record["entities"] if isinstance(record["entities"], list) else []
    for entity in entities:
        (start, end), label = entity["offsets"][0], entity["type"]
        inside = [i for i, s in enumerate(starts) if start <= s < end]
        for n, i in enumerate(inside):
            tags[i] = f"{'B' if n == 0 else 'I'}-{label}"
    return tags


def _git_hash() -> str | None:
    try:
        command = ["git", "rev-parse", "HEAD"]
        found = subprocess.run(command, capture_output=True, text=True, check=True, cwd=Path(__file__).parent)
    except (OSError, subprocess.CalledProcessError):
        return None
    return found.stdout.strip() or None


def versions() -> dict[str, str]:
    """The installed versions of biohub and the libraries that shape its results (those not installed are left out)."""
    from importlib import metadata

    found = {}
    packages = ("biohub", "torch", "transformers", "peft", "datasets", "scikit-learn", "seqeval", "rouge-score", "sacrebleu")
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def score_outputs(
    entries: Sequence[Entry],
    rows: dict[str, list[dict[str, Any]]],
    outputs: dict[str, str],
    data: str,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[list[EntryResult], list[dict[str, Any]], list[RowSample]]:
    """Score every entry, its metrics under lenient parsing and its headline also under strict parsing, each with the
    bootstrap interval of its (lenient) headline over ``resamples`` resamples of its examples (none with 0;
    :mod:`biohub.eval.resample`, the row's generator seeded by ``seed`` and its name); the second value is the
    per-example rows of ``generations.jsonl``, the third each row's :class:`RowSample` (none with ``resamples`` 0)."""
    check_resamples(resamples)
    results, generations, samples, seen = [], [], [], set()
    tokens = bio_tokens(data, entries)
    for entry in entries:
        judged: list[Judged] = [judge(row, outputs.get(row["id"])) for row in rows[entry.name]]
        values = compute(entry, judged, tokens.get(entry.name))
        if entry.headline not in values:
            raise EvalError(
                f"{data}: row {entry.name}: its headline {entry.headline!r} cannot be computed on these examples (computed: "
                f"{', '.join(sorted(values))}); *_mention and *_concept_pair need the gold annotations (meta.gold_kb, with "
                "concept ids for *_concept_pair) that this biohub's instruct/build write: rebuild the hub folder; "
                "seqeval_* needs a token (CoNLL) corpus"
            )
        missing = sum(1 for j in judged if j.output is None)
        failures = sum(1 for j in judged if j.output is not None and not j.parse_ok)  # missing outputs are not parse failures
        strict_failures = sum(1 for j in judged if j.output is not None and not j.strict_ok)
        strict = compute_strict(entry, judged, tokens.get(entry.name), values)
        results.append(
            EntryResult(
                entry.name,
                entry.dataset,
                entry.split,
                entry.group,
                list(entry.tasks),
                entry.headline,
                values.get(entry.headline, 0.0),
                len(judged),
                failures,
                missing,
                values,
                entry.reference,
                strict_value=strict.get(entry.headline, 0.0),
                strict_parse_failures=strict_failures,
                value_parsed_only=parsed_only(entry, judged, tokens.get(entry.name)),
            )
        )
        if resamples:
            sample = row_sample(entry, judged, tokens.get(entry.name), values)
            sample.draws = replicates(sample, resamples, row_generator(seed, entry.name))
            results[-1].interval, results[-1].resamples = list(percentile_interval(sample.draws)), resamples
            samples.append(sample)
        for row, j in zip(rows[entry.name], judged):
            if j.id in seen:
                continue
            seen.add(j.id)
            generations.append(
                {
                    "id": j.id,
                    "dataset": entry.dataset,
                    "task": j.task,
                    "prompt": row["messages"][:-1],
                    "output": j.output,
                    "parsed": j.parsed,
                    "gold": j.gold,
                    "parse_ok": j.parse_ok,
                    "strict_ok": j.strict_ok,
                    "error": j.error,
                    "rows": [],
                }
            )
    where = {row["id"]: row for row in generations}
    for entry in entries:  # every row the example is scored in (`biohub judge` groups by them)
        for row in rows[entry.name]:
            where[row["id"]]["rows"].append(entry.name)
    return results, generations, samples


def write_results(
    out: Path,
    results: list[EntryResult],
    generations: list[dict[str, Any]],
    meta: dict[str, Any],
    samples: Sequence[RowSample] = (),
) -> dict[str, Any]:
    """Write ``generations.jsonl``, ``results.json`` (``meta`` plus versions, git hash, the scored rows and the
    averages over them, with intervals from the rows' replicates in ``samples``), ``samples.jsonl`` (one line per
    row of ``samples``: what a paired comparison resamples; removed when there are none) and the one-run report into
    ``out``; returns the results document."""
    entries = [
        asdict(r) | {"parse_failure_rate": r.parse_failure_rate, "strict_parse_failure_rate": r.strict_parse_failure_rate}
        for r in results
    ]
    draws = {sample.name: sample.draws for sample in samples if sample.draws is not None}
    document = {**meta, "versions": versions(), "git": _git_hash(), "entries": entries, "averages": averages(results, draws)}
    write_jsonl(out / "generations.jsonl", generations)
    if samples:
        write_jsonl(out / "samples.jsonl", [sample_line(sample) for sample in samples])
    else:
        (out / "samples.jsonl").unlink(missing_ok=True)  # an earlier scoring's samples would not match these results
    write_json(out / "results.json", document)
    write_report([out], out, title=f"{meta.get('name', out.name)}: {meta['suite']}")
    return document


def _set_aside(raw: Path, old_keys: dict[str, str | None] | None) -> str:
    """Move raw outputs of other model or adapter weights (same paths, other content) to ``raw_outputs.<key>.jsonl``
    beside them, so they are kept but never reused; returns the new file name."""
    key = hashlib.sha256(json.dumps(old_keys, sort_keys=True).encode()).hexdigest()[:12] if old_keys else "unkeyed"
    target, number = raw.with_name(f"raw_outputs.{key}.jsonl"), 1
    while target.exists():
        number += 1
        target = raw.with_name(f"raw_outputs.{key}-{number}.jsonl")
    raw.rename(target)
    return target.name


def evaluate(
    model_spec: str,
    suite: Suite,
    data: str,
    out: Path,
    *,
    adapter: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 16,
    max_new_tokens_cap: int | None = None,
    show_progress: bool = True,
    resamples: int = RESAMPLES,
    protocol: str = "generate",
    backend: str = "hf",
    server: Server | None = None,
    merge_adapter: bool = True,
    vllm: VllmOptions | None = None,
) -> dict[str, Any]:
    """Generate for every selected example (reusing ``raw_outputs.jsonl``), then score and write the outputs.
    ``backend`` (:data:`BACKENDS`): ``hf``, ``model_spec`` loaded in-process; ``openai``, ``model_spec`` is the
    model's name on ``server`` (the id the server answers with is recorded as ``served_model``; log-likelihoods from
    its echoed prompt log-probabilities); ``vllm``, vLLM's offline engine (log-likelihoods from its prompt
    log-probabilities).
    ``merge_adapter``: fold the adapter into the base weights before scoring (peft's ``merge_and_unload``; faster,
    equal up to float rounding), else run it unmerged (``vllm`` always runs it unmerged, through vLLM's LoRA
    support). ``vllm``: the engine's parallelism (:mod:`biohub.eval.vllm_backend`). ``max_new_tokens_cap`` lowers
    every per-kind budget (quick CPU runs; long answers may then be cut); ``resamples``: bootstrap resamples per row
    for the intervals (0: none; the loglik rows have none). ``protocol`` (:data:`PROTOCOLS`): ``generate``;
    ``loglik``: only the closed-answer rows, scored by option log-likelihood (:mod:`biohub.eval.loglik`), nothing
    generated; ``both``: every row generated, the closed-answer rows scored by log-likelihood too, with the gap."""
    from biohub.models import default_device, load_model, weights_digest

    if protocol not in PROTOCOLS:
        raise EvalError(f"protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    check_backend(backend, server, adapter)
    options = vllm or VllmOptions()
    if backend == "vllm":
        visible_gpus(options)  # too few GPUs for the replicas: refused before any work
    require_hub(data, "--data")  # a killed build or a foreign folder is refused before any loading
    check_resamples(resamples)
    adapter_source = pretrained_source(adapter, "adapter") if adapter else None  # a missing folder fails before any work
    if backend == "vllm" and adapter_source is not None:
        lora_rank_limit(str(adapter_source))  # a rank vLLM cannot serve fails before any work
    entries = resolve(suite, data)
    rows = select(data, entries, limit, seed)
    if protocol != "loglik":  # a headline these examples cannot give fails now, not after generating
        score_outputs(entries, rows, {}, data, resamples=0)
    claim(out, EVAL, reuse=True)  # an earlier eval's answers are reused; any other non-empty folder is refused
    out.mkdir(parents=True, exist_ok=True)
    client = server.client(model_spec) if server is not None else None  # one budget for every request of the run
    if protocol == "loglik" and server is not None and client is not None:
        run = _remote_loglik(server, client, model_spec, entries, rows, show_progress)
        write_loglik(out, run, f"{out.name}: {suite.name}")
        meta = _meta(out, model_spec, None, {"model": None, "adapter": None}, suite, data, limit, seed) | {
            "protocol": protocol, "backend": backend, "base_url": server.base_url,
            "served_model": _one_or_all(client.served_models),
        }  # fmt: skip
        return write_results(out, loglik_results(entries, run), [], meta | {"loglik": loglik_summary(run)})
    adapter_folder = str(adapter_source) if adapter_source is not None else None
    if protocol == "loglik" and backend == "vllm":
        run = _vllm_loglik(model_spec, adapter_folder, options, entries, rows, show_progress)
        write_loglik(out, run, f"{out.name}: {suite.name}")
        weights = {"model": weights_digest(model_spec), "adapter": weights_digest(adapter, "adapter") if adapter else None}
        meta = _meta(out, model_spec, adapter, weights, suite, data, limit, seed) | {
            "protocol": protocol, "backend": backend, "vllm": asdict(options), "merged_adapter": bool(adapter),
        }  # fmt: skip
        return write_results(out, loglik_results(entries, run), [], meta | {"loglik": loglik_summary(run)})
    if protocol == "loglik":
        model, tokenizer = load_model(model_spec, device=default_device(), adapter=adapter_source, merge=merge_adapter)
        weights = {"model": weights_digest(model_spec), "adapter": weights_digest(adapter, "adapter") if adapter else None}
        run = score_entries(model, tokenizer, entries, rows, batch_size=batch_size, show_progress=show_progress)
        write_loglik(out, run, f"{out.name}: {suite.name}")
        meta = _meta(out, model_spec, adapter, weights, suite, data, limit, seed) | {
            "protocol": protocol, "backend": backend, "merged_adapter": bool(adapter) and merge_adapter
        }  # fmt: skip
        return write_results(out, loglik_results(entries, run), [], meta | {"loglik": loglik_summary(run)})
    requests: dict[str, Request] = {}
    for entry in entries:
        for row in rows[entry.name]:
            budget = min(max_new_tokens()[row["task"]], max_new_tokens_cap or 1 << 30)
            requests.setdefault(row["id"], Request(row["id"], [dict(m) for m in row["messages"][:-1]], budget))
    settings = {"model": model_spec, "adapter": adapter, "max_new_tokens_cap": max_new_tokens_cap, "budgets": max_new_tokens()}
    if server is not None:  # (an hf run's settings keep their earlier keys, so its outputs stay reusable)
        settings |= {"backend": backend, "base_url": server.base_url}
    if backend == "vllm":
        settings |= {"backend": backend}
    elif adapter:  # merged weights answer like the unmerged adapter only up to float rounding
        settings |= {"merge_adapter": merge_adapter}
    stamp, raw = out / "generation_settings.json", out / "raw_outputs.jsonl"
    previous = json.loads(stamp.read_text(encoding="utf-8")) if raw.is_file() and stamp.is_file() else None
    if previous is not None and {key: value for key, value in previous.items() if key != "weights"} != settings:
        raise EvalError(
            f"{out}: holds outputs generated with other settings ({stamp}); give a new --out to evaluate this model"
        )
    loglik: Callable[[], LoglikRun]  # --protocol both: the closed-answer rows scored by this backend
    if server is not None and client is not None:  # the server holds the weights: nothing to digest, nothing loaded here
        weights = {"model": None, "adapter": None}
        write_json(stamp, settings | {"weights": weights})
        if protocol == "both":  # one question first: a server without prompt log-probabilities is refused before generating
            _check_prompt_logprobs(server, client, model_spec, entries, rows)
        try:
            timing = generate_remote(client, list(requests.values()), raw, show_progress=show_progress)
        except ChatClientError as exc:
            kept = len(read_done(raw))
            raise EvalError(f"{exc}; the {kept} answers so far are kept in {raw}: run the same command to continue") from None
        served = {str(row["served_model"]) for row in read_done(raw).values() if row.get("served_model")}
        timing = timing | {"concurrency": server.concurrency}
        extra: dict[str, Any] = {"base_url": server.base_url, "served_model": _one_or_all(served | client.served_models)}
        loglik = functools.partial(_remote_loglik, server, client, model_spec, entries, rows, show_progress)
    else:
        weights = {"model": weights_digest(model_spec), "adapter": weights_digest(adapter, "adapter") if adapter else None}
        keys = {name: None if found is None else found["sha256"] for name, found in weights.items()}
        replaced = _set_aside(raw, previous.get("weights")) if previous is not None and previous.get("weights") != keys else None
        write_json(stamp, settings | {"weights": keys})
        if backend == "vllm":
            timing = generate_vllm(model_spec, adapter_folder, list(requests.values()), raw, options, show_progress=show_progress)
            extra = {"vllm": asdict(options), "replaced_outputs": replaced}
            loglik = functools.partial(_vllm_loglik, model_spec, adapter_folder, options, entries, rows, show_progress)
        else:
            model, tokenizer = load_model(model_spec, device=default_device(), adapter=adapter_source, merge=merge_adapter)
            timing = generate(model, tokenizer, list(requests.values()), raw, batch_size=batch_size, show_progress=show_progress)
            timing = timing | {"batch_size": batch_size}
            extra = {"merged_adapter": bool(adapter) and merge_adapter, "replaced_outputs": replaced}
            loglik = functools.partial(
                score_entries, model, tokenizer, entries, rows, batch_size=batch_size, show_progress=show_progress
            )  # fmt: skip
    outputs = {key: row["output"] for key, row in read_done(raw).items()}
    results, generations, samples = score_outputs(entries, rows, outputs, data, resamples=resamples, seed=seed)
    meta = _meta(out, model_spec, adapter, weights, suite, data, limit, seed) | extra | {
        "backend": backend,
        "resamples": resamples,
        "generation": timing | {"greedy": True, "max_new_tokens_cap": max_new_tokens_cap},
    }
    if protocol == "both":
        run = loglik()
        write_loglik(out, run, f"{out.name}: {suite.name}")
        results = with_loglik(results, run)
        meta |= {"protocol": protocol, "loglik": loglik_summary(run)}
    return write_results(out, results, generations, meta, samples)


def _one_or_all(served: set[str]) -> str | list[str] | None:
    """``served_model`` of ``results.json``: the one model id the server answered with, else all of them (sorted);
    None where it named none."""
    found = sorted(served)
    return (found[0] if len(found) == 1 else found) if found else None


def _remote_loglik(
    server: Server, client: ChatClient, model: str, entries: Sequence[Entry], rows: dict[str, list[dict[str, Any]]],
    show_progress: bool,
) -> LoglikRun:  # fmt: skip
    """The log-likelihood protocol through ``client`` (the server's prompt log-probabilities; :mod:`biohub.eval.loglik`),
    the prompts tokenized with ``server.tokenizer`` (else ``model``'s own)."""
    from biohub.models import ensure_chat_template, load_tokenizer

    tokenizer = ensure_chat_template(load_tokenizer(server.tokenizer or model))
    try:
        return score_entries(None, tokenizer, entries, rows, show_progress=show_progress, client=client)
    except ChatClientError as exc:
        raise EvalError(str(exc)) from None


def _check_prompt_logprobs(
    server: Server, client: ChatClient, model: str, entries: Sequence[Entry], rows: dict[str, list[dict[str, Any]]]
) -> None:  # fmt: skip
    """Ask for the prompt log-probabilities of the first closed-answer question's options (one request); a server
    that does not return them is refused (:class:`EvalError`). Nothing is asked where there is no such question."""
    from biohub.models import ensure_chat_template, load_tokenizer

    tokenizer = ensure_chat_template(load_tokenizer(server.tokenizer or model))
    for entry in entries:
        for row in rows[entry.name]:
            question, _ = choice_question(row, tokenizer)
            if question is None:
                continue
            context, options = encode_question(tokenizer, question)
            try:
                client.prompt_logprobs([list(context) + list(option) for option in options])
            except ChatClientError as exc:
                raise EvalError(str(exc)) from None
            return


def _vllm_loglik(
    model: str, adapter: str | None, options: VllmOptions, entries: Sequence[Entry], rows: dict[str, list[dict[str, Any]]],
    show_progress: bool,
) -> LoglikRun:  # fmt: skip
    """The log-likelihood protocol over vLLM's offline engine (its prompt log-probabilities), the prompts tokenized
    with the tokenizer of the folder vLLM loads."""
    from biohub.models import ensure_chat_template, load_tokenizer, plain_model_source

    tokenizer = ensure_chat_template(load_tokenizer(plain_model_source(model)))
    scorer = functools.partial(prompt_logprobs_vllm, model, adapter, options=options, show_progress=show_progress)
    return score_entries(None, tokenizer, entries, rows, show_progress=show_progress, scorer=scorer)


def _meta(
    out: Path, model: str, adapter: str | None, weights: dict[str, Any], suite: Suite, data: str, limit: int | None, seed: int
) -> dict[str, Any]:
    """The run metadata every protocol writes to ``results.json``."""
    return {
        "name": out.name, "model": model, "adapter": adapter, "weights": weights, "suite": suite.name, "data": data,
        "limit": limit, "seed": seed,
    }  # fmt: skip


def read_predictions(path: Path, known: set[str], selection: str) -> dict[str, str]:
    """Example id -> output text of a predictions file (JSONL of ``{"id", "output"}``, blank lines aside). Refused,
    naming the file and line: a line that is not such an object, an id or output that is not a string (``null``, a
    list), an id given twice, an id that is not among the ``known`` examples of the ``selection``, and a file without
    any prediction. Examples without a prediction are allowed: they are counted as missing."""
    if not path.is_file():
        raise MissingFileError(f"{path}: no such predictions file (--predictions)")
    outputs: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key, output = row["id"], row["output"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{number}: expected a JSON object with 'id' and 'output' ({exc})") from None
        for field, value in (("id", key), ("output", output)):
            if not isinstance(value, str):
                raise InputError(f"{path}:{number}: {field!r} must be a string, not {json.dumps(value, ensure_ascii=False)[:60]}")
        if key in lines:
            raise InputError(f"{path}:{number}: id {key!r} is given twice (first on line {lines[key]})")
        if key not in known:
            raise InputError(f"{path}:{number}: id {key!r} is not an example of {selection}")
        outputs[key], lines[key] = output, number
    if not outputs:
        raise InputError(f"{path}: no predictions (the file is empty)")
    return outputs


def score_file(
    predictions: Path,
    suite: Suite,
    data: str,
    out: Path,
    *,
    limit: int | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict[str, Any]:
    """Score outputs produced elsewhere: JSONL of ``{"id", "output"}`` (instruction example ids; :func:`read_predictions`
    says what is refused). Examples without a prediction count as missing (and wrong). ``resamples``: bootstrap
    resamples per row for the intervals (0: none)."""
    require_hub(data, "--data")  # a killed build or a foreign folder is refused before anything is read
    entries = resolve(suite, data)
    rows = select(data, entries, limit, seed)
    known = {row["id"] for entry_rows in rows.values() for row in entry_rows}
    sample = "" if limit is None else f" (the --limit {limit} sample of seed {seed}: predictions must be made for it)"
    outputs = read_predictions(predictions, known, f"suite {suite.name} in {data}{sample}")
    claim(out, EVAL, reuse=True)  # an earlier eval/score's results are replaced; any other non-empty folder is refused
    out.mkdir(parents=True, exist_ok=True)
    results, generations, samples = score_outputs(entries, rows, outputs, data, resamples=resamples, seed=seed)
    meta = {
        "name": out.name,
        "model": None,
        "predictions": str(predictions),
        "suite": suite.name,
        "data": data,
        "limit": limit,
        "seed": seed,
        "resamples": resamples,
    }
    return write_results(out, results, generations, meta, samples)
